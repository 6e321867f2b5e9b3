"""A second generator needs only its builder, `@register_generator` and its option declaration.

The toy below is all a new generator writes: no change to the attach layer, which knows no
generator by name.  It is registered in a launcher that then runs the unmodified bundled host's
train.py (the explicit `register()` way in), and `--netG toy --toy_width 6` trains through the host's
own `define_G` call, option parser and checkpoint writer.
"""
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import HOST_DIR, host_env, write_aligned_set

pytestmark = pytest.mark.slow

LAUNCHER = textwrap.dedent("""
    import runpy, sys
    import torch.nn as nn
    import mrff_plugin
    from mrff_plugin.errors import OptionError
    from mrff_plugin.networks import register_generator

    def add_options(parser):
        parser.add_argument("--toy_width", type=int, default=4, help="channels of the toy's hidden layer")

    def check(opt, parser):
        if opt.toy_width < 1:
            raise OptionError(f"--toy_width {opt.toy_width} must be at least 1; pass --toy_width 4.")

    @register_generator(add_options=add_options, check=check)
    def toy(input_nc, output_nc, ngf, norm_layer, use_dropout, toy_width=4):
        return nn.Sequential(nn.Conv2d(input_nc, toy_width, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(toy_width, output_nc, 3, padding=1), nn.Tanh())

    host = sys.argv[1]
    sys.argv = [host + "/train.py", *sys.argv[2:]]
    sys.path.insert(0, host)
    mrff_plugin.register(host)
    runpy.run_path(host + "/train.py", run_name="__main__")
""")
FLAGS = ["--model", "pix2pix", "--netG", "toy", "--ndf", "8", "--load_size", "32", "--crop_size", "32",
         "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0"]


def launch(tmp_path, *args):
    launcher = tmp_path / "launch_with_toy.py"
    launcher.write_text(LAUNCHER)
    return subprocess.run([sys.executable, str(launcher), str(HOST_DIR), *map(str, args)], cwd=tmp_path,
                          env=host_env(), capture_output=True, text=True, timeout=180)


def test_a_toy_generator_trains_through_the_unmodified_bundled_host(tmp_path):
    dataroot = write_aligned_set(tmp_path / "pairs", "train", count=2, size=32)
    common = ["--dataroot", dataroot, "--checkpoints_dir", tmp_path / "ck", "--name", "toy"]

    listed = launch(tmp_path, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "| toy | unetpp_fusion (mrff plugin)" in " ".join(listed.stdout.split()) and "--toy_width" in listed.stdout

    trained = launch(tmp_path, *common, *FLAGS, "--toy_width", "6")
    assert trained.returncode == 0, trained.stderr[-3000:]
    # 3*6*9 + 6 + 6*3*9 + 3 = 333 parameters, built with the flag's value and saved by the host
    weights = torch.load(tmp_path / "ck" / "toy" / "latest_net_G.pth", map_location="cpu", weights_only=True)
    assert {k: tuple(v.shape) for k, v in weights.items()} == {
        "0.weight": (6, 3, 3, 3), "0.bias": (6,), "2.weight": (3, 6, 3, 3), "2.bias": (3,)}

    refused = launch(tmp_path, *common, *FLAGS, "--toy_width", "0", "--name", "toy0")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == "error: --toy_width 0 must be at least 1; pass --toy_width 4."
