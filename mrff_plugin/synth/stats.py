"""How well the visible colour predicts the LWIR value, pixel by pixel.

A least-squares polynomial regression from (R, G, B) to the LWIR grey level,
fitted on the data it is scored on; R^2 = 1 - residual variance / variance.
A thermal image that is a filter of the RGB image scores near 1; the issue asks
the synthetic data to stay below 0.8.
"""
from itertools import combinations_with_replacement

import numpy as np


def polynomial_features(rgb, degree):
    """(N, 3) values in [0, 1] -> (N, F) all monomials of degree 0..`degree`."""
    columns = [np.ones(len(rgb))]
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(3), d):
            columns.append(np.prod(rgb[:, combo], axis=1))
    return np.stack(columns, axis=1)


def rgb_to_lwir_r2(visible, lwir, degree=1):
    """R^2 of the best polynomial (of `degree`) map from visible RGB to LWIR.

    visible: (..., 3) uint8 or float; lwir: (...) with the same leading shape.
    """
    rgb = np.asarray(visible, np.float64).reshape(-1, 3) / 255.0
    y = np.asarray(lwir, np.float64).reshape(-1) / 255.0
    features = polynomial_features(rgb, degree)
    coef, *_ = np.linalg.lstsq(features, y, rcond=None)
    residual = y - features @ coef
    return float(1.0 - residual.var() / y.var())
