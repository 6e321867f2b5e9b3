"""Attaching the plugin to pix2pix/CycleGAN hosts: register(), the runner and the autoload.

Part 1 uses small hosts written here (a classic-era and a newer-era `define_G`),
imported in this process with the real host packages set aside.  Part 2 runs the
unmodified bundled host's train.py / test.py as subprocesses, once per way in.
"""
import re
import subprocess
import sys
import textwrap
import warnings
from dataclasses import asdict

import pytest
import torch

from conftest import HOST_DIR, host_env, write_aligned_set
from mrff_plugin import attach
from mrff_plugin.attach.autoload import AutoloadFinder
from mrff_plugin.attach.hook import HostFinder
from mrff_plugin.attach.patches import ALIASES
from mrff_plugin.networks.unetpp_fusion import UnetppFusionGenerator
from test_unetpp_fusion import table1_parameter_count

torch.set_num_threads(1)

HOST_PACKAGES = ("models", "data", "options", "util")

# ------------------------------------------------------------------ part 1: hosts written here

NETWORKS_COMMON = '''
import functools
import torch.nn as nn

CALLS = []

def get_norm_layer(norm_type="instance"):
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise NotImplementedError("normalization layer [%s] is not found" % norm_type)
'''
CLASSIC_NETWORKS = NETWORKS_COMMON + '''
def init_net(net, init_type="normal", init_gain=0.02, gpu_ids=[]):
    CALLS.append(("init_net", init_type, init_gain, list(gpu_ids)))
    net.initialised_by_host = True
    return net

def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
             init_gain=0.02, gpu_ids=[]):
    norm_layer = get_norm_layer(norm_type=norm)
    if netG == "unet_128":
        return init_net(nn.Conv2d(input_nc, output_nc, 1), init_type, init_gain, gpu_ids)
    raise NotImplementedError("Generator model name [%s] is not recognized" % netG)
'''
NEWER_NETWORKS = NETWORKS_COMMON + '''
def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
             init_gain=0.02):
    """Newer era: no gpu_ids, the network comes back uninitialised (BaseModel.setup initialises)."""
    norm_layer = get_norm_layer(norm_type=norm)
    if netG == "unet_128":
        return nn.Conv2d(input_nc, output_nc, 1)
    raise NotImplementedError("Generator model name [%s] is not recognized" % netG)
'''
BASE_OPTIONS = '''
import argparse

class BaseOptions:
    def initialize(self, parser):
        parser.add_argument("--netG", type=str, default="resnet_9blocks",
                            help="specify generator architecture [resnet_9blocks | unet_128]")
        parser.add_argument("--norm", type=str, default="instance")
        return parser

    def parse(self, args=None):
        self.parser = self.initialize(argparse.ArgumentParser())
        return self.parser.parse_args(args)
'''

MODELS_INIT = '''
class Model:   # what the host's model does with the options: build its generator with define_G's positional call
    def __init__(self, opt):
        from . import networks
        self.opt = opt
        self.netG = networks.define_G(3, 3, 4, opt.netG, opt.norm)
        self.netG_name_type = type(opt.netG).__name__

def create_model(opt):
    return Model(opt)
'''


def write_host(root, networks, layout=True):
    """A pix2pix-style checkout in `root` (only models/ when not `layout`)."""
    files = {"models/__init__.py": MODELS_INIT, "models/networks.py": networks}
    if layout:
        files.update({"models/base_model.py": "class BaseModel:\n    pass\n",
                      "data/__init__.py": "", "data/base_dataset.py": "class BaseDataset:\n    pass\n",
                      "options/__init__.py": "", "options/base_options.py": BASE_OPTIONS})
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def clean_slate(monkeypatch):
    """No host package imported, nothing registered, no autoload; everything put back afterwards."""
    modules = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in HOST_PACKAGES}
    state = attach._attached
    attach._attached = None
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path
                                           if not isinstance(f, (AutoloadFinder, HostFinder))])
    yield monkeypatch
    attach.unregister()
    for name in [name for name in sys.modules if name.split(".")[0] in HOST_PACKAGES]:
        del sys.modules[name]
    sys.modules.update(modules)
    attach._attached = state


def test_classic_host_gets_an_initialised_network_through_its_own_init_net(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    import models.networks as networks
    original = networks.define_G
    assert attach.register() is True
    net = networks.define_G(3, 1, 4, "unetpp_fusion", "instance", True, "xavier", 0.5, [])
    assert isinstance(net, UnetppFusionGenerator) and net.initialised_by_host
    assert networks.CALLS == [("init_net", "xavier", 0.5, [])]
    assert asdict(net.config) == dict(input_nc=3, output_nc=1, ngf=4, use_dropout=True, mrff_arch="paper",
                                      mrff_fusion="nested", mrff_channels=32, norm="instance")
    assert isinstance(networks.define_G(3, 3, 4, "unet_128"), torch.nn.Conv2d)  # other names: the original
    assert networks.define_G.__wrapped__ is original


def test_newer_era_host_without_gpu_ids_gets_an_uninitialised_network(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "newer", NEWER_NETWORKS)))
    assert attach.register() is True  # before the host is imported: patched when it loads
    import models.networks as networks
    torch.manual_seed(0)
    net = networks.define_G(3, 3, 4, "unetpp_fusion", norm="batch")
    torch.manual_seed(0)
    fresh = UnetppFusionGenerator(3, 3, 4, networks.get_norm_layer("batch"), False)
    assert not hasattr(net, "initialised_by_host") and networks.CALLS == []
    for (name, value), (_, expected) in zip(net.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(value, expected), name  # PyTorch's own initialisation, untouched


def test_register_is_idempotent_and_unregister_restores_the_host(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    import models.networks as networks
    from options.base_options import BaseOptions
    original_define_G, original_initialize = networks.define_G, BaseOptions.initialize
    assert attach.register() and attach.register()
    wrapped = networks.define_G
    assert wrapped._mrff_original is original_define_G and wrapped.__wrapped__ is original_define_G
    assert len(attach.attached().replaced) == 4  # create_model, define_G, initialize, parse: once each
    assert sum(isinstance(f, HostFinder) for f in sys.meta_path) == 1
    attach.unregister()
    assert networks.define_G is original_define_G and BaseOptions.initialize is original_initialize
    assert "parse" in vars(BaseOptions) and not hasattr(BaseOptions.parse, "_mrff_original")
    assert not any(isinstance(f, HostFinder) for f in sys.meta_path)
    with pytest.raises(NotImplementedError, match=r"\[unetpp_fusion\] is not recognized"):
        networks.define_G(3, 3, 4, "unetpp_fusion")


def test_unknown_generator_name_lists_host_and_plugin_names(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    import models.networks as networks
    attach.register()
    with pytest.raises(NotImplementedError) as info:
        networks.define_G(3, 3, 4, "unetpp_fusoin")
    assert str(info.value) == ("--netG unetpp_fusoin is not a known generator; pass --netG with one of: "
                               "resnet_9blocks, resnet_6blocks, unet_256, unet_128, unetpp_fusion.")
    with pytest.raises(NotImplementedError, match=r"normalization layer \[group\]"):  # not about the name
        networks.define_G(3, 3, 4, "unet_128", norm="group")


def test_options_gain_the_plugin_flags_and_the_generator_is_built_with_them(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    attach.register()
    from options.base_options import BaseOptions
    import models.networks as networks
    options = BaseOptions()
    opt = options.parse(["--netG", "unetpp_fusion", "--mrff_fusion", "last", "--mrff_channels", "6"])
    assert options.parser._option_string_actions["--netG"].help == \
        "specify generator architecture [resnet_9blocks | unet_128 | unetpp_fusion (mrff plugin)]"
    from models import create_model
    model = create_model(opt)   # the host's model calls define_G(3, 3, 4, opt.netG, opt.norm): flags ride with netG
    assert model.netG.config.mrff_fusion == "last" and model.netG.config.mrff_channels == 6
    assert list(model.netG.branches) == ["f4"] and model.netG_name_type == "GeneratorChoice"
    assert opt.netG == "unetpp_fusion"
    defaults = BaseOptions().parse([])
    assert (defaults.mrff_fusion, defaults.mrff_channels) == ("nested", 32)
    # the flags stay with the options they were parsed into, not with the process: a direct call with this
    # opt.netG builds them, a plain name the generator's defaults
    net = networks.define_G(3, 3, 4, opt.netG, opt.norm)
    assert (net.config.mrff_fusion, net.config.mrff_channels) == ("last", 6)
    net = networks.define_G(3, 3, 4, "unetpp_fusion", opt.norm)
    assert (net.config.mrff_fusion, net.config.mrff_channels) == ("nested", 32)


def test_mrff_arch_released_is_built_and_warns_once_about_the_host_flags_it_ignores(clean_slate, tmp_path, capsys):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    attach.register()
    from options.base_options import BaseOptions
    import models.networks as networks
    from mrff_plugin.networks.unetpp_released import ReleasedFusionGenerator
    options = BaseOptions()
    opt = options.parse(["--netG", "unetpp_fusion", "--mrff_arch", "released", "--norm", "batch"])
    assert capsys.readouterr().err == ("warning: --mrff_arch released ignores --norm batch (the authors' network "
                                       "has no normalisation, no dropout, and widths set by "
                                       "--mrff_released_width).\n")
    from models import create_model
    net = create_model(opt).netG
    assert isinstance(net, ReleasedFusionGenerator) and net.config.mrff_arch == "released"
    assert options.parser._option_string_actions["--norm"].help == "no effect with --mrff_arch released"
    BaseOptions().parse(["--netG", "unetpp_fusion", "--mrff_arch", "released"])
    BaseOptions().parse(["--netG", "unetpp_fusion", "--norm", "batch"])  # paper: --norm is read, nothing to say
    assert capsys.readouterr().err == ""


def test_a_models_package_that_is_not_a_pix2pix_host_is_left_alone(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "other", CLASSIC_NETWORKS, layout=False)))
    with pytest.warns(UserWarning, match="no pix2pix/CycleGAN-style host found at sys.path"):
        assert attach.register() is False
    import models.networks as networks
    assert not hasattr(networks.define_G, "_mrff_original") and not attach.is_registered()
    sys.meta_path.insert(0, AutoloadFinder())  # the autoload looks, and also leaves it alone
    del sys.modules["models.networks"], sys.modules["models"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import models.networks as again
    assert not hasattr(again.define_G, "_mrff_original") and not attach.is_registered()


def test_aliases_load_lazily_as_the_same_module_object(clean_slate, tmp_path):
    clean_slate.syspath_prepend(str(write_host(tmp_path / "classic", CLASSIC_NETWORKS)))
    target = tmp_path / "plugin_side" / "mrff_alias_target.py"
    target.parent.mkdir()
    target.write_text("from data.base_dataset import BaseDataset\n\nclass AliasTargetDataset(BaseDataset):\n"
                      "    pass\n")
    clean_slate.syspath_prepend(str(target.parent))
    clean_slate.setitem(ALIASES, "data.alias_target_dataset", "mrff_alias_target")
    clean_slate.setitem(ALIASES, "models.not_written_yet_model", "mrff_plugin.training.not_written_yet")
    attach.register()
    assert "mrff_alias_target" not in sys.modules  # nothing is imported before the host asks
    import importlib
    import data
    module = importlib.import_module("data.alias_target_dataset")
    assert module is sys.modules["mrff_alias_target"] is data.alias_target_dataset
    assert module.__name__ == module.__spec__.name == "mrff_alias_target"
    with pytest.raises(ModuleNotFoundError) as info:  # a missing target reads as an unknown name
        importlib.import_module("models.not_written_yet_model")
    assert info.value.name == "models.not_written_yet_model"
    attach.unregister()
    assert "data.alias_target_dataset" not in sys.modules and not hasattr(data, "alias_target_dataset")


def test_runner_explains_a_missing_script_and_its_usage(tmp_path):
    env = dict(host_env(), MRFF_NO_AUTOLOAD="1")
    missing = subprocess.run([sys.executable, "-m", "mrff_plugin", "trian.py", "--netG", "unetpp_fusion"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("mrff_plugin: trian.py does not exist; run from the toolkit checkout "
                                      "(cd to the folder with train.py) or give the script's path.")
    bare = subprocess.run([sys.executable, "-m", "mrff_plugin"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert bare.returncode == 2 and bare.stderr.startswith("usage: python -m mrff_plugin SCRIPT.py")


# ------------------------------------------------------------------ part 2: the bundled host, unmodified

HOST_FLAGS = ["--model", "pix2pix", "--netG", "unetpp_fusion", "--ngf", "8", "--ndf", "8",
              "--load_size", "64", "--crop_size", "64", "--gpu_ids", "-1", "--num_threads", "0",
              "--max_dataset_size", "2"]
TRAIN_FLAGS = ["--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0"]
# An explicit register() in the user's own launcher, then the host script as usual.
EXPLICIT = ("import runpy, sys, mrff_plugin; "
            "assert mrff_plugin.register(), 'not attached'; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
WAYS = {  # how the plugin gets in -> (command prefix, autoload on?)
    "autoload": ([], True),
    "runner": (["-m", "mrff_plugin"], False),
    "explicit": (["-c", EXPLICIT], False),
}


def run_python(args, autoload=True, timeout=180):
    env = host_env()
    env.pop("MRFF_NO_AUTOLOAD", None)
    if not autoload:
        env["MRFF_NO_AUTOLOAD"] = "1"
    return subprocess.run([sys.executable, *map(str, args)], cwd=HOST_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("registration") / "data"
    write_aligned_set(root, "train", count=2, size=64, seed=0)
    write_aligned_set(root, "test", count=2, size=64, seed=1)
    return root


@pytest.mark.end_to_end(reason="each way in (runner, autoload, register()) attaches the plugin to a fresh "
                               "interpreter")
@pytest.mark.slow
@pytest.mark.parametrize("way", list(WAYS))
def test_host_train_and_test_scripts_run_unetpp_fusion(way, dataroot, tmp_path):
    prefix, autoload = WAYS[way]
    fusion = "average" if way == "runner" else "nested"  # the ablation flag reaches the generator too
    common = ["--dataroot", dataroot, "--name", way, "--checkpoints_dir", tmp_path / "ck",
              "--mrff_fusion", fusion] + HOST_FLAGS
    train = run_python(prefix + ["train.py"] + common + TRAIN_FLAGS, autoload)
    assert train.returncode == 0, train.stderr[-3000:]
    run = tmp_path / "ck" / way
    weights = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert ("fuse.2.H.weight" in weights) == (fusion == "nested")
    assert {"branches.f1.0.weight", "nodes.x0_4.0.weight", "ups.x4_0.0.weight"} <= set(weights)
    assert torch.load(run / "latest_state.pth", weights_only=True)["opt"]["mrff_fusion"] == fusion
    # print_networks' figure is the Table 1 derivation (tests/test_unetpp_fusion.py) for ngf 8
    printed = re.search(r"\[Network G\] Total number of parameters : ([\d.]+) M", train.stdout).group(1)
    if fusion == "nested":
        assert printed == f"{table1_parameter_count(8, 3, 3, 'batch') / 1e6:.3f}"

    if way == "explicit":
        return  # reloading is the same code path as for the other two ways
    test = run_python(prefix + ["test.py"] + common + ["--results_dir", tmp_path / "results"], autoload)
    assert test.returncode == 0, test.stderr[-3000:]
    gallery = tmp_path / "results" / way / "test_latest"
    assert (gallery / "index.html").read_text().count("<img") == 6  # 2 rows x real_A, fake_B, real_B
    assert sorted(p.name for p in (gallery / "images").glob("pair_0_*")) == \
        ["pair_0_fake_B.png", "pair_0_real_A.png", "pair_0_real_B.png"]
    if way == "runner":  # testing with another --mrff_fusion names the flag to pass
        wrong = [f if f != "average" else "nested" for f in common]
        mismatch = run_python(prefix + ["test.py"] + wrong + ["--results_dir", tmp_path / "results"], autoload)
        assert mismatch.returncode == 2 and "Traceback" not in mismatch.stderr
        assert "pass --mrff_fusion average" in mismatch.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_help_lists_unetpp_fusion_for_netG_and_the_plugin_flags():
    result = run_python(["train.py", "--help"])
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "unet_256 | unet_128 | unetpp_fusion (mrff plugin)" in text
    assert "--mrff_fusion {nested,average,last}" in text and "--mrff_channels MRFF_CHANNELS" in text


@pytest.mark.slow
def test_a_typo_in_netG_is_one_line_listing_the_valid_names(dataroot, tmp_path):
    flags = [f if f != "unetpp_fusion" else "unetpp_fusoin" for f in HOST_FLAGS]
    result = run_python(["train.py", "--dataroot", dataroot, "--checkpoints_dir", tmp_path] + flags + TRAIN_FLAGS)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --netG unetpp_fusoin is not a known generator; pass --netG with one of: resnet_9blocks, "
        "resnet_6blocks, unet_128, unet_256, unetpp_fusion.")


@pytest.mark.parametrize("flag, typo, module, listed", [
    ("--dataset_mode", "kaist_alinged", "data/kaist_alinged_dataset.py", "aligned, kaist_aligned, single, unaligned"),
    ("--model", "mrff_pix2px", "models/mrff_pix2px_model.py", "cycle_gan, mrff_pix2pix, pix2pix, test")])
def test_a_typo_in_dataset_mode_or_model_lists_the_plugins_names_too(dataroot, tmp_path, flag, typo, module, listed):
    result = run_python(["train.py", "--dataroot", dataroot, "--checkpoints_dir", tmp_path, *HOST_FLAGS,
                         flag, typo, *TRAIN_FLAGS])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {flag} {typo} does not exist (no {module}); choose one of: {listed}.")


@pytest.mark.slow
def test_a_crop_size_that_is_not_a_multiple_of_32_fails_before_training(dataroot, tmp_path):
    flags = [f if f != "64" else "48" for f in HOST_FLAGS]
    result = run_python(["train.py", "--dataroot", dataroot, "--checkpoints_dir", tmp_path, "--name", "r"]
                        + flags + TRAIN_FLAGS)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: unetpp_fusion needs input sides that are multiples of 32 (e.g. 256x256, 128x128, 640x512); "
        "got 48x48: set --load_size/--crop_size accordingly.")
    assert not list((tmp_path / "r").glob("*.pth"))


@pytest.mark.slow
def test_the_autoload_can_be_switched_off():
    result = run_python(["train.py", "--help"], autoload=False)
    assert result.returncode == 0, result.stderr
    assert "unetpp_fusion" not in result.stdout and "--mrff_fusion" not in result.stdout


def test_autoload_costs_one_tiny_import_at_start_and_none_when_switched_off(tmp_path):
    probe = ("import sys; print(sorted(m for m in sys.modules if m.startswith(('mrff', 'torch', 'numpy')))); "
             "print([type(f).__name__ for f in sys.meta_path][:1])")
    on = run_python(["-c", probe])
    assert on.stdout.split("\n")[:2] == [
        "['mrff_plugin', 'mrff_plugin.attach', 'mrff_plugin.attach.autoload', 'mrff_plugin.attach.layout']",
        "['AutoloadFinder']"]
    off = run_python(["-c", probe], autoload=False)
    assert off.stdout.split("\n")[0] == "[]" and "AutoloadFinder" not in off.stdout
    timing = run_python(["-X", "importtime", "-c", "pass"])
    imported = [line.split("|")[-1].strip() for line in timing.stderr.splitlines() if "|" in line]
    assert "mrff_plugin.attach.autoload" in imported and not [m for m in imported if m.startswith("torch")]


@pytest.mark.slow
def test_autoload_attaches_only_to_a_pix2pix_style_checkout(tmp_path):
    write_host(tmp_path, CLASSIC_NETWORKS, layout=False)  # a `models` package of some other project
    probe = ("import sys, models.networks as n; "
             "print(hasattr(n.define_G, '_mrff_original'), 'mrff_plugin.attach.hook' in sys.modules)")
    other = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=host_env(), capture_output=True,
                           text=True, timeout=60)
    assert other.stdout.strip() == "False False", other.stderr
    host = run_python(["-c", probe + "; import importlib, data, mrff_plugin.datasets.kaist_aligned as k; "
                                     "print(importlib.import_module('data.kaist_aligned_dataset') is k)"])
    assert host.stdout.split() == ["True", "True", "True"], host.stderr
