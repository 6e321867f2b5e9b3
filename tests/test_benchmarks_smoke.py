"""The speed and quality benchmarks run end to end with tiny settings and write the JSON they promise.

Not timed tests: `--quick` figures mean nothing; these check the machinery and that
the numbers are of the right kind (positive, consistent with each other).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import host_env

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(name, *args):
    env = dict(host_env(), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *map(str, args)], env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_speed_quick_writes_steps_costs_and_inference(tmp_path):
    out = tmp_path / "speed.json"
    run_benchmark("speed", "--quick", "--threads", "1", "--amp", "none", "--rounds", "1", "--skip", "rss",
                  "--images", "2", "--out", out)
    report = json.loads(out.read_text())
    assert report["matmul_peak_gflops"]["fp32"] > 0 and report["matmul_peak_gflops"]["bf16"] > 0
    costs = report["generators"]["128"]
    assert set(costs) == {"unetpp_fusion", "unet_128"}
    # the nested UNet++ does more work per pixel than the plain U-Net at the same ngf
    assert costs["unetpp_fusion"]["macs_per_image"] > costs["unet_128"]["macs_per_image"] > 0
    steps = report["training_steps"]
    assert sorted((s["netG"], s["size"], s["batch"], s["amp"], s["layout"]) for s in steps) == sorted(
        (netG, 128, 1, "none", layout) for netG in ("unetpp_fusion", "unet_128")
        for layout in ("channels_last", "contiguous"))
    for s in steps:
        assert s["seconds_per_step"] > 0 and len(s["times"]) == 1
        # a training step costs at least the generator's forward pass (G fwd + bwd + D)
        assert s["gflop_per_step"] * 1e9 / 2 > costs[s["netG"]]["macs_per_image"]
        assert abs(s["achieved_gflops"] - s["gflop_per_step"] / s["seconds_per_step"]) < 1e-6 * s["achieved_gflops"]
    runs = report["inference"]["runs"]
    assert set(runs) == {"host test.py", "mrff generate --amp none", "mrff generate --backend onnxruntime"}
    assert runs["host test.py"]["speedup_vs_test_py"] == 1.0
    assert all(r["images_per_s"] > 0 for r in runs.values())
    # the bare forward pass of each command is timed too (the ceiling of its ratio to test.py)
    for r in runs.values():
        assert r["forward_only_images_per_s"] > 0
        assert r["forward_only_vs_test_py"] == r["forward_only_images_per_s"] / runs["host test.py"]["images_per_s"]
        assert r["vs_own_forward_only"] == r["images_per_s"] / r["forward_only_images_per_s"]
    # the exported model, run by ONNX Runtime: same PNGs as PyTorch fp32 within one grey level
    ort = runs["mrff generate --backend onnxruntime"]
    assert ort["export_max_difference"] <= 1e-3 and ort["max_vs_torch_fp32_grey_levels"] <= 1
    assert ort["speed_vs_torch_fp32"] == ort["images_per_s"] / runs["mrff generate --amp none"]["images_per_s"]


def test_quality_quick_writes_curves_plot_and_iterations(tmp_path):
    out = tmp_path / "quality.json"
    run_benchmark("quality", "--quick", "--threads", "1", "--out", out)
    report = json.loads(out.read_text())
    assert set(report["models"]) == {"unetpp_fusion", "unet_128", "unetpp_fusion average"}
    assert report["complete"] is True
    for entry in report["models"].values():
        assert [p["iter"] for p in entry["curve"]] == [2, 4]
        assert all(-1 <= p["ssim"] <= 1 and p["psnr"] > 0 for p in entry["curve"])
    baseline = report["models"]["unet_128"]
    assert report["baseline_final_ssim"] == baseline["curve"][-1]["ssim"]
    assert baseline["iters_to_baseline_final_ssim"] in (2, 4)  # the baseline reaches its own final value
    assert (tmp_path / "quality.png").stat().st_size > 1000
    assert os.path.isfile(tmp_path / "quality_data_128_4_2.npz")
