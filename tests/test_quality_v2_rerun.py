"""Quality study v2 rerun: the run order and locks of its driver, and the set metrics' hierarchical intervals
(benchmarks/protocols/quality_v2_rerun.md)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from benchmarks import quality_v2_rerun_report as report
from benchmarks import quality_v2_rerun_sets as sets
from benchmarks.quality.score import pair_scores, set_scores, whole_outputs
from benchmarks.quality.stats import _grams, resampled_fid, resampled_kid, set_hierarchical
from benchmarks.quality.train import make_step
from benchmarks.quality.v2 import DECAY_ITERS, ITERS, NDF, PAD_MULTIPLE
from mrff_plugin import inception
from mrff_plugin.file_hash import sha256_of
from mrff_plugin.metrics_fid import KID_COEF, KID_DEGREE, _unbiased_mmd2, fid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import quality_v2_rerun as driver  # noqa: E402  (a script of benchmarks/, run by path)


def features(seed, n=12, dims=64, shift=0.0):
    rng = np.random.default_rng(seed)
    return np.abs(rng.normal(size=(n, dims))) + shift


def test_the_order_holds_every_protocol_run_once():
    order = driver.run_order()
    assert len(order) == len(set(order)) == 77
    assert order[10] == ("roadscene", "pre-H", "fusion released", 0)    # the v2 seed-0 question, right after step 1
    assert order[:10] == [(("roadscene", code, "fusion paper", s)) for s in range(5) for code in ("pre-H", "shipped")]
    # v2's own seeds (0-4 RoadScene headline, released 0 and 1) come before any new seed
    first_new = min(i for i, r in enumerate(order) if r[0] == "roadscene" and r[3] >= 5)
    assert all(r in order[:first_new] for r in [("roadscene", "shipped", m, s) for s in range(5)
                                                for m in ("unet", "unet matched", "paper average")])
    assert ("roadscene", "shipped", "fusion released", 1) in order[:first_new]
    # step 3 (RoadScene seeds 5-9, which v3's seed count rests on) before the synthetic seeds 3-4
    assert first_new < min(i for i, r in enumerate(order) if r[0] == "synthetic" and r[3] >= 3)
    synthetic_first = driver.lane_order("synthetic")
    assert sorted(synthetic_first) == sorted(order)
    assert {r[0] for r in synthetic_first[:15]} == {"synthetic"} and synthetic_first[15][0] == "roadscene"
    assert ("synthetic", "pre-H", "fusion paper", 2) in synthetic_first[:15]


def test_a_run_is_taken_once_and_a_dead_processs_lock_is_cleared(tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "LOCKS", tmp_path)
    key = ("roadscene", "shipped", "unet", 3)
    lock = driver.take(key)
    assert lock and lock.read_text() == str(os.getpid())
    assert driver.take(key) is False                    # this (live) process holds it
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(dead.stdout.strip())                # a process that has exited
    assert driver.take(key)


def test_the_next_run_skips_what_is_done_and_what_another_live_process_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "LOCKS", tmp_path / "locks")
    monkeypatch.setattr(driver, "RECORDS", tmp_path / "records")
    first, second, third = driver.lane_order("protocol")[:3]
    done = driver.record_path(*first)
    done.parent.mkdir(parents=True)
    done.write_text("{}")
    held = driver.take(second)                          # this live process holds the second one
    run, lock = driver.next_run("protocol")
    assert run == third and lock.is_file()
    held.unlink()
    assert driver.next_run("protocol")[0] == second


def test_resampled_fid_and_kid_are_metrics_fids_on_the_resampled_sets():
    fake, real = features(0), features(1, shift=0.3)
    grams = _grams(fake, real)
    cols = np.array([np.arange(12), np.random.default_rng(2).integers(0, 12, 12)])
    got = resampled_fid(grams, cols)
    for c, value in zip(cols, got):
        assert abs(value - fid(fake[c], real[c])) < 1e-8 * max(1.0, abs(value))
    kernel = lambda a, b: (a @ b.T / a.shape[1] + KID_COEF) ** KID_DEGREE  # noqa: E731
    whole = _unbiased_mmd2(*(torch.from_numpy(k) for k in (kernel(fake, fake), kernel(real, real), kernel(fake, real))))
    assert abs(resampled_kid(grams, cols[:1], 64)[0] - float(whole)) < 1e-10
    # a resample with duplicates: the within-set pairs of one source image are left out
    c = cols[1]
    distinct = c[:, None] != c[None, :]
    expected = ((kernel(fake[c], fake[c]) + kernel(real[c], real[c]))[distinct].sum() / distinct.sum()
                - 2 * kernel(fake[c], real[c]).mean())
    assert abs(resampled_kid(grams, cols[1:], 64)[0] - expected) < 1e-10


def test_the_interval_finds_a_worse_model_and_not_an_equal_one():
    real = features(100, n=20)
    near = {s: features(100 + s, n=20) for s in range(1, 6)}
    far = {s: features(200 + s, n=20, shift=0.5) for s in range(1, 6)}
    also_near = {s: features(300 + s, n=20) for s in range(1, 6)}
    worse = set_hierarchical(far, near, real, resamples=400)
    assert worse["fid"]["seeds"] == [1, 2, 3, 4, 5]
    assert worse["fid"]["mean"] > 0 and worse["fid"]["shown"] and worse["fid"]["ci95_hierarchical"][0] > 0
    assert worse["kid"]["mean"] > 0 and worse["kid"]["shown"]
    level = set_hierarchical(also_near, near, real, resamples=400)
    for metric in ("fid", "kid"):
        low, high = level[metric]["ci95_hierarchical"]
        assert low < 0 < high and not level[metric]["shown"]
    assert set_hierarchical({1: real}, {2: real}, real) is None


@pytest.mark.skipif(inception.find_file() is None,
                    reason=f"the Inception file is not installed ({inception.INSTALL}; make setup does)")
def test_the_set_scorer_adds_mrff_evaluates_fid_and_kid_only_to_runs_its_weights_reproduce(tmp_path, monkeypatch):
    """A run's record gains FID and KID computed from its kept weights, equal to score.set_scores on the same
    outputs, and its features are kept; a record its weights do not reproduce is refused by name."""
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), rng.integers(0, 256, (40, 56), dtype=np.uint8))
             for _ in range(4)]
    monkeypatch.setattr(sets, "RECORDS", tmp_path / "records")
    monkeypatch.setattr(report, "FEATURES", tmp_path / "features")
    monkeypatch.setattr(sets, "study_data", lambda study: {"test": pairs})
    record = {"model": "unet", "seed": 0, "options": {"netG": "unet_128", "ngf": 4}}
    G = make_step(record["options"], {"iters": ITERS, "decay_iters": DECAY_ITERS, "ndf": NDF}, 0,
                  torch.device("cpu")).G
    weights = tmp_path / "unet_seed0.pth"
    torch.save(G.state_dict(), weights)
    outputs = whole_outputs(G, pairs, "generate", torch.device("cpu"), PAD_MULTIPLE)
    record.update(weights=str(weights), weights_sha256=sha256_of(weights),
                  final={"generate": pair_scores(outputs, pairs)})
    path = tmp_path / "records" / "roadscene" / "shipped" / "unet_seed0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    sets.main(["--study", "roadscene"])
    scored = json.loads(path.read_text())["final"]["set_generate"]
    expected = set_scores(outputs, pairs, inception.load())
    assert abs(scored["fid"] - expected["fid"]) < 1e-6 * expected["fid"]
    assert abs(scored["kid_mean"] - expected["kid_mean"]) < 1e-9 and scored["images"] == 4
    assert scored["ssim_max_difference"] < 1e-6
    assert report.features_path(path).is_file() and report.real_features_path("roadscene").is_file()
    wrong = dict(record, final={"generate": {"ssim": [0.9] * 4}})
    other = path.with_name("unet_seed1.json")
    other.write_text(json.dumps(dict(wrong, seed=1)))
    with pytest.raises(SystemExit, match="unet_seed1.json is not reproduced by its weights"):
        sets.main(["--study", "roadscene"])


def test_a_stopped_driver_stops_its_run_and_frees_its_lock(tmp_path):
    """SIGTERM to the driver ends the run it started (a child that would otherwise train on, unseen) and
    removes the run's lock, so a restarted driver takes the run again and no two processes train it."""
    import signal
    import time
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "drive.py"
    script.write_text(f"""
import pathlib, sys
sys.path.insert(0, {str(driver.ROOT / 'benchmarks')!r})
import quality_v2_rerun as d
d.LOCKS, d.RECORDS = pathlib.Path({str(tmp_path / 'locks')!r}), pathlib.Path({str(tmp_path / 'records')!r})
stand_in = "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
d.command = lambda *run: ([sys.executable, "-c", stand_in], None, None)   # the run's child: a sleeper
d.main(["--max_runs", "1"])
""")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(200):
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.1)
    child = int(pid_file.read_text())
    assert len(list((tmp_path / "locks").glob("*.lock"))) == 1
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0 and b"stopped by signal" in err
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert not list((tmp_path / "locks").glob("*.lock"))


def test_the_second_look_at_seeds_counts_seeds_from_the_spread_between_them():
    """s = 0.03 between seeds: t(0.975, 10) 0.03 / sqrt(11) = 0.0202 > 0.02, t(0.975, 11) 0.03 / sqrt(12) = 0.0191."""
    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    d = 0.03 * z / z.std(ddof=1)
    runs = {}
    for seed, diff in enumerate(d):
        for model, base in (("fusion paper", 0.40 + diff), ("unet", 0.40)):
            runs[f"{model}/seed{seed}"] = {"model": model, "seed": seed,
                                           "final": {"generate": {"ssim": [base - 0.01, base + 0.01]}}}
    e = report.seeds_by_spread(runs, "fusion paper", "unet", [0.01, 0.02])
    assert e["seed_sd"] == pytest.approx(0.03) and e["t_seeds_needed"] == 12
    assert e["image_only_half_width"] == pytest.approx(0.005) and e["seeds"] == list(range(7))
    assert report.seeds_by_spread({k: v for k, v in runs.items() if v["seed"] < 2}, "fusion paper", "unet", None) is None
