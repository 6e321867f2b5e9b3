"""Nothing is lost between two steps: `mrff demo` holds its run lock from deleting until train.py has it, and
the training visuals, the synthetic pairs (8-bit and radiometric), the `--lwir_range` run map, `mrff evaluate`'s
tables, the frame split's pair lists and the Visdom assets are written through `mrff_plugin.durable`
(temporary file, fsync, rename, fsync of the folder)."""
import os
import subprocess
import sys
import textwrap
from argparse import Namespace

import numpy as np

from conftest import HOST_DIR, host_env
from test_reliability_run_lock import LOCK

TRY_LOCK = textwrap.dedent("""
    import fcntl, os, sys
    fd = os.open(os.path.join(sys.argv[1], ".train.lock"), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("busy")
    else:
        print("free")
""")
# the bundled host's run_lock as train.py takes it, then whether the lock file holds this process's pid
HOST_LOCK = LOCK + "import os; print(open(os.path.join(sys.argv[2], '.train.lock')).read() == f'{os.getpid()}\\n')"


def test_the_demo_holds_the_run_lock_from_deleting_until_train_py_has_it(tmp_path, monkeypatch):
    from mrff_plugin.commands import _host_script, demo
    run = tmp_path / "checkpoints" / "mrff_demo"
    run.mkdir(parents=True)
    (run / demo.DEMO_MARK).write_text("demo\n")
    (run / "latest_net_G.pth").write_bytes(b"the previous demo's weights")
    seen = {}

    def run_host_script(script, args, host=None, **kwargs):
        if script != "train.py":
            return 1
        seen["deleted"] = not (run / "latest_net_G.pth").exists()
        seen["other"] = subprocess.run([sys.executable, "-c", TRY_LOCK, str(run)], capture_output=True,
                                       text=True, timeout=60).stdout.strip()
        train = subprocess.run([sys.executable, "-c", HOST_LOCK, str(HOST_DIR), str(run)], capture_output=True,
                               text=True, timeout=60, pass_fds=kwargs.get("pass_fds", ()),
                               env={**host_env(), **kwargs.get("env", {})})
        seen["train.py"] = train.stdout.split() or train.stderr
        return 0

    monkeypatch.setattr(demo, "ensure_dataset", lambda *args: None)
    monkeypatch.setattr(_host_script, "run_host_script", run_host_script)
    args = Namespace(dataroot=str(tmp_path / "data"), name="mrff_demo", checkpoints_dir=str(tmp_path / "checkpoints"),
                     results_dir=str(tmp_path / "results"), seed=0, pairs=4, test_pairs=2, n_epochs=None,
                     n_epochs_decay=None, ngf=None, ndf=None, display_server="http://localhost", display_port=1,
                     host=None)
    assert demo.main(args) == 1   # stops after the (pretended) training
    assert seen == {"deleted": True, "other": "busy", "train.py": ["locked", "True"]}
    after = subprocess.run([sys.executable, "-c", TRY_LOCK, str(run)], capture_output=True, text=True, timeout=60)
    assert after.stdout.strip() == "free"   # let go once training is over


def fsynced(monkeypatch):
    """A list that gets, per os.fsync call, whether it synced a folder."""
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(os.path.isdir(f"/proc/self/fd/{fd}")) or real(fd))
    return calls


def test_the_curve_png_is_written_through_the_atomic_writer(tmp_path, monkeypatch):
    from mrff_plugin.training.visuals import plot_curves
    calls = fsynced(monkeypatch)
    png = plot_curves(str(tmp_path / "curves.png"), [{"G_L1": 3.0}, {"G_L1": 2.0}], [(2, 0.3, 12.0)])
    assert calls == [False, True] and os.listdir(tmp_path) == ["curves.png"] and png == str(tmp_path / "curves.png")
    assert os.stat(png).st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_synthetic_pairs_and_their_manifest_are_written_through_the_atomic_writer(tmp_path, monkeypatch):
    from mrff_plugin.synth import writer
    calls = fsynced(monkeypatch)
    writer._save_jpeg(np.zeros((8, 8, 3), np.uint8), tmp_path / "I00000.jpg")
    writer._write_manifest(tmp_path, {"complete": False})
    assert calls == [False, True, False, True]
    assert sorted(os.listdir(tmp_path)) == ["I00000.jpg", writer.MANIFEST]


def test_visdom_assets_are_written_through_the_atomic_writer(tmp_path, monkeypatch):
    from mrff_plugin.commands import visdom_assets
    calls = fsynced(monkeypatch)
    visdom_assets.install({"js/react.min.js": b"var React;"}, str(tmp_path))
    assert calls == [False, True, False, True]   # the file, its folder; the version marker, its folder
    assert sorted(os.listdir(tmp_path)) == sorted(["js", visdom_assets.BUILT_MARKER])
    assert os.listdir(tmp_path / "js") == ["react.min.js"]
    assert (tmp_path / "js" / "react.min.js").read_bytes() == b"var React;"


def test_evaluation_tables_range_maps_and_pair_lists_are_written_through_the_atomic_writer(tmp_path, monkeypatch):
    from mrff_plugin.commands.evaluate import write_outputs
    from mrff_plugin.datasets.frame_split import write_pair_list
    from mrff_plugin.radiometric import lwir_range
    calls = fsynced(monkeypatch)
    run = {"label": "run", "ssim_mean": 0.5, "ssim_std": 0.1, "psnr_mean": 12.0, "psnr_std": 1.0, "n": 2,
           "folder": "results/run", "images": []}
    write_outputs(str(tmp_path / "eval"), [run])
    lwir_range.save(lwir_range.LwirRange(7000.0, 9000.0, "counts"), str(tmp_path))
    write_pair_list(str(tmp_path / "train.txt"), ["set00/V000/I00000"], "1 pair")
    assert calls == [False, True] * 4   # each file, then its folder
    assert sorted(os.listdir(tmp_path)) == ["eval.csv", "eval.json", lwir_range.RANGE_FILE, "train.txt"]
    assert (tmp_path / "eval.csv").read_text().splitlines()[1].startswith("run,0.5,0.1,12.0,1.0,2,results/run,")
    assert lwir_range.load(str(tmp_path)).low == 7000.0
    assert (tmp_path / "train.txt").read_text() == "# 1 pair\nset00/V000/I00000\n"


def test_radiometric_synthetic_pairs_are_written_through_the_atomic_writer(tmp_path, monkeypatch):
    import tifffile
    from PIL import Image
    from mrff_plugin.synth import radiometric_pairs
    folder = "images/set00/V000"
    (tmp_path / folder / "visible").mkdir(parents=True)
    (tmp_path / folder / "visible" / "I00000.jpg").write_bytes(b"jpeg")
    counts = np.arange(64, dtype=np.uint16).reshape(8, 8) + 7000
    kelvin = np.full((8, 8), 293.5, np.float32)
    radiometric_pairs.prepare(tmp_path)
    calls = fsynced(monkeypatch)
    radiometric_pairs.write_counts(tmp_path, folder, "I00000.jpg",
                                   {"lwir_counts": counts, "scene_kelvin": kelvin, "agc_counts": [7000, 7063]})
    radiometric_pairs.write_agc(tmp_path, [("set00/I00000", [7000.0, 7063.0])])
    assert calls == [False, True] * 3   # counts PNG, temperature TIFF, agc.json
    root = tmp_path / radiometric_pairs.FOLDER
    assert np.array_equal(np.asarray(Image.open(root / "train" / "lwir" / "set00" / "I00000.png")), counts)
    assert np.array_equal(tifffile.imread(root / "train" / "kelvin" / "set00" / "I00000.tiff"), kelvin)
    assert not [p for p in root.rglob("*") if p.name.startswith(".") or p.suffix == ".part"]   # no temporaries
