"""`--mrff_arch` through the host and `mrff generate`: the released network trains, tests and is rebuilt from
its saved options; weights of a layout no flag builds (fusion at H/2) get the ordinary mismatch sentence, never
half-loaded."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, host_env, inverse_colour_map, run_host
from mrff_plugin.synth import write_dataset

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="the exit codes and one-line errors of the host's train.py/test.py and "
                                            "`mrff generate`, as a user sees them")]

TINY = ["--model", "pix2pix", "--netG", "unetpp_fusion", "--dataset_mode", "kaist_aligned", "--load_size", "64",
        "--crop_size", "64", "--gpu_ids", "-1", "--num_threads", "0", "--ndf", "8"]
TRAIN = ["--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", "0", "--max_dataset_size", "1"]

# A layout no flag builds: X0,k reduced by 1x1 conv + BatchNorm + ReLU at H/2 ("reduce.f{k}"), then a head of
# a 4x4 transposed conv + BatchNorm + ReLU and the 3x3 output conv.  Written from a paper network (same
# extractor and fusion keys) with its branch and head weights replaced by these.
MAKE_OLD_CHECKPOINT = textwrap.dedent("""
    import argparse, sys
    import torch
    sys.path.insert(0, sys.argv[1])
    import mrff_plugin
    mrff_plugin.register()
    from util import checkpoint
    from mrff_plugin.networks.unetpp_fusion import UnetppFusionGenerator
    net = UnetppFusionGenerator(3, 3, ngf=8)
    old = {k: v for k, v in net.state_dict().items() if not k.startswith(("branches.", "head."))}
    def batch_norm(prefix, c):
        old.update({prefix + ".weight": torch.ones(c), prefix + ".bias": torch.zeros(c),
                    prefix + ".running_mean": torch.zeros(c), prefix + ".running_var": torch.ones(c),
                    prefix + ".num_batches_tracked": torch.tensor(0)})
    for k in (1, 2, 3, 4):
        old[f"reduce.f{k}.0.weight"] = torch.randn(32, 8, 1, 1)
        batch_norm(f"reduce.f{k}.1", 32)
    old["head.0.0.weight"] = torch.randn(32, 32, 4, 4)
    batch_norm("head.0.1", 32)
    old["head.1.weight"], old["head.1.bias"] = torch.randn(3, 32, 3, 3), torch.zeros(3)
    torch.save(old, checkpoint.network_path(sys.argv[2], "latest", "G"))
    opt = argparse.Namespace(netG="unetpp_fusion", norm="batch", ngf=8, input_nc=3, output_nc=3,
                             no_dropout=False, mrff_fusion="nested", mrff_channels=32)   # no mrff_arch
    checkpoint.save_state(checkpoint.state_path(sys.argv[2], "latest"), opt, 1, 10, [], [])
""")


def mrff(*args):
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], env=host_env(),
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("arch")
    write_dataset(str(root / "data"), 2, size=(64, 64), test_pairs=1)
    photos = root / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(photos / "p.png")
    return root


def test_released_network_trains_tests_and_is_rebuilt_by_generate_from_its_saved_arch(data):
    common = ["--dataroot", data / "data", "--name", "rel", "--checkpoints_dir", data / "ck", *TINY, "--ngf", "8"]
    arch = ["--mrff_arch", "released"]
    train = run_host("train.py", *common, *arch, *TRAIN)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "[Network G] Total number of parameters : 25.943 M" in train.stdout
    warnings = [line for line in train.stderr.splitlines() if line.startswith("warning: --mrff_arch")]
    assert warnings == ["warning: --mrff_arch released ignores --ngf 8 (the authors' network has no "
                        "normalisation, no dropout, and widths set by --mrff_released_width)."]

    test = run_host("test.py", *common, *arch, "--results_dir", data / "results")
    assert test.returncode == 0, test.stderr[-3000:]
    with Image.open(next((data / "results" / "rel" / "test_latest" / "images").glob("*_fake_B.png"))) as im:
        assert im.size == (64, 64)
    forgot = run_host("test.py", *common, "--results_dir", data / "results2")   # --mrff_arch not given
    assert forgot.returncode == 2 and "Traceback" not in forgot.stderr
    assert forgot.stderr.strip().splitlines()[-1].endswith("pass --mrff_arch released.")

    generated = mrff("generate", "--checkpoint", data / "ck" / "rel" / "latest_net_G.pth",
                     "--input", data / "photos", "--output", data / "ir", "--quiet", "--workers", "0",
                     "--save_attention")
    assert generated.returncode == 0, generated.stderr[-3000:]
    with Image.open(data / "ir" / "p.png") as image:
        assert image.size == (96, 64)
    # --save_attention: the four maps beside the output, on one 0..1 scale: they sum to 1 at every pixel
    from mrff_plugin.generate.files import RUN_RECORD
    names = sorted(p.name for p in (data / "ir").iterdir() if p.name != RUN_RECORD)   # the run's options record
    assert names == ["p.png", "p_attention_1.png", "p_attention_2.png", "p_attention_3.png", "p_attention_4.png"]
    weights = [inverse_colour_map(data / "ir" / f"p_attention_{k}.png") for k in (1, 2, 3, 4)]
    assert weights[0].shape == (64, 96) and np.abs(sum(weights) - 1).max() <= 4 * 1.5 / 255
    # the host initialises weights with std 0.02 and this net has no normalisation, so after one step every
    # alpha is still ~sigmoid(0) = 1/2: w1..w4 ~ 1/8, 1/8, 1/4, 1/2 -- the four maps, in order
    assert [round(float(w.mean()), 2) for w in weights] == pytest.approx([0.125, 0.125, 0.25, 0.5], abs=0.03)


def test_weights_of_a_layout_no_flag_builds_get_the_ordinary_mismatch_sentence_from_test_py_and_generate(data):
    run = data / "ck" / "old"
    run.mkdir(parents=True)
    made = subprocess.run([sys.executable, "-c", MAKE_OLD_CHECKPOINT, str(HOST_DIR), str(run)],
                          env=host_env(), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    weights = run / "latest_net_G.pth"
    test = run_host("test.py", "--dataroot", data / "data", "--name", "old", "--checkpoints_dir", data / "ck",
                    *TINY, "--ngf", "8", "--results_dir", data / "results")
    assert test.returncode == 2 and "Traceback" not in test.stderr
    assert test.stderr.strip().splitlines()[-1] == (
        f"error: checkpoint {weights} does not fit the network built from --netG unetpp_fusion --norm batch; it was "
        f"probably trained with another --netG or --norm, so pass the values used for training.")
    generated = mrff("generate", "--checkpoint", weights, "--input", data / "photos",
                     "--output", data / "old_ir", "--quiet", "--workers", "0")
    assert generated.returncode == 2 and "Traceback" not in generated.stderr
    lines = generated.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"mrff generate: checkpoint {weights} does not fit the generator built from --netG unetpp_fusion ")
    assert lines[0].endswith(")."), lines[0]   # "...; pass the flags it was trained with (--netG, --norm, ...)."
    assert "pass the flags it was trained with (--netG, --norm" in lines[0]
    assert not (data / "old_ir" / "p.png").exists()
