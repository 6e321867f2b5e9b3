"""The test.py gallery and the training web/index.html, rendered in headless Chromium.

For each page: a copy beside it (so the relative `images/...` paths resolve)
gets a small script that, on the window's load event, writes what the browser
sees -- every <img>'s naturalWidth, each table row's cell texts, the summary
line -- as JSON into a <pre id="mrff-check">; `chromium --dump-dom` prints the
DOM after load.  The copy drops the training page's 1-second meta refresh, which
would reload it mid-check.  A screenshot of the original page is taken too.
Without Chromium the tests are skipped, saying so.
"""
import html
import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from conftest import host_env, run_host
from mrff_plugin.synth import write_dataset

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="headless Chromium renders the galleries the host's train.py/test.py "
                                            "write as a user runs them")]

MAPS = ["attention_1", "attention_2", "attention_3", "attention_4", "f1", "f2", "f3", "f4"]
VISUALS = ["real_A", "fake_B", "real_B"] + MAPS
TEST_PAIRS = 2
FLAGS = ["--model", "mrff_pix2pix", "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64",
         "--gpu_ids", "-1", "--num_threads", "0"]
CHECK = """<script>
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  var out = document.createElement("pre");
  out.id = "mrff-check";
  out.textContent = JSON.stringify({
    widths: images.map(function (im) { return im.complete ? im.naturalWidth : 0; }),
    rows: Array.from(document.querySelectorAll("table tr")).map(function (tr) {
      return Array.from(tr.querySelectorAll("td")).map(function (td) { return td.innerText.trim(); });
    }),
    summary: document.getElementById("mrff-summary") ? document.getElementById("mrff-summary").innerText : null,
    scale: (function (bar) {
      if (!bar) { return null; }
      var box = bar.querySelectorAll("span")[2].getBoundingClientRect();
      return {text: bar.innerText, width: box.width, height: box.height,
              image: getComputedStyle(bar.querySelectorAll("span")[2]).backgroundImage};
    })(document.getElementById("mrff-attention-scale"))
  });
  document.body.appendChild(out);
});
</script>"""


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not installed: apt-get install chromium (CI installs it) to render the galleries")
    return path


def run_chromium(tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, env=host_env())


def browser_view(page, tmp_path):
    """What Chromium sees in `page` after load: {'widths': [...], 'rows': [[cell text, ...]], 'summary': str|None}."""
    source = page.read_text(encoding="utf-8")
    source = re.sub(r'<meta[^>]*http-equiv="refresh"[^>]*>', "", source)
    copy = page.with_name("mrff_check.html")
    copy.write_text(source.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    result = run_chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="mrff-check">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no check output from chromium: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page, tmp_path):
    png = tmp_path / f"{page.parent.name}.png"
    result = run_chromium(tmp_path, "--window-size=1400,1000", f"--screenshot={png}", page.as_uri())
    assert png.is_file(), result.stderr[-2000:]
    return png


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """(test gallery index.html, training web/index.html) of a tiny mrff_pix2pix run."""
    chromium()
    root = tmp_path_factory.mktemp("gallery")
    write_dataset(str(root / "data"), 3, size=(64, 64), test_pairs=TEST_PAIRS)
    train = run_host("train.py", "--dataroot", root / "data", "--name", "run", "--checkpoints_dir", root, *FLAGS,
                     "--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", "0", "--display_freq", "1")
    assert train.returncode == 0, train.stderr[-3000:]
    test = run_host("test.py", "--dataroot", root / "data", "--name", "run", "--checkpoints_dir", root, *FLAGS,
                    "--results_dir", root / "results")
    assert test.returncode == 0, test.stderr[-3000:]
    return root / "results" / "run" / "test_latest" / "index.html", root / "run" / "web" / "index.html"


def assert_renders(page, tmp_path, rows):
    view = browser_view(page, tmp_path)
    assert len(view["widths"]) == rows * len(VISUALS)
    assert all(width > 0 for width in view["widths"]), view["widths"]     # every image decoded
    assert len(view["rows"]) == rows
    png = screenshot(page, tmp_path)
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1400, 1000)
        colours = image.convert("RGB").resize((140, 100)).getcolors(maxcolors=140 * 100)
        assert len(colours) > 50    # images drawn, not a blank page
    return view


def test_test_gallery_shows_every_image_maps_and_scores(pages, tmp_path):
    view = assert_renders(pages[0], tmp_path, rows=TEST_PAIRS)
    for cells in view["rows"]:
        assert [cell.split(":")[0] for cell in cells] == VISUALS
        assert re.fullmatch(r"fake_B: SSIM -?\d\.\d{4}, PSNR \d+\.\d\d dB", cells[1])
    assert re.match(rf"fake_B vs real_B over {TEST_PAIRS} images .*SSIM -?\d\.\d{{4}} ± \d\.\d{{4}}, "
                    rf"PSNR \d+\.\d\d ± \d+\.\d\d dB", view["summary"])
    # the colour bar of the four maps' shared 0..1 scale is drawn: 0 [gradient] 1
    scale = view["scale"]
    assert re.search(r"attention_1\.\.attention_4 .*one scale: 0\s+1$", scale["text"]), scale["text"]
    assert scale["width"] > 200 and scale["height"] > 10
    assert scale["image"].startswith("linear-gradient(to right, rgb(0, 0, 4)")    # inferno's 0
    assert scale["image"].endswith("rgb(252, 255, 164))")                        # inferno's 1


def test_training_page_shows_the_attention_maps(pages, tmp_path):
    view = assert_renders(pages[1], tmp_path, rows=1)      # one epoch -> one row
    assert view["rows"][0] == VISUALS and view["summary"] is None and view["scale"] is None


def test_a_missing_image_is_seen_as_not_loaded(pages, tmp_path):
    gallery = pages[0].parent
    broken = tmp_path / "broken"
    shutil.copytree(gallery, broken)
    next(broken.glob("images/*_attention_2.png")).unlink()
    view = browser_view(broken / "index.html", tmp_path)
    assert sorted(view["widths"])[:1] == [0] and sum(w > 0 for w in view["widths"]) == TEST_PAIRS * len(VISUALS) - 1
