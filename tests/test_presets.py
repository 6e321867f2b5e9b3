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


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESET_DIR.glob("*.txt")))
@pytest.mark.parametrize("script", ["train.py", "test.py"])
def test_host_parsers_accept_every_preset(preset, script, tmp_path):
    """The unmodified host parses each preset in full (model and dataset flags included), then
    stops at the missing data folder -- not at argparse."""
    flags = expand_presets([f"@{preset}"], for_test=script == "test.py")
    missing = tmp_path / "no_data_here"
    results = ["--results_dir", str(tmp_path / "results")] if script == "test.py" else []   # not in the host's tree
    proc = subprocess.run([sys.executable, "-m", "mrff_plugin", script, *flags, "--dataroot", str(missing),
                           "--gpu_ids", "-1", "--checkpoints_dir", str(tmp_path), *results],
                          cwd=HOST_DIR, capture_output=True, text=True, timeout=120)
    assert "unrecognized arguments" not in proc.stderr, proc.stderr[-2000:]
    assert "kaist_time: day" in proc.stdout and "netG: " in proc.stdout     # the printed options
    assert proc.returncode != 0 and str(missing) in proc.stderr
