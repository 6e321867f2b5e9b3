"""The quality study, version 3: its code carries out the committed protocol, and its machinery runs.

The protocol (benchmarks/protocols/quality_v3.md) was committed before any run; these tests hold the driver's
constants and models to it, check the compute matching it promises (MACs counted as the protocol says, on
networks built as training builds them), the validation block, the set metrics against `mrff evaluate`'s, the
schedule analysis on records of known shape, and run the whole driver in --quick mode on a small stand-in for
RoadScene.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.quality import compute
from benchmarks.quality import v3 as study
from benchmarks.quality.stats import paired_at_val_peak, schedule_stats, set_paired

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = (ROOT / study.PROTOCOL).read_text()

torch.set_num_threads(1)


def table_rows():
    """{label: row} of the protocol's Models table."""
    return {m.group(1): line for line in PROTOCOL.splitlines() if (m := re.match(r"^\| `([^`]+)` \|", line))}


def test_the_codes_constants_are_the_protocols():
    assert f"{study.ITERS} iterations" in PROTOCOL and f"constant for {study.ITERS - study.DECAY_ITERS}" in PROTOCOL
    assert f"ndf {study.NDF}, batch norm" in PROTOCOL and f"random {study.CROP}x{study.CROP} crop" in PROTOCOL
    assert f"test = the {study.TEST_COUNT} highest frame numbers, a gap of {study.FRAME_GAP}" in PROTOCOL
    assert f"validation = the {study.VAL_COUNT} highest frame numbers of the training" in PROTOCOL
    assert f"a gap of {study.VAL_GAP} frame numbers below them left out, and" in PROTOCOL
    assert f"multiple of {study.PAD_MULTIPLE}" in PROTOCOL and f"every {study.EVAL_EVERY} iterations" in PROTOCOL
    assert f"every {study.TRAIN_SCORED_EVERY}th of the 111 training pairs" in PROTOCOL
    assert f"at least {study.MIN_SEEDS} and at most {study.MAX_SEEDS}" in PROTOCOL
    assert f"seeds 0-{study.EXPENSIVE_SEEDS - 1} of each (at least 3)" in PROTOCOL
    last = study.EXPENSIVE_SEEDS + study.EXPENSIVE_EXTRA - 1
    assert f"then seeds {study.EXPENSIVE_SEEDS}-{last} of all three" in PROTOCOL


def test_a_10g_comparison_needs_the_protocols_three_seeds_and_the_others_all_planned():
    planned = study.planned_seeds(study.run_order(10, expensive=True))
    required = study.required_seeds(planned)
    assert planned["unet 10G"] == planned["paper average 10G"] == study.EXPENSIVE_SEEDS + study.EXPENSIVE_EXTRA
    assert required["fusion released"] == required["unet 10G"] == required["paper average 10G"] == 3
    assert {label: required[label] for label in study.PRIMARY + study.SECONDARY} == \
        {label: 10 for label in study.PRIMARY + study.SECONDARY}


def test_the_number_of_seeds_comes_from_all_ten_rerun_seeds(tmp_path):
    """The protocol takes v3's seeds from the rerun's "seeds needed" over its ten seeds: a report over fewer
    seeds is refused, an unreached target gives 10, and the result stays within 5 ... 10."""
    def report(seeds, needed):
        path = tmp_path / "report.json"
        path.write_text(json.dumps({"seeds_needed": {name: {"seeds": list(range(seeds)), "seeds_needed": n}
                                                     for name, n in zip(study.RERUN_SEED_COMPARISONS, needed)}}))
        return path
    with pytest.raises(SystemExit, match=r"fewer than the rerun's 10 seeds for fusion paper - unet \(5\)"):
        study.seeds_needed(report(5, [5, 5, 5]))
    assert study.seeds_needed(report(10, [6, 5, None]))[0] == 10        # one comparison never reached 0.02
    assert study.seeds_needed(report(10, [6, 7, 5]))[0] == 7
    assert study.seeds_needed(report(10, [5, 5, 5]))[0] == 5


def test_before_the_rerun_only_the_seeds_every_outcome_includes_are_planned(tmp_path):
    args = study.parse_args(["--before_rerun", "--rerun_report", str(tmp_path / "missing.json")])
    order, decisions = study.plan(args)
    assert {seed for _, seed in order} == set(range(study.MIN_SEEDS))
    assert {label for label, _ in order} == set(study.PRIMARY + study.SECONDARY)        # no 10 G model yet
    assert order[:len(study.PRIMARY)] == [(label, 0) for label in study.PRIMARY]       # seed by seed
    with pytest.raises(SystemExit, match="does not exist"):
        study.plan(study.parse_args(["--rerun_report", str(tmp_path / "missing.json")]))


def test_the_models_table_is_the_protocols():
    rows = table_rows()
    assert set(rows) == set(study.MODELS)
    for label, options in study.MODELS.items():
        row = rows[label]
        if options.get("mrff_arch") == "released":
            width = options.get("mrff_released_width")
            assert "--mrff_arch released" in row and (width is None or (
                f"--mrff_released_width {width} --mrff_channels {options['mrff_channels']}" in row)), row
        elif label.endswith("10G"):
            assert f"ngf {options['ngf']}" in row, row
        elif "norm" in options:
            assert f"`--norm {options['norm']}`" in row, row
        elif options.get("no_dropout"):
            assert "`--no_dropout`" in row, row
        else:
            assert f"ngf {options['ngf']}" in row and (options["netG"] in row or "`fusion paper`" in row), row
        if options.get("mrff_fusion") == "average":
            assert "average" in row, row
    order = PROTOCOL.split("**Order:**")[1].split("then `fusion paper no dropout`")[0]
    assert re.findall(r"`([^`]+)`", order) == list(study.PRIMARY)
    assert study.SECONDARY == ("fusion paper no dropout",)


def test_the_comparisons_are_the_protocols():
    primary = PROTOCOL.split("**Primary comparisons**")[1].split("Secondary:")[0]
    assert re.findall(r"`([^`]+)` - `([^`]+)`", primary) == list(study.COMPARISONS)
    secondary = PROTOCOL.split("Secondary: ")[1].split("and every comparison")[0]
    assert re.findall(r"`([^`]+)`\s+-\s+`([^`]+)`", secondary) == list(study.SECONDARY_COMPARISONS)


def test_every_model_is_within_ten_percent_of_its_references_macs_as_the_protocol_says():
    costs = compute.table()
    rows = table_rows()
    for label, entry in costs.items():
        assert abs(entry["ratio_to_reference"] - 1) <= compute.TOLERANCE, (label, entry)
        assert f"{entry['macs'] / 1e9:.3f} G" in rows[label], (label, rows[label])
    assert costs["fusion released"]["params"] == 25_942_852   # the authors' network, 3 -> 1
    assert costs["fusion paper"]["macs"] / costs["fusion released"]["macs"] < 0.1


def test_the_counted_networks_are_the_ones_training_builds():
    """compute builds on the meta device from options_of(); training builds through make_step: the same modules."""
    from benchmarks.quality.train import make_step
    setup = study.settings(quick=True)
    for label in ("released narrow", "fusion paper norm none", "fusion paper instance", "fusion paper no dropout",
                  "unet matched norm none", "paper average"):
        trained = make_step(study.MODELS[label], setup, 0, torch.device("cpu")).G
        assert repr(compute.generator(study.MODELS[label])) == repr(trained.eval()), label
    # the flags reach the network: no norm layers with --norm none, no dropout with --no_dropout
    kinds = {type(m).__name__ for m in compute.generator(study.MODELS["fusion paper norm none"]).modules()}
    assert "BatchNorm2d" not in kinds and "InstanceNorm2d" not in kinds
    kinds = {type(m).__name__ for m in compute.generator(study.MODELS["fusion paper no dropout"]).modules()}
    assert "Dropout" not in kinds and "BatchNorm2d" in kinds


def record(model, seed, test_curve, val_curve, final=None, set_metrics=None):
    """A run record with per-image held-out / validation SSIM along a curve (2 images, iterations 1, 2, 3)."""
    curve = [{"iter": it, "ssim_mean": float(np.mean(t)), "psnr_mean": 0.0, "scc_mean": 0.0,
              "val_ssim_mean": float(np.mean(v)), "test": {"ssim": list(t)}, "val": {"ssim": list(v)}}
             for it, t, v in zip((1, 2, 3), test_curve, val_curve)]
    scores = {m: list(final if final is not None else test_curve[-1]) for m in
              ("ssim", "psnr", "scc", "ssim_released", "psnr_released")}
    return {"model": model, "seed": seed, "params": 1, "seconds_per_iter": 0.1, "curve": curve,
            "final": {"generate": scores, "test.py": scores, "running": scores, "train_generate": scores,
                      **({"set_generate": set_metrics} if set_metrics else {})}}


def test_the_10g_gate_is_the_protocols_test_and_reports_it_without_flat_runs_beside_it(tmp_path):
    scores = {"unet": [0.30] * 3, "paper average": [0.40] * 3, "fusion released": [0.50, 0.54, 0.50]}
    for model, per_seed in scores.items():
        for seed, ssim in enumerate(per_seed):
            r = record(model, seed, [(ssim, ssim)] * 3, [(ssim, ssim)] * 3)
            r["curve"] = [dict(point, scc_mean=0.01) for point in r["curve"]]
            if model == "fusion released" and seed == 1:    # one grey level throughout: SCC 0 everywhere
                r["curve"] = [dict(point, scc_mean=0.0) for point in r["curve"]]
                r["final"]["generate"] = dict(r["final"]["generate"], scc=[0.0, 0.0])
            (tmp_path / f"{model.replace(' ', '_')}_seed{seed}.json").write_text(json.dumps(r))
    ahead, why = study.released_ahead(tmp_path)
    assert ahead and why["against"] == "paper average" and why["seeds"] == [0, 1, 2]
    assert why["mean"] == pytest.approx((0.10 + 0.14 + 0.10) / 3)                     # every run: the protocol's
    assert why["without_flat_runs"]["seeds"] == [0, 2] and why["without_flat_runs"]["mean"] == pytest.approx(0.10)
    assert why["without_flat_runs"]["left_out"] == ["fusion released/seed1"]
    (tmp_path / "fusion_released_seed1.json").unlink()                               # no flat run: one test only
    assert "without_flat_runs" not in study.released_ahead(tmp_path)[1]


def test_the_schedule_analysis_finds_peaks_and_what_stopping_there_gives():
    rising_then_falling = record("a", 0, [(0.3, 0.3), (0.5, 0.5), (0.4, 0.4)], [(0.2, 0.2), (0.6, 0.6), (0.1, 0.1)])
    late = record("a", 1, [(0.3, 0.3), (0.4, 0.4), (0.6, 0.6)], [(0.2, 0.2), (0.3, 0.3), (0.4, 0.4)])
    s = schedule_stats([rising_then_falling, late])
    assert s["best_test_iter"]["per_seed"] == [2, 3] and s["val_peak_iter"]["per_seed"] == [2, 3]
    assert s["test_ssim_at_val_peak"]["per_seed"] == pytest.approx([0.5, 0.6])
    assert s["test_ssim_final"]["mean"] == pytest.approx(0.5)
    assert s["test_ssim_first_point"]["iter"] == 1 and s["test_ssim_first_point"]["mean"] == pytest.approx(0.3)
    flat = [record("b", k, [(0.45, 0.45)] * 3, [(0.5, 0.5)] * 3) for k in (0, 1)]
    d = paired_at_val_peak([rising_then_falling, late], flat)
    assert d["per_seed"] == pytest.approx([0.05, 0.15]) and d["mean"] == pytest.approx(0.10)


def test_the_ranking_at_the_validation_peak_can_differ_from_the_final_one():
    models = {"a": {}, "b": {}}
    runs = {}
    for seed in range(3):   # a: best at iteration 2 (0.6), falls to 0.4; b: flat 0.5
        runs[f"a/seed{seed}"] = record("a", seed, [(0.3, 0.3), (0.6, 0.6), (0.4, 0.4)],
                                       [(0.3, 0.3), (0.6, 0.6), (0.4, 0.4)])
        runs[f"b/seed{seed}"] = record("b", seed, [(0.5, 0.5)] * 3, [(0.5, 0.5)] * 3)
    from benchmarks.quality.stats import summarise_v3
    summary = summarise_v3(runs, models, [("a", "b")], "b")
    assert summary["schedule"]["ranking_final"] == ["b", "a"]
    assert summary["schedule"]["ranking_at_val_peak"] == ["a", "b"] and summary["schedule"]["ranking_changes"]
    assert summary["comparisons"]["a - b"]["val_peak/ssim"]["mean"] == pytest.approx(0.1)
    assert summary["comparisons"]["a - b"]["generate/ssim"]["mean"] == pytest.approx(-0.1)
    assert summary["schedule"]["comparisons_whose_finding_changes"] == ["a - b"]   # lower at the end, higher at peak


def test_set_metric_differences_use_the_shared_seeds_and_an_interval_over_seeds():
    a = [record("a", s, [(0.5, 0.5)] * 3, [(0.5, 0.5)] * 3, set_metrics={"fid": 10.0 + s, "kid_mean": 0.1})
         for s in range(3)]
    b = [record("b", s, [(0.5, 0.5)] * 3, [(0.5, 0.5)] * 3, set_metrics={"fid": 12.0, "kid_mean": 0.1})
         for s in range(2)]
    d = set_paired(a, b, "fid")
    assert d["seeds"] == [0, 1] and d["per_seed"] == pytest.approx([-2.0, -1.0]) and d["mean"] == pytest.approx(-1.5)
    assert d["ci95_seeds"][0] >= -2.0 and d["ci95_seeds"][1] <= -1.0 and d["shown"]
    assert set_paired(a, b, "kid_mean")["ci95_seeds"] == pytest.approx([0.0, 0.0])


def test_the_studys_fid_and_kid_are_mrff_evaluates_on_the_same_images(tmp_path):
    """score.set_scores on outputs in memory equals `mrff evaluate`'s score_folders on them written as PNGs."""
    from mrff_plugin import inception
    from mrff_plugin.commands.evaluate import score_folders
    from benchmarks.quality.score import set_scores
    try:
        network = inception.load()
    except inception.InceptionMissing:
        pytest.skip("the Inception file is not installed")
    rng = np.random.default_rng(3)
    pairs, fakes = [], []
    for k, (h, w) in enumerate(((64, 96), (80, 64), (64, 64), (72, 88))):
        lwir = rng.integers(0, 256, (h, w), dtype=np.uint8)
        noise = rng.normal(0, 0.3, (h, w)).astype(np.float32)
        fake = torch.from_numpy(lwir.astype(np.float32) / 127.5 - 1 + noise).clamp(-1, 1)
        pairs.append((np.zeros((h, w, 3), np.uint8), lwir))
        fakes.append(fake[None, None])
        saved = np.asarray(((fake + 1) / 2 * 255).numpy(), np.uint8)   # as the host saves an output: truncated
        for folder, image in (("fake", saved), ("real", lwir)):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / f"img{k}.png")
    ours = set_scores(fakes, pairs, network)
    theirs = score_folders(str(tmp_path / "fake"), str(tmp_path / "real"))
    assert ours["fid"] == pytest.approx(theirs["fid"], rel=1e-5, abs=1e-6) and ours["fid"] > 0
    assert ours["kid_mean"] == pytest.approx(theirs["kid_mean"], rel=1e-5, abs=1e-9)
    assert ours["images"] == 4 and ours["kid_subset_size"] == theirs["kid_subset_size"]


# ------------------------------------------------------------------ the driver, end to end in --quick mode

def write_roadscene_stand_in(root, count=60):
    """`count` visible/LWIR pairs in RoadScene's two-folder layout, frame numbers 200 apart (the splits' gaps of
    100 then cut nothing), 136 x 160 px: enough for the protocol's 34 / 16 split and 128 px crops."""
    rng = np.random.default_rng(0)
    for folder in ("crop_LR_visible", "cropinfrared"):
        (root / folder).mkdir(parents=True)
    for k in range(count):
        small = rng.integers(0, 256, (17, 20, 3), dtype=np.uint8)
        visible = Image.fromarray(small).resize((160, 136), Image.BILINEAR)
        visible.save(root / "crop_LR_visible" / f"FLIR_{200 * (k + 1):05d}.jpg")
        Image.fromarray(255 - np.asarray(visible)[..., 0]).save(root / "cropinfrared" / f"FLIR_{200 * (k + 1):05d}.jpg")
    return root


def quick_driver(module, tmp_path):
    """(argv, env) of `python -m benchmarks.quality.<module> --quick` on a RoadScene stand-in in `tmp_path`."""
    data = write_roadscene_stand_in(tmp_path / "rs")
    argv = [sys.executable, "-m", f"benchmarks.quality.{module}", "--quick", "--data", str(data), "--records",
            str(tmp_path / "records"), "--weights", str(tmp_path / "weights")]
    return argv, dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))


def test_the_validation_block_is_cut_from_the_top_of_the_training_block(tmp_path):
    data = study.study_data(write_roadscene_stand_in(tmp_path / "rs"))
    numbers = {part: [int(i.split("_")[1]) for i in ids] for part, ids in data["ids"].items()}
    assert len(numbers["test"]) == study.TEST_COUNT and len(numbers["val"]) == study.VAL_COUNT
    assert max(numbers["train"]) < min(numbers["val"]) - study.VAL_GAP
    assert max(numbers["val"]) < min(numbers["test"]) - study.FRAME_GAP
    assert len(data["train"]) == 60 - 34 - 16 and numbers["train_scored"] == numbers["train"][::4]


RESUME_SCRIPT = """
import json, sys
from pathlib import Path
import torch
from benchmarks.quality import v3
from benchmarks.quality.resume import resume_path
from benchmarks.quality.train import train_run_v3
torch.set_num_threads(1)
root, out = sys.argv[1], Path(sys.argv[2])
data = v3.study_data(root)
data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
setup = {**v3.settings(True), "iters": 6}              # curve points 2, 4, 6; a state saved at 2 and at 4
cpu = torch.device("cpu")

class Stop(Exception):
    pass

def stop_at_5(it, rate):
    if it == 5:
        raise Stop

straight = train_run_v3("fusion paper", 0, data, setup, cpu, out / "straight")
try:
    train_run_v3("fusion paper", 0, data, setup, cpu, out / "stopped", stop_at_5)
except Stop:
    pass
saved = resume_path(out / "stopped", "fusion paper", 0).is_file()
resumed = train_run_v3("fusion paper", 0, data, setup, cpu, out / "stopped")
(out / "runs.json").write_text(json.dumps({"straight": straight, "resumed": resumed, "saved": saved}))
"""


@pytest.mark.slow
@pytest.mark.end_to_end(reason="a study run stopped in one process and taken up by another")
def test_a_run_stopped_half_way_goes_on_from_its_last_curve_point_to_the_same_record(tmp_path):
    root = write_roadscene_stand_in(tmp_path / "rs")
    result = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(root), str(tmp_path)], cwd=ROOT,
                            env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT)), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed at iteration 4 (fusion_paper_seed0.resume.pth)" in result.stdout
    runs = json.loads((tmp_path / "runs.json").read_text())
    straight, resumed = runs["straight"], runs["resumed"]
    assert runs["saved"] and resumed["resumed_at"] == [4] and "resumed_at" not in straight

    def trained(run):   # what the training decides, without timings and paths
        curve = [{k: v for k, v in point.items() if k != "train_seconds"} for point in run["curve"]]
        return curve, run["final"], run["params"], run["weights"]["sha256"]
    assert [p["iter"] for p in resumed["curve"]] == [2, 4, 6]
    assert trained(resumed) == trained(straight)    # bit for bit: the same weights, the same scores


def test_the_training_code_fingerprint_is_that_of_the_code_the_process_imported(tmp_path, monkeypatch):
    # a file changed on disk after a process began is not the code it runs: its fingerprint must not follow
    from benchmarks.quality import resume
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "step.py").write_text("LR = 2e-4\n")
    monkeypatch.setattr(resume, "ROOT", tmp_path)
    monkeypatch.setattr(resume, "TRAINING_CODE", ("pkg",))
    resume.training_code.cache_clear()
    try:
        first = resume.training_code()
        (tmp_path / "pkg" / "step.py").write_text("LR = 1e-4\n")
        assert resume.training_code() == first
        resume.training_code.cache_clear()                   # a new process reads the new file
        assert resume.training_code() != first
    finally:
        resume.training_code.cache_clear()


@pytest.mark.slow
@pytest.mark.end_to_end(reason="the study driver as it is run, `python -m benchmarks.quality.v3 --quick`, twice")
def test_the_driver_runs_quick_keeps_every_runs_weights_and_resumes(tmp_path):
    argv, env = quick_driver("v3", tmp_path)
    from benchmarks.run_lock import take
    held = take(study.lock_folder(tmp_path / "weights"), ("released narrow", 0))   # as a second live process would
    try:
        first = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        held.unlink()
    assert first.returncode == 0, first.stderr[-3000:]
    assert [p.name for p in (tmp_path / "records").glob("*.json")] == ["fusion_paper_seed0.json"]   # skipped
    second = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "1 runs done, 1 to go" in second.stdout, second.stderr[-3000:]
    records = sorted((tmp_path / "records").glob("*.json"))
    assert [p.name for p in records] == ["fusion_paper_seed0.json", "released_narrow_seed0.json"]
    assert not list((tmp_path / "weights").glob("*.resume.pth"))   # a recorded run keeps no mid-run state
    for path in records:
        r = json.loads(path.read_text())
        assert r["protocol"] == study.PROTOCOL and [p["iter"] for p in r["curve"]] == [2, 4]
        assert len(r["code"]["commit"]) == 40 and isinstance(r["code"]["uncommitted"], list)
        assert re.fullmatch(r"[0-9a-f]{64}", r["code"]["training_code"])
        assert len(r["curve"][0]["val"]["ssim"]) == 2 and len(r["final"]["val_generate"]["ssim"]) == 2
        weights = torch.load(r["weights"]["path"], map_location="cpu", weights_only=True)
        assert sum(v.numel() for k, v in weights.items() if "running" not in k and "num_batches" not in k) \
            == r["params"]
        if "set_generate" in r["final"]:
            assert r["final"]["set_generate"]["images"] == 2
    released = json.loads(records[1].read_text())
    assert released["options"]["mrff_released_width"] == study.RELEASED_WIDTH_NARROW and released["params"] == \
        compute.cost(study.MODELS["released narrow"])["params"]
    summary = json.loads((tmp_path / "records_summary.json").read_text())
    assert "released narrow - fusion paper" in summary["summary"]["comparisons"]
    assert summary["planned_runs"] == 2 and summary["planned_seeds"] == {"fusion paper": 1, "released narrow": 1}
    assert summary["required_runs"] == summary["required_runs_done"] == 2
    assert summary["summary"]["primary"][0] == "released narrow - fusion paper"
    assert isinstance(summary["summary"]["constant_output_runs"], list)
    again = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "2 runs done, 0 to go" in again.stdout, again.stdout + again.stderr[-2000:]


def test_the_pace_projection_counts_the_whole_image_passes_a_run_makes(tmp_path, monkeypatch):
    """benchmarks/quality/pace.py projects a 10 G run's hours from its count of whole-image passes: the count
    must be what train_run_v3 does (every pass goes through score.whole_outputs, counted here)."""
    from benchmarks.quality import pace, train
    data = study.study_data(write_roadscene_stand_in(tmp_path / "rs"))
    data = {k: (v[:3] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
    setup = {**study.settings(True), "iters": 5}   # curve points 2, 4 and the last, 5
    passes, whole_outputs = [], train.whole_outputs

    def counted(G, pairs, *args):
        passes.append(len(pairs))
        return whole_outputs(G, pairs, *args)
    monkeypatch.setattr(train, "whole_outputs", counted)
    train.train_run_v3("fusion paper", 0, data, setup, torch.device("cpu"), tmp_path / "weights")
    assert sum(passes) == pace.passes_per_run(setup, data) == 3 * (3 + 3) + 3 * 3 + 3 + 3


def test_the_early_spread_replay_is_the_run_and_its_spread_reads_contrast(tmp_path):
    """benchmarks/quality/early_spread.py (exploratory) replays a run to its first curve point and measures the
    output's contrast there: the replay must give the record's per-image SSIM exactly, the kept weights its final
    SSIM; the spread is 0 for a flat output and 1 for the real frame itself."""
    from benchmarks.quality import early_spread
    from benchmarks.quality.train import train_run_v3
    torch.set_num_threads(1)
    data = study.study_data(write_roadscene_stand_in(tmp_path / "rs"))
    data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
    setup = study.settings(True)                                      # curve points 2 and 4
    record = train_run_v3("unet matched norm none", 0, data, setup, torch.device("cpu"), tmp_path / "w")
    row = early_spread.measure("unet matched norm none", 0, data, setup, record, tmp_path / "w")
    assert row["replayed"] and row["max_ssim_difference_from_record"] == 0.0 and row["first_point"] == 2
    assert row["ssim_first_point"] == record["curve"][0]["ssim_mean"]
    assert row["ssim_final"] == pytest.approx(np.mean(record["final"]["generate"]["ssim"]), abs=1e-12)
    other = dict(record, curve=[dict(record["curve"][0], test={"ssim": [0.1, 0.2]})] + record["curve"][1:])
    assert not early_spread.measure("unet matched norm none", 0, data, setup, other, tmp_path / "w")["replayed"]
    real = [torch.from_numpy(np.ascontiguousarray(lwir)).float()[None, None] / 127.5 - 1 for _, lwir in data["test"]]
    assert early_spread.spread(real, data["test"]) == pytest.approx([1.0, 1.0])
    assert early_spread.spread([0.5 * r + 0.2 for r in real], data["test"]) == pytest.approx([0.5, 0.5])
    assert early_spread.spread([torch.full_like(r, 0.3) for r in real], data["test"]) == [0.0, 0.0]


def test_the_final_contrast_is_measured_from_the_runs_own_weights(tmp_path):
    """benchmarks/quality/final_contrast.py (exploratory) measures a finished run's output contrast from its kept
    weights: their SSIM must be the record's, weights that are not the record's are refused, and a generator that
    writes a flat image measures 0."""
    from benchmarks.quality import final_contrast
    from benchmarks.quality.train import train_run_v3
    torch.set_num_threads(1)
    data = study.study_data(write_roadscene_stand_in(tmp_path / "rs"))
    data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
    setup = study.settings(True)
    record = train_run_v3("unet matched", 0, data, setup, torch.device("cpu"), tmp_path / "w")
    row = final_contrast.measure("unet matched", 0, data, setup, record, tmp_path / "w")
    assert row["max_ssim_difference_from_record"] == 0.0
    assert row["ssim"] == pytest.approx(np.mean(record["final"]["generate"]["ssim"]), abs=1e-12)
    assert 0 < row["output_contrast_lowest_image"] <= row["output_contrast"]
    tampered = dict(record, weights=dict(record["weights"], sha256="0" * 64))
    assert final_contrast.measure("unet matched", 0, data, setup, tampered, tmp_path / "w") is None
    weights = tmp_path / "w" / "unet_matched_seed0.pth"
    state = torch.load(weights, map_location="cpu", weights_only=True)
    flat = {k: torch.zeros_like(v) if v.dim() == 4 else v for k, v in state.items()}   # every filter 0: constant out
    torch.save(flat, weights)
    from mrff_plugin.file_hash import sha256_of
    flat_record = dict(record, weights=dict(record["weights"], sha256=sha256_of(weights)))
    assert final_contrast.measure("unet matched", 0, data, setup, flat_record, tmp_path / "w")["output_contrast"] < 1e-6
    rows = {"a": {k: {"output_contrast": c, "ssim": s, "constant_output": c == 0}
                  for k, (c, s) in enumerate([(0.0, 0.54), (0.2, 0.45), (0.4, 0.42), (0.6, 0.39)])},
            "b": {0: {"output_contrast": 0.5, "ssim": 0.30, "constant_output": False}}}
    both = final_contrast.rank_correlation(rows)
    assert both["all runs"]["runs"] == 5 and both["all runs"]["spearman_rho"] == pytest.approx(-0.9)
    assert both["without constant output"]["runs"] == 4 and both["without constant output"]["spearman_rho"] == pytest.approx(-0.8)
