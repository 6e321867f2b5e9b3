"""A second generator needs only its builder, `@register_generator` and its option declaration.

The toy below is all a new generator writes: no change to the attach layer, which knows no
generator by name.  It is registered in a launcher that then runs the unmodified bundled host's
train.py (the explicit `register()` way in), and `--netG toy --toy_width 6` trains through the host's
own `define_G` call, option parser and checkpoint writer.  The same launcher runs `mrff generate` and
`mrff export` on that checkpoint: they rebuild the toy at width 6 from the saved options, untold.
"""
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import HOST_DIR, host_env, write_aligned_set

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="registers a generator of its own, which must not stay in the pytest "
                                            "process's registry, and runs the unmodified host and `mrff` with it")]

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

    if sys.argv[1] == "mrff":   # `mrff generate|export ...` with the toy registered
        from mrff_plugin.cli import main
        sys.exit(main(sys.argv[2:]))
    host = sys.argv[1]
    sys.argv = [host + "/train.py", *sys.argv[2:]]
    sys.path.insert(0, host)
    mrff_plugin.register(host)
    runpy.run_path(host + "/train.py", run_name="__main__")
""")
FLAGS = ["--model", "pix2pix", "--netG", "toy", "--ndf", "8", "--load_size", "32", "--crop_size", "32",
         "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0"]


def launch(tmp_path, *args, target=HOST_DIR):
    launcher = tmp_path / "launch_with_toy.py"
    launcher.write_text(LAUNCHER)
    return subprocess.run([sys.executable, str(launcher), str(target), *map(str, args)], cwd=tmp_path,
                          env=host_env(), capture_output=True, text=True, timeout=180)


def toy_at(width, weights):
    """The toy network at `width` with the checkpoint's weights (what a correct rebuild computes)."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(width, 3, 3, padding=1), torch.nn.Tanh())
    net.load_state_dict(weights)
    return net.eval()


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

    # mrff generate and mrff export rebuild it at width 6 from the checkpoint's saved options, untold
    import numpy as np
    from PIL import Image
    visible = tmp_path / "visible"
    visible.mkdir()
    image = np.random.default_rng(1).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(image).save(visible / "frame.png")
    checkpoint = ["--checkpoint", tmp_path / "ck" / "toy"]
    generated = launch(tmp_path, "generate", *checkpoint, "--input", visible, "--output", tmp_path / "out",
                       "--quiet", "--device", "cpu", target="mrff")
    assert generated.returncode == 0, generated.stderr[-3000:]
    written = np.asarray(Image.open(tmp_path / "out" / "frame.png"))
    with torch.no_grad():   # the toy has no BatchNorm: --norm_stats makes no difference
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        expected = ((toy_at(6, weights)(x)[0].permute(1, 2, 0) + 1) * 127.5).numpy()
    assert written.shape == (24, 40, 3) and np.abs(written - expected).max() <= 1.0
    told_wrong = launch(tmp_path, "generate", *checkpoint, "--input", visible, "--output", tmp_path / "out4",
                        "--quiet", "--device", "cpu", "--toy_width", "4", target="mrff")
    assert told_wrong.returncode == 2   # the flag reached the builder, parsed as the toy declares it
    assert "--toy_width 4 contradicts" in told_wrong.stderr and "trained with --toy_width 6" in told_wrong.stderr

    exported = launch(tmp_path, "export", *checkpoint, "--out", tmp_path / "toy.onnx", target="mrff")
    if "pip install mrff-plugin[onnx]" in exported.stderr:
        pytest.skip("onnx/onnxruntime not installed")
    assert exported.returncode == 0, exported.stderr[-3000:]
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "toy.onnx")).metadata_props}
    assert meta["mrff.netG"] == "toy" and meta["mrff.toy_width"] == "6"
    hidden = [init for init in onnx.load(str(tmp_path / "toy.onnx")).graph.initializer if list(init.dims)[:1] == [6]]
    assert hidden   # the exported graph holds the width-6 layer
