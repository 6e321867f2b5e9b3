"""A checkpoint is run as it was trained, or refused in one sentence that says why and what to pass.

- Flags that contradict the options saved with it (`<label>_state.pth`, `train_opt.txt`) are refused, naming the
  flag and the saved value, where they would build another network (`--norm none` for a network trained with
  `--norm instance`: the same weights, another network) -- by `mrff generate`/`export` and by the host's test.py;
- without saved options, the errors name every flag a generator declares and, from the weights, the values of
  `--norm`, `--mrff_arch`, `--mrff_fusion` they fit; a discriminator is called one;
- the direction: a CycleGAN run folder needs `--direction` to choose G_A or G_B; a network that maps B (LWIR) to A
  (visible) -- trained `--direction BtoA`, or CycleGAN's G_B -- runs only when `--direction BtoA` asks for it;
- the sentences suggest what `generate`/`export` accept (never `--load_iter`).

Checkpoints are written here from the registry's builders (tiny widths; the released network has fixed ones), with
the host's file layout.  `load_generator` (what `generate` and `export` call) runs in this process.
"""
import functools
import hashlib
import subprocess
import sys

import pytest
import torch

from conftest import HOST_DIR, host_env, write_aligned_set
from tiny_generator import mrff, write_images

torch.set_num_threads(1)

NORM_LAYERS = {"batch": functools.partial(torch.nn.BatchNorm2d, affine=True, track_running_stats=True),
               "instance": functools.partial(torch.nn.InstanceNorm2d, affine=False, track_running_stats=False),
               "none": lambda channels: torch.nn.Identity()}   # the host's get_norm_layer


def options(**changes):
    """Training options as the host saves them (pix2pix, a tiny unetpp_fusion)."""
    return {"netG": "unetpp_fusion", "norm": "batch", "ngf": 8, "input_nc": 3, "output_nc": 1, "no_dropout": False,
            "mrff_arch": "paper", "mrff_fusion": "nested", "mrff_channels": 8, "direction": "AtoB",
            "model": "pix2pix", **changes}


def save_run(folder, opt, label="latest", names=("G",), state=True, train_opt=False, seed=0):
    """<folder>/<label>_net_<name>.pth for each name, built from `opt`, and its options: `<label>_state.pth`
    (state) and/or `train_opt.txt`; returns {name: state_dict}."""
    from mrff_plugin.networks import build, generator_flags
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    written = {}
    for name in names:
        net = build(opt["netG"], opt["input_nc"], opt["output_nc"], generator_flags(opt["netG"], opt),
                    NORM_LAYERS[opt["norm"]])
        written[name] = net.state_dict()
        torch.save(written[name], folder / f"{label}_net_{name}.pth")
    if state:
        torch.save({"opt": opt, "epoch": 1, "total_iters": 1, "optimizers": [], "schedulers": []},
                   folder / f"{label}_state.pth")
    if train_opt:
        lines = [f"{key:>25}: {str(value):<30}\n" for key, value in opt.items()]
        (folder / "train_opt.txt").write_text("----------------- Options ---------------\n" + "".join(lines)
                                              + "----------------- End -------------------\n")
    return written


def load(path, **overrides):
    from mrff_plugin.generate.network import load_generator
    return load_generator(str(path), overrides=overrides)


def refusal(path, **overrides):
    from mrff_plugin.generate import GenerateError
    with pytest.raises(GenerateError) as info:
        load(path, **overrides)
    message = str(info.value)
    assert "\n" not in message and "--load_iter" not in message
    return message


def same_weights(net, weights):
    return all(torch.equal(net.state_dict()[key], value) for key, value in weights.items())


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A bare released network's weights (no saved options) and its run folder with them (pix2pix defaults)."""
    root = tmp_path_factory.mktemp("released")
    save_run(root / "bare", options(mrff_arch="released", ngf=64, mrff_channels=32, output_nc=3), state=False)
    return root / "bare" / "latest_net_G.pth"


# ------------------------------------------------------------------ saved options against given flags

@pytest.mark.parametrize("saved_in", ["state", "train_opt"])
def test_a_norm_that_contradicts_the_saved_one_is_refused_naming_both(tmp_path, saved_in):
    save_run(tmp_path / "run", options(norm="instance"), state=saved_in == "state", train_opt=saved_in == "train_opt")
    message = refusal(tmp_path / "run" / "latest_net_G.pth", norm="none")
    source = "latest_state.pth" if saved_in == "state" else "train_opt.txt"
    assert message.startswith("--norm none contradicts ") and source in message
    assert "trained with --norm instance; drop --norm" in message
    net, used = load(tmp_path / "run" / "latest_net_G.pth")            # untold: the saved norm
    assert used["norm"] == "instance" and any(isinstance(m, torch.nn.InstanceNorm2d) for m in net.modules())


def test_the_generators_own_flags_that_contradict_the_saved_ones_are_refused(tmp_path):
    save_run(tmp_path / "run", options(mrff_fusion="average"))
    message = refusal(tmp_path / "run" / "latest_net_G.pth", mrff_fusion="nested")
    assert message.startswith("--mrff_fusion nested contradicts ") and "--mrff_fusion average" in message
    assert "--ngf 16 contradicts" in refusal(tmp_path / "run" / "latest_net_G.pth", ngf=16)
    assert "--input_nc 1 contradicts" in refusal(tmp_path / "run" / "latest_net_G.pth", input_nc=1)
    net, used = load(tmp_path / "run" / "latest_net_G.pth", mrff_fusion="average", ngf=8)   # agreeing: fine
    assert used["mrff_fusion"] == "average"


def test_a_flag_the_saved_network_ignores_is_no_contradiction(tmp_path, released):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "latest_net_G.pth").symlink_to(released)
    torch.save({"opt": options(mrff_arch="released", ngf=64, mrff_channels=32, output_nc=3)},
               folder / "latest_state.pth")
    net, used = load(folder / "latest_net_G.pth", norm="none", ngf=8)   # the released network reads neither
    assert sum(p.numel() for p in net.parameters()) == 25_943_430
    message = refusal(folder / "latest_net_G.pth", mrff_arch="paper")
    assert message.startswith("--mrff_arch paper contradicts") and "--mrff_arch released" in message


# ------------------------------------------------------------------ checkpoints saved without their options

def test_without_saved_options_every_declared_flag_is_named(tmp_path):
    save_run(tmp_path / "bare", options(), state=False)
    message = refusal(tmp_path / "bare" / "latest_net_G.pth")
    for flag in ("--netG", "--norm", "--ngf", "--input_nc", "--output_nc", "--no_dropout", "--mrff_arch",
                 "--mrff_fusion", "--mrff_channels"):
        assert flag in message, flag


def test_bare_weights_name_the_arch_fusion_or_norm_they_fit(tmp_path, released):
    given = dict(netG="unetpp_fusion", norm="batch", ngf=8, output_nc=1)
    save_run(tmp_path / "average", options(mrff_fusion="average", mrff_channels=32), state=False)
    message = refusal(tmp_path / "average" / "latest_net_G.pth", **given)
    assert message.endswith("but fits it with --mrff_fusion average; pass --mrff_fusion average.")
    save_run(tmp_path / "instance", options(norm="instance", mrff_channels=32), state=False)
    message = refusal(tmp_path / "instance" / "latest_net_G.pth", **given)
    assert message.endswith("pass --norm instance or --norm none.")   # the same weights: both fit
    message = refusal(released, **{**given, "output_nc": 3})
    assert message.endswith("pass --mrff_arch released.") and "--norm" not in message.split("fits it with")[1]
    message = refusal(tmp_path / "average" / "latest_net_G.pth", **{**given, "ngf": 16})   # nothing fits
    assert "pass the flags it was trained with (--netG, --norm, --ngf" in message and "--mrff_arch" in message


def test_a_discriminator_is_called_one(tmp_path):
    from mrff_plugin.generate.network import attach_host
    networks, _ = attach_host()
    weights = networks.define_D(4, 8, "basic", 3, "batch", "normal", 0.02, []).state_dict()
    (tmp_path / "run").mkdir()
    torch.save(weights, tmp_path / "run" / "latest_net_D.pth")
    torch.save(weights, tmp_path / "run" / "renamed.pth")
    message = refusal(tmp_path / "run" / "latest_net_D.pth")
    assert message.startswith(f"{tmp_path / 'run' / 'latest_net_D.pth'} is a discriminator, not a generator")
    message = refusal(tmp_path / "run" / "renamed.pth", netG="unetpp_fusion", norm="batch")
    assert "renamed.pth holds a discriminator, not a generator" in message


# ------------------------------------------------------------------ direction

def test_a_cyclegan_run_folder_needs_direction_to_choose_g_a_or_g_b(tmp_path):
    written = save_run(tmp_path / "cycle", options(model="cycle_gan", output_nc=3), names=("G_A", "G_B", "D_A"))
    message = refusal(tmp_path / "cycle")
    assert "latest_net_G_A.pth" in message and "latest_net_G_B.pth" in message
    assert "pass --direction AtoB for G_A or --direction BtoA for G_B" in message
    net, _ = load(tmp_path / "cycle", direction="AtoB")
    assert same_weights(net, written["G_A"])
    net, _ = load(tmp_path / "cycle", direction="BtoA")
    assert same_weights(net, written["G_B"])
    message = refusal(tmp_path / "cycle" / "latest_net_G_B.pth")        # G_B untold: LWIR -> visible
    assert "turns B into A (LWIR into visible: it is CycleGAN's G_B" in message and "--direction BtoA" in message
    assert "contradicts" in refusal(tmp_path / "cycle" / "latest_net_G_B.pth", direction="AtoB")


@pytest.mark.parametrize("saved_in", ["state", "train_opt"])
def test_a_network_trained_b_to_a_runs_only_when_asked_for(tmp_path, saved_in):
    save_run(tmp_path / "run", options(direction="BtoA"), state=saved_in == "state",
             train_opt=saved_in == "train_opt")
    message = refusal(tmp_path / "run")
    assert "turns B into A (LWIR into visible:" in message and "trained with --direction BtoA" in message
    assert message.endswith("or --direction BtoA to run this one as it was trained.")
    assert "--direction AtoB contradicts" in refusal(tmp_path / "run", direction="AtoB")
    load(tmp_path / "run", direction="BtoA")
    save_run(tmp_path / "ab", options(direction="AtoB"), state=saved_in == "state", train_opt=saved_in == "train_opt")
    load(tmp_path / "ab")
    assert "--direction BtoA contradicts" in refusal(tmp_path / "ab", direction="BtoA")


@pytest.mark.end_to_end(reason="runs `mrff generate` and `mrff export` as a user does (exit code, one line)")
def test_generate_and_export_take_direction_and_refuse_a_cyclegan_folder_without_it(tmp_path):
    save_run(tmp_path / "cycle", options(model="cycle_gan", output_nc=3), names=("G_A", "G_B"))
    images = write_images(tmp_path / "in", {"a.png": (32, 32)})
    result = mrff("generate", "--checkpoint", tmp_path / "cycle", "--input", images, "--output", tmp_path / "out",
                  "--quiet", "--device", "cpu")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "is a CycleGAN run folder" in result.stderr and not (tmp_path / "out").exists()
    result = mrff("generate", "--checkpoint", tmp_path / "cycle", "--direction", "AtoB", "--input", images,
                  "--output", tmp_path / "out", "--quiet", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / "a.png").is_file()
    result = mrff("export", "--checkpoint", tmp_path / "cycle", "--out", tmp_path / "m.onnx")
    assert result.returncode == 2 and "pass --direction AtoB for G_A" in result.stderr


# ------------------------------------------------------------------ what the sentences suggest

def test_checkpoint_sentences_suggest_what_generate_and_export_accept(tmp_path):
    save_run(tmp_path / "torn", options())
    state = torch.load(tmp_path / "torn" / "latest_state.pth", weights_only=True)
    state["net_sha256"] = {"G": hashlib.sha256(b"another save").hexdigest()}
    torch.save(state, tmp_path / "torn" / "latest_state.pth")
    message = refusal(tmp_path / "torn")
    assert "does not belong to" in message and "pick another --epoch" in message
    save_run(tmp_path / "corrupt", options())
    (tmp_path / "corrupt" / "latest_net_G.pth").write_bytes(b"not a checkpoint")
    message = refusal(tmp_path / "corrupt")
    assert message.endswith("is truncated or corrupt; delete it or pick another --epoch.")


@pytest.mark.end_to_end(reason="runs `mrff export` as a user does (exit code, one line)")
def test_export_does_not_suggest_load_iter(tmp_path):
    save_run(tmp_path / "corrupt", options())
    (tmp_path / "corrupt" / "latest_net_G.pth").write_bytes(b"not a checkpoint")
    result = mrff("export", "--checkpoint", tmp_path / "corrupt", "--out", tmp_path / "m.onnx")
    assert result.returncode == 2 and "--load_iter" not in result.stderr and "--epoch" in result.stderr


# ------------------------------------------------------------------ the host's test.py

def host_test(tmp_path, name, *flags):
    dataroot = write_aligned_set(tmp_path / "data", "test", count=1, size=32)
    return subprocess.run([sys.executable, "-m", "mrff_plugin", "test.py", "--dataroot", dataroot, "--name", name,
                           "--checkpoints_dir", tmp_path / "ck", "--results_dir", tmp_path / "results",
                           "--gpu_ids", "-1", "--load_size", "32", "--crop_size", "32", *map(str, flags)],
                          cwd=HOST_DIR, env=host_env(), capture_output=True, text=True, timeout=180)


@pytest.mark.end_to_end(reason="the host's test.py as a user runs it, with the plugin attached by the runner")
def test_host_test_py_refuses_a_norm_that_contradicts_the_saved_one(tmp_path):
    save_run(tmp_path / "ck" / "inst", options(norm="instance", output_nc=3))
    common = ["--model", "pix2pix", "--netG", "unetpp_fusion", "--ngf", "8", "--mrff_channels", "8"]
    result = host_test(tmp_path, "inst", *common, "--norm", "none")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert "--norm none" in line and "--norm instance" in line
    result = host_test(tmp_path, "inst", *common, "--norm", "instance")
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.end_to_end(reason="the host's test.py as a user runs it, with the plugin attached by the runner")
def test_host_test_py_names_mrff_arch_for_a_released_network_not_norm(tmp_path, released):
    folder = tmp_path / "ck" / "rel"
    folder.mkdir(parents=True)
    (folder / "latest_net_G.pth").symlink_to(released)
    torch.save({"opt": options(mrff_arch="released", ngf=64, mrff_channels=32, output_nc=3)},
               folder / "latest_state.pth")
    result = host_test(tmp_path, "rel", "--model", "test", "--dataset_mode", "single", "--netG", "unetpp_fusion",
                       "--output_nc", "3")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert "--mrff_arch released" in line and "--norm batch" not in line
