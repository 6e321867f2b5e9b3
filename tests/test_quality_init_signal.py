"""benchmarks/quality/init_signal.py: the signal a study generator passes before training, and the flat-run counts.

The measurement is checked on fixed inputs against what the networks' construction implies: the released design
without normalisation, under pix2pix's N(0, 0.02) weights, multiplies its signal by far less than 1 per layer, so
its output is flat to about 1e-7; the host's kaiming initialisation keeps it; BatchNorm keeps fusion `paper`'s.
"""
import pytest
import torch

from benchmarks.quality import init_signal
from benchmarks.quality.v3 import MODELS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def pairs():
    g = torch.Generator().manual_seed(0)
    return [(torch.rand(1, 3, 128, 128, generator=g) * 2 - 1, torch.rand(1, 1, 128, 128, generator=g) * 2 - 1)]


def test_the_released_design_starts_flat_under_pix2pix_init_and_not_under_kaiming(pairs):
    narrow = MODELS["released narrow"]
    dead = init_signal.signal(narrow, 0, "normal", pairs)
    alive = init_signal.signal(narrow, 0, "kaiming", pairs)
    paper = init_signal.signal(MODELS["fusion paper"], 0, "normal", pairs)
    assert dead["output_std"] < 1e-5 < 1e-2 < alive["output_std"]
    assert paper["output_std"] > 1e-2 and dead["first_layer_grad_ratio"] < 1e-3 < paper["first_layer_grad_ratio"]
    assert dead["first_layer"] == alive["first_layer"]


def test_the_first_convolution_is_the_input_layer():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 1, 3))
    name, weight = init_signal.first_convolution(net)
    assert name == "1.weight" and weight.shape == (4, 3, 3, 3)


def test_flat_runs_are_counted_per_model():
    flat = {"model": "a", "seed": 0, "curve": [{"scc_mean": 0.0}],
            "final": {"generate": {"scc": [0.0, 0.0], "ssim": [0.5, 0.5], "psnr": [14.0, 14.0]}}}
    alive = {"model": "a", "seed": 1, "curve": [{"scc_mean": 0.0}, {"scc_mean": 0.1}],
             "final": {"generate": {"scc": [0.0, 0.2], "ssim": [0.4, 0.4], "psnr": [13.0, 13.0]}}}
    other = dict(alive, model="b")
    counts = init_signal.flat_counts({"x a/seed0": flat, "x a/seed1": alive, "x b/seed1": other})
    assert counts == {"a": {"runs": 2, "constant_output": ["x a/seed0"]}, "b": {"runs": 1, "constant_output": []}}
