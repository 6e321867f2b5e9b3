"""The speed and quality benchmarks run end to end with tiny settings and write the JSON they promise.

Not timed tests: `--quick` figures mean nothing; these check the machinery and that
the numbers are of the right kind (positive, consistent with each other).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import host_env

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(name, *args):
    """`python -m benchmarks.<name> ARGS` from the repository's root, as benchmarks/README.md runs it."""
    env = dict(host_env(), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *map(str, args)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.end_to_end(reason="the benchmark script's command line end to end, as benchmarks/README.md runs it")
def test_speed_quick_writes_steps_costs_and_inference(tmp_path):
    out = tmp_path / "speed.json"
    run_benchmark("speed", "--quick", "--threads", "1", "--amp", "none", "--rounds", "1", "--skip", "rss",
                  "--images", "2", "--norm_stats", "image", "--out", out)
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
    png = report["png_encoding"]   # Pillow's default against what mrff generate writes, same images
    assert png["images"] == 8 and png["decode_visible_ms_per_image"] > 0
    assert png["encode_speedup"] == (png["pillow default"]["encode_ms_per_image"]
                                     / png["mrff generate"]["encode_ms_per_image"])
    assert png["mrff generate"]["kilobytes_per_image"] > 0 and png["pillow default"]["kilobytes_per_image"] > 0
    runs = report["inference"]["runs"]
    assert set(runs) == {"host test.py", "mrff generate --amp none", "mrff generate --backend onnxruntime"}
    assert runs["host test.py"]["speedup_vs_test_py"] == 1.0
    assert all(r["images_per_s"] > 0 for r in runs.values())
    # the bare forward pass of each command is timed too (the ceiling of its ratio to test.py)
    # (sustained: the median pass; peak: the shortest), in a fresh process right after the command
    for r in runs.values():
        assert r["forward_only_best_images_per_s"] >= r["forward_only_images_per_s"] > 0
        assert r["forward_only_vs_test_py"] == r["forward_only_images_per_s"] / runs["host test.py"]["images_per_s"]
        assert r["vs_own_forward_only"] == r["images_per_s"] / r["forward_only_images_per_s"]
        assert r["vs_own_forward_best"] == r["images_per_s"] / r["forward_only_best_images_per_s"]
    # and generate's pass once more with glibc's default allocator (what allocator.py changes)
    assert runs["mrff generate --amp none"]["forward_only_default_malloc_images_per_s"] > 0
    # the exported model, run by ONNX Runtime: same PNGs as PyTorch fp32 within one grey level
    ort = runs["mrff generate --backend onnxruntime"]
    assert ort["export_max_difference"] <= 1e-3 and ort["max_vs_torch_fp32_grey_levels"] <= 1
    assert ort["speed_vs_torch_fp32"] == ort["images_per_s"] / runs["mrff generate --amp none"]["images_per_s"]


@pytest.mark.end_to_end(reason="the benchmark script's command line end to end, as benchmarks/README.md runs it")
def test_quality_quick_resumes_scores_three_metrics_and_draws_the_pictures(tmp_path):
    out = tmp_path / "quality.json"
    first = run_benchmark("quality.v1", "--quick", "--threads", "1", "--only", "unet", "--no_figures", "--out", out)
    assert "0 runs done, 2 to go" in first.stdout
    kept = json.loads(out.read_text())["runs"]
    assert set(kept) == {"unet/seed0", "unet/seed1"}    # written as each (model, seed) finished
    second = run_benchmark("quality.v1", "--quick", "--threads", "1", "--only", "unet", "--only", "fusion paper",
                           "--out", out)
    assert "2 runs done, 2 to go" in second.stdout      # the finished runs are skipped ...
    report = json.loads(out.read_text())
    assert {k: report["runs"][k] for k in kept} == kept  # ... and kept as they were
    study = report["study"]
    for key, run in report["runs"].items():
        assert [p["iter"] for p in run["curve"]] == [1, 2]
        assert ("eval_mode" in run["curve"][0]) == (run["seed"] == 0)   # seed 0 is also scored with --eval
        for split, n in (("held_out", study["test_pairs"]), ("train", study["train_scored"])):
            scores = run["final"][split]
            assert {len(v) for v in scores.values()} == {n}
            assert all(-1 <= s <= 1 for s in scores["ssim"] + scores["scc"]) and min(scores["psnr"]) > 0
    summary = report["summary"]
    paper = summary["models"]["fusion paper"]
    assert paper["seeds"] == 2 and paper["final"]["ssim_std"] >= 0
    diff = summary["vs_baseline"]["fusion paper"]
    for metric in ("ssim", "psnr", "scc"):
        low, high = diff[metric]["ci95"]
        assert low <= diff[metric]["mean"] <= high
        assert diff[metric]["mean"] == pytest.approx(
            paper["final"][f"{metric}_mean"] - summary["models"]["unet"]["final"][f"{metric}_mean"])
    assert summary["models"]["fusion released"] == {"seeds": 0}      # not asked for: absent, not made up
    # the oracle (renderer without the unobservable terms) loses more as more terms are dropped
    ceiling = [report["ceiling"][k]["ssim_mean"] for k in ("without noise", "without noise + patchiness",
                                                          "without noise + patchiness + lag")]
    assert 1 > ceiling[0] > ceiling[2]
    for name in ("quality_curves.png", "quality_samples.png", "quality_attention.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert "no cached weights for fusion released" in second.stdout


def test_quality_refuses_a_results_file_of_another_study(tmp_path):
    from benchmarks.quality import v1
    path = tmp_path / "quality.json"
    path.write_text(json.dumps({"study": dict(v1.SCALES["cpu"], iters=10), "runs": {"unet/seed0": {}}}))
    with pytest.raises(SystemExit, match="holds a study with other settings.*--out"):
        v1.read_results(path, dict(v1.SCALES["cpu"], seeds=list(v1.SCALES["cpu"]["seeds"])))


def test_quality_statistics_on_known_numbers():
    from benchmarks.quality.stats import summarise_v1

    def run(model, seed, level, images):
        curve = [{"iter": it, "ssim_mean": level * it / 2, "psnr_mean": 10.0, "scc_mean": 0.1} for it in (1, 2)]
        held_out = {"ssim": list(images), "psnr": [10.0] * len(images), "scc": [0.1] * len(images)}
        return {"model": model, "seed": seed, "curve": curve, "seconds_per_iter": 1.0, "params": 1,
                "final": {"held_out": held_out, "train": held_out}}
    images = np.linspace(0.3, 0.5, 20)
    jitter = np.tile([-0.02, 0.02], 10)
    runs = {f"{m}/seed{s}": run(m, s, level, images + delta)
            for m, level, delta in (("base", 0.4, 0.0), ("new", 0.9, 0.05 + jitter)) for s in (0, 1)}
    summary = summarise_v1(runs, {"iters": 2}, ["base", "new"], "base")
    diff = summary["vs_baseline"]["new"]
    assert diff["ssim"]["mean"] == pytest.approx(0.05) and diff["ssim"]["per_seed"] == pytest.approx([0.05, 0.05])
    low, high = diff["ssim"]["ci95"]
    assert 0 < low < 0.05 < high < 0.06              # the jitter's spread, around the true 0.05
    assert diff["psnr"]["ci95"] == [0.0, 0.0]         # no difference at all
    # the baseline ends at 0.4 (its curve's mean at the last iteration); "new" has 0.45 already at 1
    assert summary["baseline_final_ssim"] == pytest.approx(0.4)
    assert summary["models"]["new"]["iters_to_baseline_final_ssim"] == 1
    assert summary["models"]["new"]["iters_ratio_to_baseline"] == 0.5
    assert summary["models"]["base"]["iters_to_baseline_final_ssim"] == 2
    # the seeds agree exactly (std 0), so the baseline's last step (0.2) is not below its seed spread
    assert summary["baseline_flat"] == {"last_step": pytest.approx(0.2), "seed_std": 0.0, "flat": False}


def test_study_step_follows_the_hosts_linear_learning_rate_policy():
    """The quality study's schedule is the host's own `--lr_policy linear` (get_scheduler), one step
    per epoch: --lr for n_constant steps, then (1 - k / (n_decay + 1)) * --lr, for G and D alike."""
    import torch

    from benchmarks.pix2pix_step import LR, Pix2PixStep
    step = Pix2PixStep("unet_128", ngf=4, ndf=4, seed=0, schedule=(2, 3))
    a, b = torch.zeros(1, 3, 128, 128), torch.zeros(1, 1, 128, 128)
    used = []
    for _ in range(5):
        used.append([o.param_groups[0]["lr"] for o in (step.opt_G, step.opt_D)])
        step(a, b)
    expected = [LR, LR, LR * 3 / 4, LR * 2 / 4, LR * 1 / 4]
    assert np.allclose(used, [[lr, lr] for lr in expected], rtol=1e-9, atol=0)


@pytest.mark.end_to_end(reason="the benchmark script's command line end to end, as benchmarks/README.md runs it")
def test_gpu_check_quick_on_cpu_runs_every_part_and_reports_the_cuda_tests_skipped(tmp_path):
    """python -m benchmarks.gpu_check --device cpu --quick: the lent GPU machine's one command, every part on CPU."""
    result = run_benchmark("gpu_check", "--device", "cpu", "--quick", "--out", tmp_path)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    parts = report["parts"]
    assert list(parts) == ["env", "tests", "speed", "quality"]
    assert {part: r["status"] for part, r in parts.items()} == dict.fromkeys(parts, "finished")
    peaks = parts["env"]["matmul_peak_gflops"]
    assert peaks["fp32"] > 0 and peaks["bf16"] > 0 and peaks["tf32"] is None   # TF32: CUDA only
    assert parts["env"]["versions"]["torch"] and parts["env"]["cuda_available"] is False
    # the CUDA tests are collected and each reports itself skipped, with its reason
    tests = parts["tests"]["tests"]
    assert len(tests) >= 9 and parts["tests"]["counts"] == {"skipped": len(tests)}
    assert all(t["name"].startswith("tests/test_cuda.py::") and "needs a CUDA device" in t["message"] for t in tests)
    assert (tmp_path / "cuda_tests.xml").is_file()
    speed = parts["speed"]
    rows = speed["training_steps"]
    assert sorted((r["netG"], r["batch"], r["precision"]) for r in rows) == sorted(
        (netG, batch, precision) for netG in ("unetpp_fusion", "unet_128") for batch in (1, 2)
        for precision in ("fp32", "bf16"))
    for r in rows:
        assert r["achieved_gflops"] == pytest.approx(r["gflop_per_step"] / (r["ms_per_step"] / 1e3))
        assert r["fraction_of_bf16_peak"] == pytest.approx(r["achieved_gflops"] / speed["matmul_peak_gflops"]["bf16"])
    assert speed["matmul_peak_gflops"] == peaks       # the env part's peaks, measured once
    runs = speed["generate"]["160x128"]
    assert set(runs) == {"host test.py", "mrff generate --amp none"}
    assert runs["host test.py"]["speedup_vs_test_py"] == 1.0
    for r in runs.values():
        assert r["images_per_s"] > 0 and r["vs_own_forward"] == pytest.approx(r["images_per_s"] / r["forward_images_per_s"])
    assert speed["cuda_graph"] == {"skipped": "CUDA graphs need a CUDA device"}
    quality = parts["quality"]
    assert quality["study"]["iters"] == 2 and len(quality["runs"]) == 2
    for run in quality["runs"].values():
        assert -1 <= run["ssim"] <= 1 and run["psnr"] > 0 and run["iterations_per_s"] > 0
    log = (tmp_path / "gpu_check.log").read_text()
    assert "[tests]" in log and "quality: finished" in log and "wrote" in result.stdout


def test_gpu_check_stops_a_part_at_its_budget_and_names_missing_packages(tmp_path, capsys, monkeypatch):
    stopped = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--device", "cpu", "--quick",
                              "--parts", "env", "--budget", "env=0.2", "--out", tmp_path],
                             env=host_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 1, stopped.stderr[-2000:]
    record = json.loads((tmp_path / "gpu_check.json").read_text())["parts"]["env"]
    assert record["status"] == "stopped at its budget of 0.2 s" and record["seconds"] < 5
    from benchmarks import gpu_check
    monkeypatch.setitem(gpu_check.REQUIRED, "no_such_module_here", "no-such-wheel")
    assert gpu_check.main(["--out", str(tmp_path / "x")]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["gpu_check: missing no-such-wheel: install the wheels that travel with the checkout "
                     "(`pip install --no-index --no-deps wheels/*.whl`; benchmarks/README.md, 'GPU check')."]


def test_peak_rss_child_reports_the_commands_peak_memory_and_exit_code():
    """benchmarks.children.peak_rss: the memory figure of speed.py and tiling.py comes from the command alone."""
    from benchmarks.children.peak_rss import parse_maxrss
    from benchmarks.common import child
    ok = subprocess.run(child("children.peak_rss", "--", sys.executable, "-m", "benchmarks.children.train_steps",
                              "--netG", "unet_128", "--size", "128", "--ngf", "4", "--steps", "1"),
                        cwd=ROOT, env=host_env(), capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert parse_maxrss(ok.stdout) > 50 * 1024                 # kB: torch alone takes more than 50 MB
    failed = subprocess.run(child("children.peak_rss", "--", sys.executable, "-m", "no_such_module_here"),
                            cwd=ROOT, env=host_env(), capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and parse_maxrss(failed.stdout) > 0


def test_results_are_written_whole_and_name_the_machine(tmp_path, monkeypatch):
    """benchmarks.common: the one JSON writer (a failed write leaves the earlier file whole) and the one
    machine record, its CPU flags as /proc/cpuinfo lists them."""
    import torch

    from benchmarks import common
    path = tmp_path / "new" / "r.json"
    common.write_json(path, {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1} and [p.name for p in path.parent.iterdir()] == ["r.json"]

    def no_rename(*args):
        raise OSError("no space left on device")
    monkeypatch.setattr(common.os, "replace", no_rename)
    with pytest.raises(OSError):
        common.write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 1}
    monkeypatch.undo()
    record = common.machine()
    assert set(record) == {"cpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16", "cores", "threads", "torch", "gpu"}
    assert record["torch"] == torch.__version__ and record["threads"] == torch.get_num_threads()
    if os.path.exists("/proc/cpuinfo"):
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":")[1].split())
        assert all(record[flag] == (flag in flags) for flag in common.CPU_FLAGS)
