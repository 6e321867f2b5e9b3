"""`mrff demo`: the main job, end to end on a fresh machine.

1. make a small synthetic day set (`mrff synth`) unless one is already there;
2. train the paper's fusion generator through the host's `train.py`
   (preset `options/demo.txt`: `--model mrff_pix2pix` (pix2pix + attention
   visuals + validation) + `--netG unetpp_fusion` +
   `--dataset_mode kaist_aligned`, 128x128), on the GPU when there is one;
3. run the host's `test.py` on the held-out pairs;
4. print the HTML gallery's path and the test SSIM/PSNR, FID and KID (`mrff evaluate`).

Visdom is used when a server answers at --display_server:--display_port,
otherwise skipped with one line.
"""
import contextlib
import fcntl
import json
import os
import socket
import stat
import sys
from argparse import Namespace
from pathlib import Path
from urllib.parse import urlparse

from ..argtypes import positive_channels
from ..errors import MrffError

TRAIN_PAIRS = 200  # distinct pairs for options/demo.txt's 400 iterations (each pair seen twice; synthesis ~10 s)
TEST_PAIRS = 48   # held-out pairs scored: standard error of the mean SSIM about 0.015 (12 gave 0.03)
SYNTH_SIZE = (144, 144)   # --load_size of options/demo.txt
TEST_SIZE = 128           # test.py: resize to the crop size, so the whole frame is scored
DEMO_MARK = ".mrff_demo"  # in a run folder: `mrff demo` trained it, so a re-run may replace it
RUN_LOCK = ".train.lock"  # the bundled host's run lock (util/run_lock.py), flocked by the run training there
INHERITED_LOCK = "PIX2PIX_RUN_LOCK_FD"   # util/run_lock.py: the held lock's descriptor, handed to train.py


class DemoError(MrffError):
    """The demo's run folder is in use: nothing in it was touched."""


def add_arguments(parser):
    parser.add_argument("--dataroot", default="datasets/mrff_demo",
                        help="synthetic set to use, made here if absent (default: %(default)s)")
    parser.add_argument("--name", default="mrff_demo", help="experiment name (default: %(default)s)")
    parser.add_argument("--checkpoints_dir", default="checkpoints")
    parser.add_argument("--results_dir", default="results")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic scenes")
    parser.add_argument("--pairs", type=int, default=TRAIN_PAIRS, help="synthetic training pairs (default: %(default)s)")
    parser.add_argument("--test_pairs", type=int, default=TEST_PAIRS, help="synthetic test pairs (default: %(default)s)")
    parser.add_argument("--n_epochs", type=int, default=None, help="override the preset's --n_epochs")
    parser.add_argument("--n_epochs_decay", type=int, default=None, help="override the preset's --n_epochs_decay")
    parser.add_argument("--ngf", type=positive_channels, default=None, help="override the preset's --ngf (generator width)")
    parser.add_argument("--ndf", type=positive_channels, default=None, help="override the preset's --ndf (discriminator width)")
    parser.add_argument("--display_server", default="http://localhost")
    parser.add_argument("--display_port", type=int, default=8097)
    parser.add_argument("--host", default=None, help="pix2pix/CycleGAN checkout (default: the bundled one)")


def visdom_reachable(server, port, timeout=0.5):
    """True when something accepts TCP connections at the Visdom address."""
    hostname = urlparse(server).hostname or server
    try:
        with socket.create_connection((hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_dataset(root, pairs, test_pairs, seed):
    """Use the set at `root` if it is there (a finished synthetic set, or real KAIST); else make one."""
    from ..synth.writer import MANIFEST, write_dataset
    manifest = Path(root) / MANIFEST
    finished = json.loads(manifest.read_text()).get("complete") if manifest.is_file() else None
    if finished or (finished is None and (Path(root) / "images").is_dir()):
        print(f"mrff demo: using the data already at {root}")
        return
    # an interrupted `mrff synth` (complete: false) is rewritten, never trained on half-made
    print(f"mrff demo: writing {pairs} + {test_pairs} synthetic day pairs to {root} ...")
    summary = write_dataset(root, pairs, time="day", size=SYNTH_SIZE, seed=seed,
                            test_pairs=test_pairs, overwrite=finished is False, progress=True)
    print(f"mrff demo: {summary['train_pairs']} train + {summary['test_pairs']} test pairs "
          f"in {summary['seconds']:.1f} s")


@contextlib.contextmanager
def run_lock_held(run_dir):
    """Within: this process holds the run lock of `run_dir` (the bundled host's, util/run_lock.py), made if
    missing, and its descriptor is given; DemoError when a training run holds it (a demo started earlier that is
    still training).  The lock file is never followed through a link nor written when it has a second name."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RUN_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise DemoError(f"the run lock {path} cannot be opened ({exc.strerror}); remove it if it is a link, or "
                        f"pass another --name.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise DemoError(f"the run lock {path} is not a plain file with one name; remove it, or pass another "
                            f"--name.")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            raise DemoError(f"the run folder {run_dir} is in use by another training run (pid {holder}), so its "
                            f"checkpoints were left alone; wait for it to finish, or pass another --name.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)   # releases the lock, unless a train.py it was handed to still holds it


def clear_previous_demo(run_dir):
    """Remove the checkpoints of a run folder the demo trained before (see replace_previous_demo); the caller
    holds the run lock.  Returns the number of files removed."""
    import shutil
    run_dir = Path(run_dir)
    removed = 0
    if (run_dir / DEMO_MARK).is_file():
        for entry in run_dir.iterdir():
            if entry.is_dir() and entry.name.startswith("earlier_"):
                removed += sum(1 for _ in entry.rglob("*.pth"))
                shutil.rmtree(entry)
            elif entry.is_file() and entry.suffix == ".pth":
                entry.unlink()
                removed += 1
        if removed:
            print(f"mrff demo: replacing the previous demo run in {run_dir} ({removed} checkpoint files)")
    elif any(run_dir.glob("*.pth")):
        return 0   # not the demo's: the host moves its checkpoints to earlier_<k>/ with a note
    (run_dir / DEMO_MARK).write_text("written by `mrff demo`; its next run replaces this folder's checkpoints\n")
    return removed


def replace_previous_demo(run_dir):
    """Make `run_dir` the demo's own fresh run folder (DemoError, nothing deleted, while a run trains there).

    A folder the demo trained before (it holds DEMO_MARK) loses its checkpoints, including any
    `earlier_<k>/` the host set aside, so re-running the demo does not keep one more copy of the
    networks each time; any other folder is left to the host, which sets its checkpoints aside.
    Returns the number of files removed.  `main` instead keeps the lock until its train.py has it.
    """
    with run_lock_held(run_dir):
        return clear_previous_demo(run_dir)


def overrides(args, names):
    """`--name value` flags for the options of `names` given on the command line (they follow the preset)."""
    return [flag for name in names if getattr(args, name, None) is not None
            for flag in (f"--{name}", str(getattr(args, name)))]


def main(args):
    ensure_dataset(args.dataroot, args.pairs, args.test_pairs, args.seed)
    with contextlib.ExitStack() as held:
        try:   # held from deleting the previous demo's checkpoints until train.py has ended (it takes it over)
            lock = held.enter_context(run_lock_held(os.path.join(args.checkpoints_dir, args.name)))
        except DemoError as exc:
            print(f"mrff demo: {exc}", file=sys.stderr)
            return 2
        clear_previous_demo(os.path.join(args.checkpoints_dir, args.name))
        return train_and_test(args, lock)


def train_and_test(args, lock):
    """The host's train.py (handed the run lock's descriptor `lock`), test.py, and the scores."""
    import torch
    from ..errors import HostNotFound
    from ._host_script import run_host_script
    from .presets import drop_train_only, read_preset
    from .evaluate import main as evaluate

    gpu_ids = "0" if torch.cuda.is_available() else "-1"
    if visdom_reachable(args.display_server, args.display_port):
        display = ["--display_id", "1", "--display_server", args.display_server,
                   "--display_port", str(args.display_port)]
        print(f"mrff demo: live losses, images and attention maps at {args.display_server}:{args.display_port}")
    else:
        display = ["--display_id", "0"]
        print(f"mrff demo: no Visdom server at {args.display_server}:{args.display_port}; continuing without "
              f"live plots (start one with `python -m visdom.server -port {args.display_port} -bind_local`).")
    workers = str(min(4, os.cpu_count() or 1))  # data-loading processes: no more than the cores
    common = ["--dataroot", args.dataroot, "--name", args.name, "--checkpoints_dir", args.checkpoints_dir,
              "--gpu_ids", gpu_ids, "--num_threads", workers]
    preset = read_preset("demo")
    schedule = overrides(args, ("n_epochs", "n_epochs_decay"))
    width = overrides(args, ("ngf", "ndf"))   # train.py and test.py alike: test.py builds the same network
    try:
        if run_host_script("train.py", preset + common + display + schedule + width, host=args.host,
                           pass_fds=(lock,), env={**os.environ, INHERITED_LOCK: str(lock)}) != 0:
            print("mrff demo: training failed (see the message above).", file=sys.stderr)
            return 1
        test_flags = drop_train_only(preset) + common + width + [
            "--results_dir", args.results_dir, "--phase", "test", "--load_size", str(TEST_SIZE),
            "--crop_size", str(TEST_SIZE), "--num_test", str(args.test_pairs)]
        if run_host_script("test.py", test_flags, host=args.host) != 0:
            print("mrff demo: testing failed (see the message above).", file=sys.stderr)
            return 1
    except HostNotFound as exc:
        print(f"mrff demo: {exc}", file=sys.stderr)
        return 2
    run_dir = os.path.join(args.results_dir, args.name, "test_latest")
    status = evaluate(Namespace(results=[run_dir], labels=f"{args.name} (fusion)", out=None))
    print(f"mrff demo: gallery: {os.path.abspath(os.path.join(run_dir, 'index.html'))}")
    return status
