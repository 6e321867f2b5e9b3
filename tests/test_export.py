"""`mrff export` (checkpoint -> ONNX, checked with ONNX Runtime) and `mrff generate --backend onnxruntime`.

One tiny fusion checkpoint (tests/tiny_generator.py: ngf 8, outputs spread over ~15 grey levels) is
exported once with dynamic shapes.  The exported file is compared with the plain PyTorch network
(built here from the registry and the checkpoint's state_dict), run as the host's test.py runs it
(BatchNorm in train mode, one image at a time) for the default `--norm_stats image`, and in eval mode
(nothing folded) for `--norm_stats running`, so the check covers the replaced or folded BatchNorms,
the export and ONNX Runtime together.
"""
import shutil

import numpy as np
import pytest
import torch

from conftest import mrff_in_process as mrff  # nothing here is about the process boundary
from tiny_generator import grey, one_at_a_time, plain_network, write_images

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

IMAGES = {"a.png": (64, 64), "b.png": (64, 64), "wide.png": (96, 64)}


def smooth_batch(n, height, width, seed=5):
    coarse = torch.rand(n, 3, height // 8, width // 8, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear") * 2 - 1


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_checkpoint):
    tmp = tmp_path_factory.mktemp("export")
    weights = tiny_checkpoint()
    result = mrff("export", "--checkpoint", weights, "--out", tmp / "model.onnx")
    assert result.returncode == 0, result.stderr
    return {"weights": weights, "model": tmp / "model.onnx", "stdout": result.stdout, "tmp": tmp,
            "input": write_images(tmp / "in", IMAGES)}


def test_export_prints_a_checked_difference_within_the_limit(exported):
    line = next(line for line in exported["stdout"].splitlines() if "max abs difference" in line)
    difference = float(line.split("max abs difference ")[1].split()[0])
    assert 0 <= difference <= 1e-3


def test_export_has_dynamic_batch_height_and_width_and_its_metadata(exported):
    model = onnx.load(str(exported["model"]))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1] == 3
    assert all(d.dim_param for k, d in enumerate(dims) if k != 1)  # symbolic: batch, height, width
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["mrff.size_multiple"] == "32" and float(meta["mrff.activation_bytes_per_pixel"]) > 0
    assert [o.name for o in model.graph.output] == ["lwir"]
    ops = [n.op_type for n in model.graph.node]
    assert "Dropout" not in ops and "BatchNormalization" not in ops
    assert ops.count("InstanceNormalization") == int(meta["mrff.image_norm_layers"]) > 10  # one per BatchNorm
    assert meta["mrff.norm_stats"] == "image"


@pytest.mark.parametrize("norm_stats", ["image", "running"])
def test_exported_model_equals_plain_pytorch_on_a_batch_and_size_it_was_not_traced_with(exported, norm_stats):
    model = exported["model"]
    if norm_stats == "running":
        model = exported["tmp"] / "running.onnx"
        result = mrff("export", "--checkpoint", exported["weights"], "--out", model, "--norm_stats", "running")
        assert result.returncode == 0, result.stderr
        ops = [n.op_type for n in onnx.load(str(model)).graph.node]
        assert "InstanceNormalization" not in ops and "BatchNormalization" not in ops  # folded into the convs
    x = smooth_batch(3, 160, 96)
    with torch.no_grad():
        expected = one_at_a_time(plain_network(exported["weights"], norm_stats=norm_stats), x).numpy()
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {"visible": x.numpy()})[0]
    assert got.shape == (3, 1, 160, 96)
    assert np.abs(got - expected).max() < 1e-4
    assert expected.std() > 0.05  # not a flat output


def test_onnxruntime_backend_writes_the_torch_backends_pngs_within_one_grey_level(exported):
    tmp = exported["tmp"]
    common = ("--input", exported["input"], "--workers", "0", "--quiet")
    torch_run = mrff("generate", "--checkpoint", exported["weights"], "--output", tmp / "torch", *common)
    ort_run = mrff("generate", "--backend", "onnxruntime", "--model", exported["model"], "--output", tmp / "ort",
                   *common)
    assert torch_run.returncode == 0 and ort_run.returncode == 0, (torch_run.stderr, ort_run.stderr)
    assert "wrote 3 images" in ort_run.stdout
    for name, (w, h) in IMAGES.items():
        a, b = grey(tmp / "torch" / name), grey(tmp / "ort" / name)
        assert a.shape == b.shape == (h, w)
        assert np.abs(a - b).max() <= 1
        assert a.std() > 5  # the images spread over many grey levels


def test_with_attention_and_a_fixed_size_export_the_four_weights(tmp_path, exported):
    out = tmp_path / "attention.onnx"
    result = mrff("export", "--checkpoint", exported["weights"], "--out", out, "--size", "64x96", "--with_attention")
    assert result.returncode == 0, result.stderr
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1:] == [3, 96, 64]
    assert [o.name for o in session.get_outputs()] == ["lwir", "weights"]
    x = smooth_batch(2, 96, 64)
    image, weights = session.run(None, {"visible": x.numpy()})
    assert weights.shape == (2, 4, 96, 64)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        expected_image, expected_weights = one_at_a_time(plain_network(exported["weights"], norm_stats="image"), x,
                                                         with_weights=True)
    assert np.abs(image - expected_image.numpy()).max() < 1e-4
    assert np.abs(weights - expected_weights.numpy()).max() < 1e-4
    assert weights.std(axis=(2, 3)).max() > 1e-3  # per-pixel maps, not constants


def test_a_model_that_disagrees_with_pytorch_is_refused_and_nothing_is_written(tmp_path, exported):
    from mrff_plugin.generate import GenerateError
    from mrff_plugin.generate.onnx_export import check_and_place
    temp = tmp_path / ".mrff_tmp_model.onnx"
    shutil.copy(exported["model"], temp)
    from mrff_plugin.generate.network import prepare_for_inference
    other = prepare_for_inference(plain_network(exported["weights"]), "cpu", "image")  # what was exported ...
    with torch.no_grad():  # the file now belongs to a different network
        [m for m in other.modules() if isinstance(m, torch.nn.Conv2d)][-1].bias.add_(0.1)
    with pytest.raises(GenerateError) as error:
        check_and_place(str(temp), str(tmp_path / "model.onnx"), other, 3, 32)
    message = str(error.value)
    assert "differs from PyTorch by" in message and "was not written" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_missing_export_packages_are_named_with_the_install_command(monkeypatch):
    import importlib.util

    from mrff_plugin.generate import GenerateError
    from mrff_plugin.generate.onnx_export import require_export_packages
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(GenerateError, match=r"needs onnxscript .*pip install mrff-plugin\[onnx\]"):
        require_export_packages()


def test_onnxruntime_backend_without_its_model_file_is_one_line(tmp_path, exported):
    result = mrff("generate", "--backend", "onnxruntime", "--model", tmp_path / "none.onnx",
                  "--input", exported["input"], "--output", tmp_path / "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "none.onnx does not exist" in lines[0] and "mrff export" in lines[0]
