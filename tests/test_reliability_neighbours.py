"""The autoload next to other projects that share the toolkit's folder layout.

Two fixture checkouts are written here (our own code, shaped only by what their
users see):

* a pix2pixHD-shaped one: the toolkit's four layout files, but `BaseOptions.initialize(self)`
  takes no parser and `define_G` has other parameters after `netG`.  The plugin must stay out:
  the project parses its own options with mrff installed, imports nothing heavy, and says one
  line only when the user asked for a plugin name there;
* a contrastive-unpaired-translation-shaped one: the contract's signatures, plus extra `define_G`
  parameters and an argparse `choices` list on `--netG`.  The plugin may attach, but the project's
  own generators must build as before.

Each runs as a user would run it: `python train.py ...` in the checkout, autoload active.
"""
import subprocess
import sys
import textwrap

import pytest

from conftest import host_env

# ------------------------------------------------------------------ pix2pixHD-shaped checkout

HD_FILES = {
    "options/__init__.py": "",
    "options/base_options.py": '''
        import argparse

        class BaseOptions:
            def __init__(self):
                self.parser = argparse.ArgumentParser()
                self.initialized = False

            def initialize(self):          # no parser: this project keeps its own on self
                self.parser.add_argument("--name", default="label2city")
                self.parser.add_argument("--netG", default="global")
                self.parser.add_argument("--n_downsample_global", type=int, default=4)
                self.initialized = True

            def parse(self, save=True):
                if not self.initialized:
                    self.initialize()
                self.opt = self.parser.parse_args()
                self.opt.isTrain = self.isTrain
                return self.opt
    ''',
    "options/train_options.py": '''
        from .base_options import BaseOptions

        class TrainOptions(BaseOptions):
            def initialize(self):
                BaseOptions.initialize(self)
                self.parser.add_argument("--niter", type=int, default=100)
                self.isTrain = True
    ''',
    "models/__init__.py": "",
    "models/base_model.py": '''
        class BaseModel:
            def name(self):
                return "BaseModel"
    ''',
    "models/networks.py": '''
        def define_G(input_nc, output_nc, ngf, netG, n_downsample_global=3, n_blocks_global=9,
                     n_local_enhancers=1, n_blocks_local=3, norm="instance", gpu_ids=[]):
            return ("hd generator", netG, n_downsample_global)
    ''',
    "data/__init__.py": "",
    "data/base_dataset.py": '''
        class BaseDataset:
            def initialize(self, opt):
                pass
    ''',
    "data/data_loader.py": '''
        def CreateDataLoader(opt):
            return ["loader for", opt.name]
    ''',
    # the project's script: options first, then its data and models packages, then parse
    "train.py": '''
        import sys
        from options.train_options import TrainOptions
        from data.data_loader import CreateDataLoader
        import models.networks as networks
        opt = TrainOptions().parse()
        print(opt.name, opt.netG, opt.niter, networks.define_G(3, 3, 64, opt.netG, opt.n_downsample_global))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("mrff_plugin", "torch")))
    ''',
}

# ------------------------------------------------------------------ contrastive-unpaired-translation-shaped checkout

CUT_FILES = {
    "options/__init__.py": "",
    "options/base_options.py": '''
        import argparse

        class BaseOptions:
            def initialize(self, parser):
                parser.add_argument("--name", default="experiment_name")
                parser.add_argument("--netG", type=str, default="resnet_9blocks",
                                    choices=["resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128",
                                             "stylegan2", "smallstylegan2", "resnet_cat"],
                                    help="specify generator architecture")
                parser.add_argument("--normG", type=str, default="instance")
                parser.add_argument("--no_antialias", action="store_true")
                return parser

            def parse(self):
                self.parser = self.initialize(argparse.ArgumentParser())
                self.opt = self.parser.parse_args()
                return self.opt
    ''',
    "options/train_options.py": '''
        from .base_options import BaseOptions

        class TrainOptions(BaseOptions):
            pass
    ''',
    "models/__init__.py": "",
    "models/base_model.py": '''
        class BaseModel:
            @staticmethod
            def modify_commandline_options(parser, is_train):
                return parser
    ''',
    "models/networks.py": '''
        import functools
        import torch.nn as nn

        class StyleGAN2Generator(nn.Conv2d):
            def __init__(self, input_nc, output_nc, ngf, no_antialias, opt):
                super().__init__(input_nc, output_nc, 1)
                self.no_antialias, self.opt = no_antialias, opt

        def get_norm_layer(norm_type="instance"):
            return functools.partial(nn.InstanceNorm2d, affine=False)

        def init_net(net, init_type="normal", init_gain=0.02, gpu_ids=[], debug=False, initialize_weights=True):
            net.initialised = (init_type, init_gain, list(gpu_ids))
            return net

        def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
                     init_gain=0.02, no_antialias=False, no_antialias_up=False, gpu_ids=[], opt=None):
            if netG == "stylegan2":
                net = StyleGAN2Generator(input_nc, output_nc, ngf, no_antialias, opt)
            else:
                raise NotImplementedError("Generator model name [%s] is not recognized" % netG)
            return init_net(net, init_type, init_gain, gpu_ids, initialize_weights=("stylegan2" not in netG))
    ''',
    "data/__init__.py": "",
    "data/base_dataset.py": '''
        class BaseDataset:
            @staticmethod
            def modify_commandline_options(parser, is_train):
                return parser
    ''',
    "train.py": '''
        from options.train_options import TrainOptions
        import data
        import models.networks as networks
        opt = TrainOptions().parse()
        net = networks.define_G(3, 1, 8, opt.netG, opt.normG, False, "xavier", 0.5, opt.no_antialias, False, [], opt)
        print(opt.netG, type(net).__name__, net.initialised, getattr(net, "no_antialias", None),
              getattr(net, "opt", None) is opt)
    ''',
}


def write_checkout(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run_as_user(root, *args):
    """`python train.py ARGS` in `root`, with mrff installed and its autoload active."""
    env = host_env()
    env.pop("MRFF_NO_AUTOLOAD", None)
    return subprocess.run([sys.executable, "train.py", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


START_MODULES = "['mrff_plugin', 'mrff_plugin.attach', 'mrff_plugin.attach.autoload', 'mrff_plugin.attach.layout']"


def test_a_pix2pixhd_shaped_checkout_parses_its_own_options_with_mrff_installed(tmp_path):
    root = write_checkout(tmp_path / "pix2pixHD", HD_FILES)
    result = run_as_user(root, "--name", "city", "--niter", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "city global 7 ('hd generator', 'global', 4)"
    assert lines[1] == START_MODULES     # the plugin stayed out: nothing beyond the hook itself, no torch
    assert result.stderr == ""           # silently: the user did not ask for the plugin


@pytest.mark.parametrize("asked", [["--netG", "unetpp_fusion"], ["--netG=unetpp_fusion"],
                                   ["--dataset_mode", "kaist_aligned"], ["--model=mrff_pix2pix"]])
def test_asking_for_a_plugin_name_in_a_checkout_it_cannot_attach_to_says_so_in_one_line(tmp_path, asked):
    root = write_checkout(tmp_path / "pix2pixHD", HD_FILES)
    env = host_env()
    env.pop("MRFF_NO_AUTOLOAD", None)
    # `python -c "import data" ARGS`: sys.argv holds ARGS, as train.py's would
    result = subprocess.run([sys.executable, "-c", "import data, models; print('imported')", *asked], cwd=root,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "imported\n", result.stderr
    name = asked[-1].split("=")[-1]
    assert result.stderr.splitlines() == [
        f"mrff: not attached to {root}: its options/base_options.py BaseOptions.initialize takes no parser "
        f"argument, so this is not a pix2pix/CycleGAN toolkit checkout the plugin can extend; {name} is not "
        f"available here."]


def test_the_pix2pixhd_shaped_checkout_still_runs_when_asked_for_a_plugin_generator(tmp_path):
    root = write_checkout(tmp_path / "pix2pixHD", HD_FILES)
    result = run_as_user(root, "--netG", "unetpp_fusion")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["label2city unetpp_fusion 100 ('hd generator', 'unetpp_fusion', 4)",
                                          START_MODULES]
    assert len(result.stderr.splitlines()) == 1 and "unetpp_fusion is not available here" in result.stderr


def test_register_refuses_a_pix2pixhd_shaped_checkout_with_the_reason(tmp_path):
    root = write_checkout(tmp_path / "pix2pixHD", HD_FILES)
    probe = ("import warnings, mrff_plugin\n"
             "with warnings.catch_warnings(record=True) as seen:\n"
             "    warnings.simplefilter('always')\n"
             "    print(mrff_plugin.register())\n"
             "print(seen[0].message)\n")
    env = dict(host_env(), MRFF_NO_AUTOLOAD="1")
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False",
        f"mrff_plugin.register(): not attached to {root}: its options/base_options.py BaseOptions.initialize "
        f"takes no parser argument, so this is not a pix2pix/CycleGAN toolkit checkout the plugin can extend."]


def test_a_cut_shaped_checkout_keeps_its_own_generators_and_may_use_the_plugins(tmp_path):
    root = write_checkout(tmp_path / "CUT", CUT_FILES)
    own = run_as_user(root, "--netG", "stylegan2", "--no_antialias")
    assert own.returncode == 0, own.stderr
    assert own.stdout.splitlines() == ["stylegan2 StyleGAN2Generator ('xavier', 0.5, []) True True"]
    plugin = run_as_user(root, "--netG", "unetpp_fusion")   # its --netG has argparse choices
    assert plugin.returncode == 0, plugin.stderr
    assert plugin.stdout.splitlines() == ["unetpp_fusion UnetppFusionGenerator ('xavier', 0.5, []) None False"]
    typo = run_as_user(root, "--netG", "stylegan3")
    assert typo.returncode == 2 and "invalid choice: 'stylegan3'" in typo.stderr
    assert "unetpp_fusion" in typo.stderr and "stylegan2" in typo.stderr


def test_contract_check_reads_signatures_without_importing_the_checkout(tmp_path):
    from mrff_plugin.attach.layout import contract_misfit
    from conftest import HOST_DIR
    assert contract_misfit(str(HOST_DIR)) is None
    assert contract_misfit(str(write_checkout(tmp_path / "CUT", CUT_FILES))) is None
    hd = write_checkout(tmp_path / "HD", HD_FILES)
    assert contract_misfit(str(hd)) == ("its options/base_options.py BaseOptions.initialize takes no parser "
                                        "argument")
    (hd / "options" / "base_options.py").write_text(textwrap.dedent(CUT_FILES["options/base_options.py"]))
    assert contract_misfit(str(hd)) == ("its models/networks.py define_G takes n_downsample_global where the "
                                        "toolkit's takes norm")
    (hd / "models" / "base_model.py").write_text("BaseModel = None\n")
    (hd / "models" / "networks.py").write_text(textwrap.dedent(CUT_FILES["models/networks.py"]))
    assert contract_misfit(str(hd)) == "its models/base_model.py defines no class BaseModel"
    (hd / "models" / "base_model.py").write_text("class BaseModel(\n")
    assert contract_misfit(str(hd)) == "its models/base_model.py is not valid Python"


def test_the_autoloads_plugin_names_are_the_registrys_and_the_aliases():
    from mrff_plugin.attach.autoload import PLUGIN_NAMES
    from mrff_plugin.attach.patches import ALIASES
    from mrff_plugin.networks import generator_names
    aliased = [name.split(".")[1].rsplit("_", 1)[0] for name in ALIASES]   # data.kaist_aligned_dataset -> ...
    assert sorted(PLUGIN_NAMES) == sorted(generator_names() + aliased)
