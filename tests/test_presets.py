"""Experiment presets in options/: readable by mrff and accepted by the host's own parsers."""
import subprocess
import sys

import pytest

from mrff_plugin.commands.presets import (PRESET_DIR, PresetNotFound, drop_train_only, expand_presets,
                                 read_preset)
from conftest import HOST_DIR


def test_presets_hold_the_papers_settings():
    fusion = read_preset("kaist_fusion")
    pairs = dict(zip(fusion[::2], fusion[1::2]))
    assert pairs["--netG"] == "unetpp_fusion" and pairs["--dataset_mode"] == "kaist_aligned"
    assert pairs["--crop_size"] == "256" and pairs["--batch_size"] == "1"          # Sec. IV
    assert float(pairs["--lr"]) == 2e-4 and float(pairs["--beta1"]) == 0.5        # Adam, Sec. IV
    assert pairs["--lambda_L1"] == "100" and pairs["--netD"] == "basic"           # Eq. 7, Table 2
    baseline = dict(zip(*[iter(read_preset("kaist_pix2pix"))] * 2))
    assert baseline["--netG"] == "unet_256"
    # the baseline differs from the fusion run only in the generator
    assert {k: v for k, v in pairs.items() if k not in ("--netG", "--mrff_fusion")} == \
        {k: v for k, v in baseline.items() if k != "--netG"}


def test_llvip_presets_are_the_kaist_runs_on_the_llvip_layout():
    for model in ("fusion", "pix2pix"):
        kaist = dict(zip(*[iter(read_preset(f"kaist_{model}"))] * 2))
        llvip = dict(zip(*[iter(read_preset(f"llvip_{model}"))] * 2))
        assert llvip.pop("--pairs_layout") == "llvip"
        assert kaist.pop("--kaist_time") == "day"
        # LLVIP has ~5x the paper's 2500 pairs: fewer epochs, the same settings otherwise
        assert (llvip.pop("--n_epochs"), llvip.pop("--n_epochs_decay")) == ("10", "10")
        assert {k: v for k, v in kaist.items() if not k.startswith("--n_epochs")} == llvip
    fusion = dict(zip(*[iter(read_preset("llvip_fusion"))] * 2))
    baseline = dict(zip(*[iter(read_preset("llvip_pix2pix"))] * 2))
    assert {k: v for k, v in fusion.items() if k not in ("--netG", "--mrff_fusion")} == \
        {k: v for k, v in baseline.items() if k != "--netG"}


def test_at_name_expands_in_place_and_later_flags_stay_last():
    argv = expand_presets(["--name", "x", "@demo", "--n_epochs", "1"])
    assert argv[:2] == ["--name", "x"] and argv[-2:] == ["--n_epochs", "1"]
    assert "--netG" in argv and "#" not in " ".join(argv)


def test_test_runs_get_the_preset_without_train_only_flags():
    argv = expand_presets(["@kaist_fusion", "--lr", "1"], for_test=True)
    assert "--n_epochs" not in argv and "--beta1" not in argv
    assert argv[-2:] == ["--lr", "1"]          # what the user typed is passed on untouched
    assert drop_train_only(["--lr=3", "--netG", "unet_128"]) == ["--netG", "unet_128"]


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(PresetNotFound, match="kaist_fusion"):
        read_preset("kaist_fussion")


PRESETS = sorted(p.stem for p in PRESET_DIR.glob("*.txt"))
SCRIPTS = ("train.py", "test.py")

# one child process runs the host's script once per (preset, script), each through the runner's main() as
# `python -m mrff_plugin SCRIPT ...` runs it, and reports each run's exit code and output: the host's modules stay
# out of the pytest process, and torch is imported once rather than once per preset
PARSE_EACH = """
import contextlib, io, json, sys, traceback
from mrff_plugin.__main__ import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def host_parses(tmp_path_factory):
    """{(preset, script): (returncode, stdout, stderr, the missing data folder)} of the unmodified host."""
    import json
    tmp = tmp_path_factory.mktemp("presets")
    jobs, runs = [], []
    for preset in PRESETS:
        for script in SCRIPTS:
            where = tmp / f"{preset}_{script[:-3]}"
            missing = where / "no_data_here"
            flags = expand_presets([f"@{preset}"], for_test=script == "test.py")
            results = ["--results_dir", str(where / "results")] if script == "test.py" else []  # not in the host's tree
            jobs.append((preset, script, missing))
            runs.append([script, *flags, "--dataroot", str(missing), "--gpu_ids", "-1", "--checkpoints_dir",
                         str(where), *results])
    proc = subprocess.run([sys.executable, "-c", PARSE_EACH, json.dumps(runs)], cwd=HOST_DIR,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = json.loads(proc.stdout.strip().splitlines()[-1])
    return {(preset, script): (r["returncode"], r["stdout"], r["stderr"], missing)
            for (preset, script, missing), r in zip(jobs, reports)}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("script", SCRIPTS)
def test_host_parsers_accept_every_preset(preset, script, host_parses):
    """The unmodified host parses each preset in full (model and dataset flags included), then
    stops at the missing data folder -- not at argparse."""
    returncode, stdout, stderr, missing = host_parses[preset, script]
    assert "unrecognized arguments" not in stderr, stderr[-2000:]
    assert "kaist_time: day" in stdout and "netG: " in stdout     # the printed options
    assert returncode != 0 and str(missing) in stderr


ROADSCENE = HOST_DIR.parents[1].parent / "shared" / "data" / "roadscene"


@pytest.mark.skipif(not ROADSCENE.is_dir(), reason="RoadScene is not in ../shared/data")
def test_the_real_lwir_preset_trains_and_tests_real_pairs_through_the_host(tmp_path):
    """`@real_lwir` (written from the quality studies' recommendation) trains on RoadScene's frame split through
    the host's train.py, then test.py writes the gallery of whole held-out frames, with the generator it names."""
    import torch
    lists = tmp_path / "lists"
    split = subprocess.run([sys.executable, "-m", "mrff_plugin.datasets.frame_split", "--dataroot", str(ROADSCENE),
                            "--test_count", "34", "--gap", "100", "--out", str(lists)], capture_output=True, text=True)
    assert split.returncode == 0, split.stderr
    common = ["--dataroot", str(ROADSCENE), "--name", "rl", "--checkpoints_dir", str(tmp_path / "ck"),
              "--gpu_ids", "-1"]
    train = subprocess.run([sys.executable, "-m", "mrff_plugin", "train.py",
                            *expand_presets(["@real_lwir"]), *common, "--pairs_list", str(lists / "train.txt"),
                            "--max_dataset_size", "4", "--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", "0"],
                           cwd=HOST_DIR, capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr[-2000:]
    test = subprocess.run([sys.executable, "-m", "mrff_plugin", "test.py",
                           *expand_presets(["@real_lwir"], for_test=True), *common,
                           "--pairs_list", str(lists / "test.txt"), "--preprocess", "pad", "--eval", "--num_test", "2",
                           "--results_dir", str(tmp_path / "results")],
                          cwd=HOST_DIR, capture_output=True, text=True, timeout=300)
    assert test.returncode == 0, test.stderr[-2000:]
    assert (tmp_path / "results" / "rl" / "test_latest" / "index.html").is_file()
    flags = dict(zip(*[iter(read_preset("real_lwir"))] * 2))
    weights = torch.load(tmp_path / "ck" / "rl" / "latest_net_G.pth", map_location="cpu", weights_only=True)
    out_conv = [v for k, v in weights.items() if k.endswith("weight") and v.dim() == 4][-1]
    assert out_conv.shape[0] == int(flags["--output_nc"]) == 1        # single-channel LWIR, as the studies
    # the trained generator is the recommended one: its parameter count is the winner's in the studies' file
    import json
    rec = json.loads((HOST_DIR.parents[1] / "benchmarks" / "results" / "quality_recommendation.json").read_text())
    budget = rec["budgets"][rec["preset_budget"]]
    winner = next(r for r in budget["models"] if r["model"] == budget["winner"])
    trained = sum(v.numel() for k, v in weights.items() if "running_" not in k and "num_batches" not in k)
    assert trained == winner["params"]
