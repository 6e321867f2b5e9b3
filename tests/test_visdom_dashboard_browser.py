"""The live Visdom dashboard as a person sees it: headless Chromium on a real `python -m visdom.server`.

A module fixture makes sure the page's scripts are installed (`mrff visdom-assets`:
npm tarballs, sha256-checked; skipped with the reason when npm cannot reach its
registry). The server is started exactly as a user would, `python -m visdom.server`,
on 127.0.0.1 and a free port, and must not try to download anything. A short
`--model mrff_pix2pix` training plots into a fresh env; Chromium renders
`http://127.0.0.1:PORT/env/<env>` and the test reads the rendered DOM: the loss
window holds a Plotly plot with the four loss curves drawn as lines, and the image
window an <img> whose PNG is the host's grid -- real_A, fake_B, real_B and the
colour-mapped attention maps -- not blank. A screenshot of the page is checked too.
(Without the assets the same page renders nothing but an empty <div id="app">: see
README, "Watching training".)
"""
import base64
import io
import re
import shutil
import subprocess
import sys
import uuid

import numpy as np
import pytest
from PIL import Image

from conftest import run_host
from test_visdom_live import FLAGS, LOSSES, MAPS, NCOLS, PADDING, SIZE, kaist_root, running_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.visdom,
              pytest.mark.end_to_end(reason="a real `python -m visdom.server` and the host's train.py, started as a "
                                            "user starts them, rendered by headless Chromium")]


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not installed: apt-get install chromium (CI installs it) to render the dashboard")
    return path


def mrff(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def assets():
    """The Visdom page's files in place (installed by `mrff visdom-assets` when they are not)."""
    chromium()
    if mrff("visdom-assets", "--check").returncode != 0:
        installed = mrff("visdom-assets")
        if installed.returncode != 0:
            pytest.skip(f"the Visdom assets could not be installed from npm: {installed.stderr.strip()}")
    assert mrff("visdom-assets", "--check").returncode == 0


def run_chromium(tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--window-size=1400,1000", "--virtual-time-budget=15000", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    return result


def windows(dom):
    """{title: html} of the dashboard's windows (each a div.window with its title in the bar)."""
    found = {}
    for chunk in dom.split('class="window"')[1:]:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", chunk[:2000]))
        title = next(t for t in ("loss over time", "images", "labels", "validation SSIM", "validation PSNR",
                                 "validation FID", "validation KID") if t in text)
        found[title] = chunk
    return found


def test_dashboard_draws_the_loss_plot_and_the_image_grid_with_attention_maps(assets, kaist_root, tmp_path):
    with running_server(tmp_path, [sys.executable, "-m", "visdom.server"]) as (port, log):
        started = log.read_text()
        assert "Downloading" not in started and "Error" not in started, started
        env = f"mrff_dash_{uuid.uuid4().hex[:8]}"
        train = run_host("train.py", "--dataroot", kaist_root, "--name", "live", "--checkpoints_dir", tmp_path,
                         *FLAGS, "--display_id", "1", "--display_port", port, "--display_env", env)
        assert train.returncode == 0, train.stderr[-3000:]
        url = f"http://127.0.0.1:{port}/env/{env}"
        dom = run_chromium(tmp_path, "--dump-dom", url).stdout
        shot = tmp_path / "dashboard.png"
        run_chromium(tmp_path, f"--screenshot={shot}", url)

    found = windows(dom)
    assert {"loss over time", "images", "labels"} <= set(found), sorted(found)
    # the loss window: a drawn Plotly plot, one legend entry and one line with points per loss
    plot = found["loss over time"]
    assert 'class="main-svg"' in plot
    assert re.findall(r'class="legendtext"[^>]*>([^<]+)<', plot) == LOSSES
    paths = re.findall(r'class="js-line" d="(M[^"]+)"', plot)      # curves ("M..L..") and legend swatches
    assert len([d for d in paths if "L" in d]) == len(LOSSES)
    # the image window: the host's grid of 3 + 8 visuals (attention maps and branch features included)
    source = re.search(r'<img class="content-image[^"]*" src="data:image/png;base64,([^"]+)"', found["images"])
    assert source, "no image drawn in the images window"
    grid = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.group(1)))).convert("RGB")).astype(int)
    rows, cell = -(-(3 + len(MAPS)) // NCOLS), SIZE + 2 * PADDING
    assert grid.shape == (rows * cell, NCOLS * cell, 3)
    tiles = [grid[r * cell + PADDING:(r + 1) * cell - PADDING, c * cell + PADDING:(c + 1) * cell - PADDING]
             for r in range(rows) for c in range(NCOLS)][:3 + len(MAPS)]
    assert all(tile.std() > 1 for tile in tiles)                      # every visual has content
    attention = tiles[3]                                                  # attention_1, colour-mapped
    assert np.abs(attention - attention.mean(-1, keepdims=True)).max() > 40   # in colour, not grey
    assert all(f"<td>{name}</td>" in found["labels"] for name in ["real_A", "fake_B", "real_B"] + MAPS)
    # the screenshot: the page painted (windows on the background), not one flat colour
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500
