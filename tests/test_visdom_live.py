"""--model mrff_pix2pix against a real `visdom.server` on 127.0.0.1: what the server holds after training.

The server is started from `visdom.server.run_server.main` -- the body of
`python -m visdom.server` without its first step, which downloads the web
page's JavaScript from unpkg.com (not needed to store and read back windows,
and impossible offline).  It binds 127.0.0.1 only, keeps its envs in tmp_path,
and is stopped in `finally`.
"""
import base64
import contextlib
import io
import json
import socket
import subprocess
import sys
import time
import uuid

import pytest
from PIL import Image

from conftest import HOST_SCRIPTS, host_env, run_host
from mrff_plugin import inception
from mrff_plugin.synth import write_dataset

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

visdom = pytest.importorskip("visdom")

LOSSES = ["G_GAN", "G_L1", "D_real", "D_fake"]
MAPS = ["attention_1", "attention_2", "attention_3", "attention_4", "f1", "f2", "f3", "f4"]
PAIRS, VAL_FREQ, SIZE, NCOLS, PADDING = 4, 2, 64, 4, 2   # PADDING: the host's vis.images(padding=2)
FLAGS = ["--model", "mrff_pix2pix", "--ngf", "8", "--ndf", "8", "--load_size", str(SIZE), "--crop_size", str(SIZE),
         "--gpu_ids", "-1", "--num_threads", "0", "--n_epochs", "1", "--n_epochs_decay", "0",
         "--print_freq", "1", "--display_freq", "1", "--display_ncols", str(NCOLS),
         "--val_freq", str(VAL_FREQ), "--val_size", "2", "--display_server", "http://127.0.0.1"]
SERVER = ("import sys; from visdom.server.run_server import main; sys.argv[0] = 'visdom.server'; main()")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running_server(tmp_path, command):
    """`command` (argv before the server flags) started on 127.0.0.1:<free port>; yields (port, log path),
    stops the server on exit."""
    port = free_port()
    log_path = tmp_path / "visdom.log"
    log = open(log_path, "w")
    server = subprocess.Popen([*command, "-port", str(port), "--hostname", "127.0.0.1", "-bind_local",
                               "-env_path", str(tmp_path / "visdom_env"), "-logging_level", "WARNING"],
                              stdout=log, stderr=subprocess.STDOUT, env=host_env())
    try:
        deadline = time.monotonic() + 30
        while not answers(port):
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "visdom.server did not answer within 30 s"
            time.sleep(0.2)
        yield port, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def visdom_server(tmp_path):
    """A real Visdom server on 127.0.0.1:<free port>; yields the port, stops the server afterwards."""
    with running_server(tmp_path, [sys.executable, "-c", SERVER]) as (port, _):
        yield port


@pytest.fixture
def kaist_root(tmp_path):
    write_dataset(str(tmp_path / "data"), PAIRS, size=(SIZE, SIZE), test_pairs=2)
    return tmp_path / "data"


def test_live_server_holds_losses_images_with_maps_and_validation_curves(visdom_server, kaist_root, tmp_path):
    env = f"mrff_test_{uuid.uuid4().hex[:8]}"
    result = run_host("train.py", "--dataroot", kaist_root, "--name", "live", "--checkpoints_dir", tmp_path, *FLAGS,
                      "--display_id", "1", "--display_port", visdom_server, "--display_env", env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr

    client = visdom.Visdom(server="http://127.0.0.1", port=visdom_server, raise_exceptions=True,
                           use_incoming_socket=False)
    assert env in client.get_env_list()
    windows = json.loads(client.get_window_data(env=env))
    # the host's loss window (win = --display_id): one trace per loss, one point per printed iteration
    traces = windows["1"]["content"]["data"]
    assert [trace["name"] for trace in traces] == LOSSES
    assert all(len(trace["x"]) == len(trace["y"]) == PAIRS for trace in traces)
    # the image grid (win = --display_id + 1): 3 + 7 visuals in rows of NCOLS (3 rows, not 1), 64x64 each
    grid = windows["2"]["content"]
    source = grid["src"] if isinstance(grid, dict) else grid
    png = base64.b64decode(source.split(",", 1)[1])
    rows = -(-(3 + len(MAPS)) // NCOLS)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (NCOLS * (SIZE + 2 * PADDING), rows * (SIZE + 2 * PADDING))   # visdom pads each side
    labels = windows["3"]["content"]
    assert all(f"<td>{name}</td>" in labels for name in ["real_A", "fake_B", "real_B"] + MAPS)
    # the plugin's validation windows: one point per validation (iterations 2 and 4)
    sets = ("FID", "KID") if inception.find_file() else ()   # drawn where the Inception file is installed
    for metric in ("SSIM", "PSNR") + sets:
        trace, = windows[f"live validation {metric}"]["content"]["data"]
        assert trace["x"] == [2.0, 4.0] and len(trace["y"]) == PAIRS // VAL_FREQ
    for metric, rounded in (("SSIM", 1e-4), ("FID", 0.006), ("KID", 1e-4))[:1 + len(sets)]:   # the curves are what val_log.txt says
        logged = [float(line.split(f" {metric} ")[1].split()[0]) for line in (tmp_path / "live" / "val_log.txt").open()]
        assert windows[f"live validation {metric}"]["content"]["data"][0]["y"] == pytest.approx(logged, abs=rounded)


def test_absent_server_costs_one_warning_and_training_completes(kaist_root, tmp_path):
    port = free_port()   # bound for a number, then closed: nobody listens
    result = run_host("train.py", "--dataroot", kaist_root, "--name", "absent", "--checkpoints_dir", tmp_path,
                      *FLAGS, "--display_id", "1", "--display_port", port)
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "Visdom" in line or "visdom" in line]
    assert len(warnings) == 1 and f"127.0.0.1:{port}" in warnings[0]
    assert "Traceback" not in result.stderr
    run = tmp_path / "absent"
    assert (run / "latest_net_G.pth").is_file() and (run / "best_net_G.pth").is_file()
    assert len((run / "val_log.txt").read_text().splitlines()) == PAIRS // VAL_FREQ
