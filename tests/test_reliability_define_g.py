"""A direct `networks.define_G(opt.input_nc, ..., opt.netG, opt.norm, ...)` after the host's own option parse builds
the generator the options name, with its own flags (`--mrff_arch`, `--mrff_fusion`, a registered generator's).

Users' scripts (export scripts, notebooks, launchers of other toolkits) build the generator this way, outside the
host's `create_model`.  Checked through the unmodified bundled host (classic era: `TrainOptions().parse()`, then
define_G with `gpu_ids`) in a subprocess, and through a newer-era host (no `gpu_ids`) written here.  The options keep
pickling as plain values: the host's `torch.save` of them and `torch.load(weights_only=True)` see a plain name.
"""
import json
import subprocess
import sys
import textwrap

import pytest

from conftest import HOST_DIR, host_env, write_aligned_set
from test_registration import NEWER_NETWORKS, clean_slate, write_host  # noqa: F401 (clean_slate: a fixture)

# the authors' network (docs/architecture.md, "The released network")
RELEASED_PARAMETERS, RELEASED_TENSORS = 25_943_430, 108

SCRIPT = textwrap.dedent("""
    import io, json, pickle, sys
    import torch, torch.nn as nn
    host, dataroot, checkpoints = sys.argv[1:4]
    sys.path.insert(0, host)
    import mrff_plugin
    from mrff_plugin.networks import register_generator

    def add_options(parser):
        parser.add_argument("--toy_width", type=int, default=4)

    @register_generator(add_options=add_options)
    def toy(input_nc, output_nc, ngf, norm_layer, use_dropout, toy_width=4):
        return nn.Sequential(nn.Conv2d(input_nc, toy_width, 3, padding=1), nn.Tanh())

    mrff_plugin.register(host)
    from options.train_options import TrainOptions
    from models import networks
    from util import checkpoint
    report = {}
    for label, flags in [("released", ["--netG", "unetpp_fusion", "--mrff_arch", "released"]),
                         ("average", ["--netG", "unetpp_fusion", "--mrff_fusion", "average", "--ngf", "8"]),
                         ("toy", ["--netG", "toy", "--toy_width", "6"])]:
        sys.argv = ["train.py", "--dataroot", dataroot, "--checkpoints_dir", checkpoints, "--name", label,
                    "--model", "pix2pix", "--gpu_ids", "-1", *flags]
        opt = TrainOptions().parse()
        net = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                opt.init_type, opt.init_gain, [])
        buffer = io.BytesIO()
        torch.save({"opt": checkpoint.plain_options(opt)}, buffer)   # as the host saves its options
        buffer.seek(0)
        saved = torch.load(buffer, weights_only=True)["opt"]["netG"]
        report[label] = {"parameters": sum(p.numel() for p in net.parameters()),
                         "tensors": len(net.state_dict()), "keys": sorted(net.state_dict()),
                         "saved_type": type(saved).__name__, "saved": saved,
                         "pickled_type": type(pickle.loads(pickle.dumps(opt.netG))).__name__}
    print(json.dumps(report))
""")


@pytest.mark.end_to_end(reason="the bundled host's option parser and define_G are patched by register(), which must "
                               "not stay in the pytest process")
def test_define_g_after_the_bundled_hosts_parse_builds_the_generator_the_options_name(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", "train", count=1, size=32)
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(HOST_DIR), str(dataroot), str(tmp_path / "ck")],
                            env=host_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    released = report["released"]
    assert (released["parameters"], released["tensors"]) == (RELEASED_PARAMETERS, RELEASED_TENSORS)
    average = report["average"]
    assert not any(key.startswith("fuse.") for key in average["keys"])           # no attention blocks
    assert {f"branches.f{k}.0.weight" for k in range(1, 5)} <= set(average["keys"])
    toy = report["toy"]
    assert toy["keys"] == ["0.bias", "0.weight"] and toy["parameters"] == 6 * 3 * 9 + 6   # --toy_width 6
    for label in report.values():   # the saved options hold a plain name, read back by weights_only loading
        assert label["saved_type"] == label["pickled_type"] == "str"
    assert (report["released"]["saved"], report["toy"]["saved"]) == ("unetpp_fusion", "toy")


def test_define_g_after_a_newer_era_hosts_parse_builds_the_generator_the_options_name(clean_slate, tmp_path):
    import copy
    import io
    import pickle

    import torch
    clean_slate.syspath_prepend(str(write_host(tmp_path / "newer", NEWER_NETWORKS)))
    from mrff_plugin import attach
    attach.register()
    from options.base_options import BaseOptions
    import models.networks as networks
    opt = BaseOptions().parse(["--netG", "unetpp_fusion", "--mrff_arch", "released"])
    net = networks.define_G(3, 3, 4, opt.netG, opt.norm)            # no gpu_ids: the newer era's signature
    assert sum(p.numel() for p in net.parameters()) == RELEASED_PARAMETERS
    assert len(net.state_dict()) == RELEASED_TENSORS

    opt = BaseOptions().parse(["--netG", "unetpp_fusion", "--mrff_fusion", "last", "--mrff_channels", "6"])
    assert list(networks.define_G(3, 3, 4, opt.netG, opt.norm).branches) == ["f4"]
    opt.mrff_fusion = "average"   # a script that changes the options after parsing is built as they now say
    assert list(networks.define_G(3, 3, 4, opt.netG, opt.norm).branches) == ["f1", "f2", "f3", "f4"]
    twin = copy.deepcopy(opt)
    twin.mrff_fusion = "last"     # a deep copy is built from its own values, the original from its own
    assert list(networks.define_G(3, 3, 4, twin.netG, twin.norm).branches) == ["f4"]
    assert list(networks.define_G(3, 3, 4, opt.netG, opt.norm).branches) == ["f1", "f2", "f3", "f4"]

    buffer = io.BytesIO()
    torch.save(vars(opt), buffer)
    buffer.seek(0)
    assert type(torch.load(buffer, weights_only=True)["netG"]) is str
    assert type(pickle.loads(pickle.dumps(opt))).__name__ == "Namespace"
    assert type(pickle.loads(pickle.dumps(opt)).netG) is str
    # a plain name (a script's own string) builds the generator's defaults, as before
    assert len(networks.define_G(3, 3, 4, "unetpp_fusion", "batch").branches) == 4
