"""A tiny fusion checkpoint (ngf 8, batch norm, 1-channel output) whose outputs spread over many grey levels.

Built and saved with the host's own functions in a subprocess (the pytest process keeps no host on
sys.path).  BatchNorm gets running statistics that are not the identity, and the output convolution's
weights are scaled by OUTPUT_GAIN, so the generated images have a standard deviation of about 15 grey
levels instead of the initial network's flat grey: agreement "within one grey level" then means something.
"""
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

from conftest import HOST_DIR, host_env

OUTPUT_GAIN = 30.0

MAKE = textwrap.dedent("""
    import argparse, sys
    import torch
    sys.path.insert(0, sys.argv[1])
    import mrff_plugin
    mrff_plugin.register()
    from models import networks
    from util import checkpoint
    torch.manual_seed(0)
    opt = argparse.Namespace(netG="unetpp_fusion", norm="batch", ngf=8, input_nc=3, output_nc=1, no_dropout=False,
                             mrff_fusion=sys.argv[3], mrff_channels=32, init_type="normal", init_gain=0.02)
    net = networks.define_G(3, 1, 8, "unetpp_fusion", "batch", True, "normal", 0.02, [])
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
        [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1].weight.mul_(float(sys.argv[4]))
    checkpoint.save_network(net, checkpoint.network_path(sys.argv[2], "latest", "G"))
    checkpoint.save_state(checkpoint.state_path(sys.argv[2], "latest"), opt, 1, 10, [], [])
""")


def make_checkpoint(folder, mrff_fusion="nested", output_gain=OUTPUT_GAIN):
    """Write <folder>/latest_net_G.pth and latest_state.pth; return the weights path.

    output_gain: OUTPUT_GAIN spreads the eval-mode (running statistics) output over ~15 grey levels; with
    each image's own statistics (`mrff generate`'s default) 1.0 does that, and OUTPUT_GAIN saturates it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-c", MAKE, str(HOST_DIR), str(folder), mrff_fusion, str(output_gain)],
                            env=host_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder / "latest_net_G.pth"


def write_images(folder, sizes, seed=0):
    """Smooth random RGB PNGs: {name: (w, h)} -> folder/name."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (w, h) in sizes.items():
        small = rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
        Image.fromarray(small).resize((w, h), Image.BILINEAR).save(folder / name)
    return folder


def mrff(*args, timeout=180):
    """`python -m mrff_plugin.cli ARGS` with one thread; the CompletedProcess (text)."""
    env = host_env()
    env.pop("RANK", None)
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def plain_network(weights, mrff_fusion="nested", norm_stats="running"):
    """The checkpoint's generator in plain PyTorch (nothing folded or replaced), built from the plugin's registry:
    eval mode; with norm_stats 'image' its BatchNorms in train mode, as the host's test.py runs them -- then
    feed it one image at a time (one_at_a_time), as test.py does."""
    import torch
    from mrff_plugin.networks import build
    net = build("unetpp_fusion", 3, 1, {"ngf": 8, "use_dropout": True, "mrff_fusion": mrff_fusion, "mrff_channels": 32},
                torch.nn.BatchNorm2d)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.eval()
    if norm_stats == "image":
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.train()
    return net


def one_at_a_time(net, x, **kwargs):
    """net applied to each image of the batch x alone, outputs concatenated (tuples element-wise)."""
    import torch
    outputs = [net(x[k:k + 1], **kwargs) for k in range(len(x))]
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)


def grey(path):
    return np.asarray(Image.open(path)).astype(np.int16)
