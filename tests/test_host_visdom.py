"""Visdom is optional in the bundled host: an unreachable server costs one warning, a live one gets plots."""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import HOST_SCRIPTS, run_host

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--n_epochs", "1",
         "--n_epochs_decay", "0", "--print_freq", "1", "--display_freq", "1"]


def closed_port():
    """A local port nobody listens on: bound to get a free number, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingVisdom:
    """A stand-in Visdom server on 127.0.0.1 that records every JSON message it is sent."""

    def __init__(self):
        self.messages = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.messages.append((self.path, json.loads(body)))
                reply = str(json.loads(body).get("win", "")).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def windows(self):
        """win id -> the last event message sent to it."""
        return {str(msg["win"]): msg for path, msg in self.messages if path == "/events" and "win" in msg}


def test_unreachable_visdom_warns_once_and_training_completes(aligned_dataroot, tmp_path):
    port = closed_port()
    result = run_host("train.py", "--dataroot", aligned_dataroot, "--name", "vis",
                      "--checkpoints_dir", tmp_path, *FLAGS, "--display_id", "1", "--display_port", port,
                      "--display_server", "http://127.0.0.1")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Visdom" in line]
    assert len(warnings) == 1 and f"127.0.0.1:{port}" in warnings[0] and "--display_id 0" in warnings[0]
    assert "Traceback" not in result.stderr and "Exception" not in result.stdout
    assert (tmp_path / "vis" / "latest_net_G.pth").is_file()
    assert len([l for l in (tmp_path / "vis" / "loss_log.txt").read_text().splitlines()
                if l.startswith("(epoch")]) == 3


def test_live_visdom_gets_a_loss_plot_and_an_image_grid(aligned_dataroot, tmp_path):
    with RecordingVisdom() as visdom:
        result = run_host("train.py", "--dataroot", aligned_dataroot, "--name", "vis",
                          "--checkpoints_dir", tmp_path, *FLAGS, "--display_id", "1",
                          "--display_port", visdom.port, "--display_server", "http://127.0.0.1",
                          "--display_env", "host_test")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    windows = visdom.windows()
    plot, grid, labels = windows["1"], windows["2"], windows["3"]
    assert {msg["eid"] for _, msg in visdom.messages if "eid" in msg} == {"host_test"}
    assert [trace["name"] for trace in plot["data"]] == ["G_GAN", "G_L1", "D_real", "D_fake"]
    assert len(plot["data"][0]["x"]) == 3  # one point per printed iteration
    assert grid["data"][0]["type"] == "image"
    assert "real_A" in labels["data"][0]["content"] and "fake_B" in labels["data"][0]["content"]


def test_display_ncols_zero_gives_one_window_per_image(aligned_dataroot, tmp_path):
    with RecordingVisdom() as visdom:
        result = run_host("train.py", "--dataroot", aligned_dataroot, "--name", "vis",
                          "--checkpoints_dir", tmp_path, *FLAGS, "--display_id", "1", "--display_ncols", "0",
                          "--display_port", visdom.port, "--display_server", "http://127.0.0.1")
    assert result.returncode == 0, result.stderr
    windows = visdom.windows()
    assert all(windows[win]["data"][0]["type"] == "image" for win in ("2", "3", "4"))
    assert [windows[win]["opts"]["title"] for win in ("2", "3", "4")] == ["real_A", "fake_B", "real_B"]
    assert "5" not in windows
