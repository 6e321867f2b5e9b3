"""`mrff demo`, the README's main job, end to end on a tiny schedule."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.end_to_end(reason="`mrff demo` as the README runs it: the runner attaches the plugin to a fresh "
                               "interpreter")
def test_demo_makes_data_trains_tests_and_reports_scores(tmp_path):
    env = dict(os.environ, MRFF_NO_AUTOLOAD="1")  # the demo attaches through the runner by itself
    proc = subprocess.run(
        [sys.executable, "-m", "mrff_plugin.cli", "demo", "--pairs", "4", "--test_pairs", "2",
         "--n_epochs", "1", "--n_epochs_decay", "0", "--ngf", "8", "--ndf", "16",
         "--display_port", "9"],  # port 9: nothing listens
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout

    # 1. the synthetic set was written in the KAIST layout (train: day sets 00-02, test: 06-08)
    images = tmp_path / "datasets" / "mrff_demo" / "images"
    assert len(list(images.glob("set0[0-2]/*/visible/*.jpg"))) == 4
    assert len(list(images.glob("set0[6-8]/*/lwir/*.jpg"))) == 2
    # 2. Visdom was absent: one line says so, training went on
    assert sum("no Visdom server" in line for line in out.splitlines()) == 1
    # 3. the fusion generator was trained and saved
    assert (tmp_path / "checkpoints" / "mrff_demo" / "latest_net_G.pth").is_file()
    assert "netG: unetpp_fusion" in out
    # ... at the widths given on the command line, which test.py (below) built too to load it
    import torch
    for net, width in (("G", 8), ("D", 16)):
        state = torch.load(tmp_path / "checkpoints" / "mrff_demo" / f"latest_net_{net}.pth", map_location="cpu",
                           weights_only=True)
        first_conv = next(v for k, v in state.items() if k.endswith("weight") and v.ndim == 4)
        assert first_conv.shape[0] == width, (net, first_conv.shape)
    # 4. test.py gallery: one row per test pair, every image file present
    run = tmp_path / "results" / "mrff_demo" / "test_latest"
    gallery = run / "index.html"
    assert f"gallery: {gallery}" in out
    fakes = sorted((run / "images").glob("*_fake_B.png"))
    assert len(fakes) == 2
    for k in (1, 2, 3, 4):   # the four attention maps in every row, under the colour bar of their scale
        assert len(list((run / "images").glob(f"*_attention_{k}.png"))) == 2
    assert 'id="mrff-attention-scale"' in gallery.read_text()
    assert (tmp_path / "checkpoints" / "mrff_demo" / "curves.png").is_file()
    # 5. the SSIM/PSNR printed come from the evaluation written beside the gallery
    report = json.loads((run / "evaluation.json").read_text())
    (summary,) = report["runs"]
    assert summary["n"] == 2
    assert 0.0 < summary["ssim_mean"] <= 1.0 and summary["psnr_mean"] > 0
    assert f"{summary['ssim_mean']:.4f}" in out
    if summary["fid"] is not None:   # FID and KID beside them, when the Inception file is installed (make setup)
        assert f"{summary['fid']:.2f}" in out and f"{summary['kid_mean']:.5f}" in out


def test_demo_rewrites_an_interrupted_synthetic_set_and_reuses_a_finished_one(tmp_path, capsys):
    from mrff_plugin.commands.demo import ensure_dataset
    from mrff_plugin.synth.writer import MANIFEST

    root = tmp_path / "synth"
    ensure_dataset(root, 2, 1, seed=0)
    first = sorted(p.name for p in root.rglob("*.jpg"))
    assert len(first) == 6  # 3 pairs x (visible, lwir)
    ensure_dataset(root, 2, 1, seed=0)
    assert "using the data already at" in capsys.readouterr().out

    manifest = root / MANIFEST
    record = json.loads(manifest.read_text())
    record["complete"] = False          # as a killed `mrff synth` leaves it
    manifest.write_text(json.dumps(record))
    next(root.rglob("*.jpg")).unlink()  # and a pair half-written
    ensure_dataset(root, 2, 1, seed=0)
    assert "writing 2 + 1 synthetic day pairs" in capsys.readouterr().out
    assert json.loads(manifest.read_text())["complete"] is True
    assert sorted(p.name for p in root.rglob("*.jpg")) == first


def test_demo_replaces_its_own_previous_run_but_leaves_another_run_to_the_host(tmp_path, capsys):
    from mrff_plugin.commands.demo import DEMO_MARK, replace_previous_demo

    demo_run = tmp_path / "mrff_demo"
    assert replace_previous_demo(demo_run) == 0          # first run: the folder is made and marked
    assert (demo_run / DEMO_MARK).is_file()
    for name in ("latest_net_G.pth", "latest_net_D.pth", "latest_state.pth"):
        (demo_run / name).write_bytes(b"weights")
    (demo_run / "earlier_1").mkdir()
    (demo_run / "earlier_1" / "latest_net_G.pth").write_bytes(b"older")
    (demo_run / "loss_log.txt").write_text("kept")
    assert replace_previous_demo(demo_run) == 4          # a re-run: the demo's checkpoints go, nothing grows
    assert sorted(p.name for p in demo_run.iterdir()) == sorted([DEMO_MARK, ".train.lock", "loss_log.txt"])
    assert "replacing the previous demo run" in capsys.readouterr().out

    user_run = tmp_path / "my_run"                       # trained by someone else under the demo's --name
    user_run.mkdir()
    (user_run / "latest_net_G.pth").write_bytes(b"precious")
    assert replace_previous_demo(user_run) == 0
    assert (user_run / "latest_net_G.pth").read_bytes() == b"precious"
    assert not (user_run / DEMO_MARK).exists()


def test_demo_refuses_a_width_below_one_in_one_sentence_before_writing_anything(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "demo", "--ngf", "0"], cwd=tmp_path,
                          env=dict(os.environ, MRFF_NO_AUTOLOAD="1"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "argument --ngf: 0 is not a positive number of channels" in proc.stderr
    assert list(tmp_path.iterdir()) == []
