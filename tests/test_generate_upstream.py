"""`mrff generate --host <upstream checkout>`: checkpoints written by a classic-era and a newer-era host.

The fake upstream hosts of test_registration.py (models/networks.py with `define_G`, no util/checkpoint.py,
options only in `train_opt.txt`) write a host generator (`unet_128`) and the plugin's `unetpp_fusion`; generate
rebuilds both through that host's own define_G and turns an image into the same values as the network itself.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from conftest import host_env
from test_registration import CLASSIC_NETWORKS, NEWER_NETWORKS, write_host

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="each fake upstream host is imported in an interpreter of its own (its "
                                            "models/ and util/ are top-level names)")]

# Runs in the fake host: build netG through its (wrapped) define_G, save the weights and the option printout
# the upstream toolkit writes beside them.
WRITE = textwrap.dedent("""
    import sys
    import numpy as np, torch
    from PIL import Image
    host, netG, folder, photo, era = sys.argv[1:]
    sys.path.insert(0, host)
    import mrff_plugin
    mrff_plugin.register(host)
    from models import networks
    torch.manual_seed(0)
    classic = {"gpu_ids": []} if era == "classic" else {}
    net = networks.define_G(3, 1, 8, netG, "batch", False, "normal", 0.02, **classic)
    torch.save(net.state_dict(), folder + "/latest_net_G.pth")
    options = {"netG": netG, "norm": "batch", "ngf": 8, "input_nc": 3, "output_nc": 1, "no_dropout": True}
    with open(folder + "/train_opt.txt", "w") as f:
        f.write("----------------- Options ---------------\\n")
        f.writelines(f"{k:>25}: {str(v):<30}\\n" for k, v in options.items())
        f.write("----------------- End -------------------\\n")
    x = torch.from_numpy(np.asarray(Image.open(photo).convert("RGB"), dtype=np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = net.eval()(x / 127.5 - 1)[0, 0]
    np.save(folder + "/expected.npy", ((y.clamp(-1, 1) + 1) * 127.5).numpy())
""")


# both eras, a host generator and the plugin's (the eras differ in define_G's signature, which both paths meet)
@pytest.mark.parametrize("era, networks, netG", [("classic", CLASSIC_NETWORKS, "unet_128"),
                                                 ("newer", NEWER_NETWORKS, "unetpp_fusion")])
def test_generate_rebuilds_an_upstream_checkpoint_through_that_hosts_define_G(tmp_path, era, networks, netG):
    host = write_host(tmp_path / era, networks)
    run = tmp_path / "run"
    run.mkdir()
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(photos / "p.png")
    written = subprocess.run([sys.executable, "-c", WRITE, host, netG, run, photos / "p.png", era], env=host_env(),
                             capture_output=True, text=True, timeout=120)
    assert written.returncode == 0, written.stderr[-3000:]
    generated = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--host", host,
                                "--checkpoint", run / "latest_net_G.pth", "--input", photos, "--output",
                                tmp_path / "ir", "--quiet", "--workers", "0", "--amp", "none", "--device", "cpu",
                                "--norm_stats", "running"],   # the expected values are the eval-mode network's
                               env=host_env(), capture_output=True, text=True, timeout=180)
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert "Traceback" not in generated.stderr
    with Image.open(tmp_path / "ir" / "p.png") as image:
        out = np.asarray(image.convert("L"), dtype=np.int16)
    expected = np.load(run / "expected.npy")                   # 0..255, not yet quantised
    assert out.shape == expected.shape == (32, 32)
    assert np.abs(out - expected).max() <= 1.0   # the same network (BatchNorm folded), quantised


def test_an_upstream_checkpoint_without_options_names_the_files_and_the_flags(tmp_path):
    host = write_host(tmp_path / "classic", CLASSIC_NETWORKS)
    run = tmp_path / "run"
    run.mkdir()
    (run / "latest_net_G.pth").write_bytes(b"")   # never read: the options are missing first
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(photos / "p.png")
    result = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--host", host, "--checkpoint",
                             run / "latest_net_G.pth", "--input", photos, "--output", tmp_path / "ir"],
                            env=host_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"mrff generate: the checkpoint has no saved options (no {run / 'latest_state.pth'} or "
        f"{run / 'train_opt.txt'}); pass the training flags --netG, --norm (and, where training did not use their "
        f"defaults, --ngf, --input_nc, --output_nc, --no_dropout and, for --netG unetpp_fusion, --mrff_arch, "
        f"--mrff_fusion, --mrff_channels, --mrff_released_width)."]
