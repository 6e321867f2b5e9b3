"""The synthetic camera's counts (sensor.py's count model and Planck constants) and the radiometric scores.

Oracles: Planck's law integrated over 7.5-13 um by scipy's adaptive quadrature (not the renderer's Simpson
table); the 8-bit frame re-derived from the counts and the AGC range; SSIM from scikit-image and PSNR and
MAE by hand on the documented range mapping.
"""
import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy.integrate import quad

from mrff_plugin.radiometric.calibration import from_record
from mrff_plugin.radiometric.measure import radiometric_scores
from mrff_plugin.synth.render import render_pair
from mrff_plugin.synth.sensor import (COUNTS_AT_ZERO, COUNTS_PER_RADIANCE, PLANCK_CONSTANTS, PLANCK_FIT_KELVIN,
                                      fit_planck_constants)

H, C, K = 6.62607015e-34, 299792458.0, 1.380649e-23      # SI 2019, exact


def band_radiance_quad(kelvin, band=(7.5e-6, 13e-6)):
    """W m^-2 sr^-1: Planck's spectral radiance 2hc^2 / lambda^5 / (exp(hc / lambda k T) - 1) integrated over the band."""
    def spectral(lam):
        return 2 * H * C ** 2 / lam ** 5 / np.expm1(H * C / (lam * K * kelvin))
    return quad(spectral, *band, epsabs=0, epsrel=1e-10)[0]


def test_planck_constants_give_the_count_model_within_0_04_kelvin():
    calibration = from_record({"kind": "planck", **PLANCK_CONSTANTS}, "synth")
    for kelvin in np.linspace(*PLANCK_FIT_KELVIN, 16):
        counts = COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * band_radiance_quad(kelvin)
        assert abs(calibration.to_kelvin(counts) - kelvin) < 0.04, kelvin
    np.testing.assert_allclose(fit_planck_constants(), [PLANCK_CONSTANTS[k] for k in ("R1", "B", "F", "O")],
                               rtol=1e-6)


def test_counts_are_the_eight_bit_frame_before_its_agc():
    visible, lwir, extras = render_pair(3, (96, 64), "day")
    counts, (low, high) = extras["lwir_counts"].astype(np.float64), extras["agc_counts"]
    assert extras["lwir_counts"].dtype == np.uint16 and counts.max() < 2 ** 14
    rederived = np.clip((counts - low) / (high - low), 0, 1) * 255
    # the counts are rounded to whole numbers (1 count = (255 / (high - low)) grey levels) before this comparison
    assert np.abs(rederived - lwir).max() <= 1 + 255 / (high - low)
    assert 250 < np.nanmin(extras["scene_kelvin"]) and np.nanmax(extras["scene_kelvin"]) < 380


def test_radiometric_scores_match_independent_computations(tmp_path):
    from skimage.metrics import structural_similarity
    rng = np.random.default_rng(0)
    real = (7000 + 2000 * rng.random((48, 40))).astype(np.uint16)
    fake = np.clip(real.astype(np.int64) + rng.integers(-60, 61, real.shape), 0, 65535).astype(np.uint16)
    Image.fromarray(real).save(tmp_path / "real.png")
    tifffile.imwrite(tmp_path / "fake.tiff", fake)
    low, high = 6900.0, 9100.0
    linear = from_record({"kind": "linear", "kelvin_per_count": 0.04, "kelvin_at_zero": 0.0}, "cal")
    [row] = radiometric_scores([("x", tmp_path / "fake.tiff", tmp_path / "real.png")], low, high, linear)
    a = (fake - low) / (high - low) * 255
    b = (real - low) / (high - low) * 255
    assert row["mae"] == pytest.approx(np.abs(fake.astype(float) - real).mean())
    assert row["mae_kelvin"] == pytest.approx(0.04 * row["mae"])
    assert row["psnr"] == pytest.approx(10 * np.log10(255 ** 2 / np.mean((a - b) ** 2)), rel=1e-6)
    _, ssim_map = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, full=True)
    assert row["ssim"] == pytest.approx(ssim_map[5:-5, 5:-5].mean(), abs=1e-4)
