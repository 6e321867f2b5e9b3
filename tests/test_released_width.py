"""`--mrff_released_width W`: the authors' released network with channels W, 2W, 4W, 8W, 8W.

The parameter count is derived here by hand for any width (the default must stay the authors' 25,943,430);
the flag is refused where no released network reads it; and a narrow network trained by the host's train.py
is rebuilt at its width by test.py, `mrff generate` and `mrff export` from the options saved with it.
"""
import argparse
from dataclasses import asdict

import pytest
import torch
import torch.nn as nn

from mrff_plugin.errors import OptionError
from mrff_plugin.networks import build, generator_flags, given_flags
from mrff_plugin.networks.unetpp_fusion import add_options, check
from mrff_plugin.networks.unetpp_released import ReleasedFusionGenerator

torch.set_num_threads(1)


def released_parameter_count(width, mrff_channels, input_nc, output_nc):
    """Parameters of the released network derived by hand from its description (unetpp_released.py).

    Every convolution has a bias; nothing else has parameters.  ch = W * (1, 2, 4, 8, 8), C = mrff_channels.
      encoder X_i,0   3x3 s2 (ch[i-1] -> ch[i]) + 3x3 (ch[i] -> ch[i])          (ch[-1] = input_nc)
      up-samplings    2x2 s2 transposed, ch[i+1] -> ch[i], one per nested node X_i,j
      nested X_i,j    3x3 ((j+1) ch[i] -> ch[i]) + 3x3 (ch[i] -> ch[i])
      branches f1..f4 4x4 s2 transposed, ch[0] -> C
      fusion F1..F3   H: 3x3 (2C -> 2C), 3x3 (2C -> 1); post: 3x3 (C -> C)
      output          3x3 (C -> output_nc)
    Worked through for W = 8, C = 4, 3 -> 1 channels (ch = 8, 16, 32, 64, 64):
      encoder  (9*3*8+8 + 9*8*8+8) + (9*8*16+16 + 9*16*16+16) + (9*16*32+32 + 9*32*32+32)
               + (9*32*64+64 + 9*64*64+64) + 2 * (9*64*64+64)            = 147,464
      ups      4 * (4*16*8 + 8) + 3 * (4*32*16 + 16) + 2 * (4*64*32 + 32) + (4*64*64 + 64)
                                                                       =  41,168
      nested   X0,1..X0,4: 9*8*8 * (2+3+4+5) + 4 * (8 + 9*8*8+8)        =  10,432
               X1,1..X1,3: 9*16*16 * (2+3+4) + 3 * (16 + 9*16*16+16)    =  27,744
               X2,1, X2,2: 9*32*32 * (2+3) + 2 * (32 + 9*32*32+32)      =  64,640
               X3,1:       9*64*64 * 2 + 64 + 9*64*64+64                = 110,720
      branches 4 * (4*4*8*4 + 4)                                        =   2,064
      fusion   3 * ((9*8*8 + 8) + (9*8*1 + 1) + (9*4*4 + 4))           =   2,415
      output   9*4*1 + 1                                                =      37
      total                                                             = 406,684
    """
    ch = [width * m for m in (1, 2, 4, 8, 8)]
    C = mrff_channels

    def conv(k, cin, cout):
        return k * k * cin * cout + cout
    encoder = sum(conv(3, input_nc if i == 0 else ch[i - 1], ch[i]) + conv(3, ch[i], ch[i]) for i in range(5))
    nested = [(i, j) for j in (1, 2, 3, 4) for i in range(5 - j)]
    ups = sum(conv(2, ch[i + 1], ch[i]) for i, _ in nested)
    nodes = sum(conv(3, (j + 1) * ch[i], ch[i]) + conv(3, ch[i], ch[i]) for i, j in nested)
    branches = 4 * conv(4, ch[0], C)
    fusion = 3 * (conv(3, 2 * C, 2 * C) + conv(3, 2 * C, 1) + conv(3, C, C))
    return encoder + ups + nodes + branches + fusion + conv(3, C, output_nc)


def count(net):
    return sum(p.numel() for p in net.parameters())


def released(**flags):
    return build("unetpp_fusion", 3, flags.pop("output_nc", 3), {"mrff_arch": "released", **flags}, nn.BatchNorm2d)


def test_the_hand_derivation_gives_the_authors_count_and_the_worked_example():
    assert released_parameter_count(64, 32, 3, 3) == 25_943_430
    assert released_parameter_count(64, 32, 3, 1) == 25_942_852
    assert released_parameter_count(8, 4, 3, 1) == 406_684


def test_the_default_width_is_the_authors_network():
    net = released()
    assert count(net) == 25_943_430 == released_parameter_count(64, 32, 3, 3)
    assert net.config.mrff_released_width == 64
    assert count(released(mrff_released_width=64)) == 25_943_430


@pytest.mark.parametrize("width, mrff_channels, output_nc", [(8, 4, 1), (15, 8, 1), (16, 32, 3)])
def test_a_narrow_network_has_the_hand_derived_count_and_channels(width, mrff_channels, output_nc):
    net = released(mrff_released_width=width, mrff_channels=mrff_channels, output_nc=output_nc)
    assert count(net) == released_parameter_count(width, mrff_channels, 3, output_nc)
    assert [net.nodes[f"x{i}_0"][0].out_channels for i in range(5)] == [width * m for m in (1, 2, 4, 8, 8)]
    assert net.branches["f1"][0].in_channels == width and net.branches["f1"][0].out_channels == mrff_channels
    assert asdict(net.config) == dict(input_nc=3, output_nc=output_nc, mrff_arch="released", mrff_fusion="nested",
                                      mrff_channels=mrff_channels, mrff_released_width=width)
    out = net(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, output_nc, 64, 96) and out.std() > 0


def test_the_saved_options_rebuild_the_width_and_old_options_the_authors_width():
    saved = {"netG": "unetpp_fusion", "ngf": 64, "no_dropout": True, "mrff_arch": "released", "mrff_fusion": "nested",
             "mrff_channels": 4, "mrff_released_width": 8}
    flags = generator_flags("unetpp_fusion", saved)
    assert flags["mrff_released_width"] == 8
    assert count(build("unetpp_fusion", 3, 1, flags, nn.BatchNorm2d)) == 406_684
    older = {key: value for key, value in saved.items() if key != "mrff_released_width"}   # saved before the flag
    net = build("unetpp_fusion", 3, 3, {**generator_flags("unetpp_fusion", older), "mrff_channels": 32},
                nn.BatchNorm2d)
    assert count(net) == 25_943_430


def test_the_flag_is_parsed_as_a_channel_count_and_given_to_generate_and_export():
    assert given_flags(["--mrff_released_width", "15"]) == {"mrff_released_width": 15}
    with pytest.raises(ValueError, match="mrff_released_width"):
        given_flags(["--mrff_released_width", "0"])
    parser = add_options(argparse.ArgumentParser())
    assert parser.parse_args([]).mrff_released_width == 64


def test_a_width_where_no_released_network_reads_it_is_refused():
    sentence = "--mrff_released_width 16 applies to --mrff_arch released only; drop it, or pass --mrff_arch released."
    with pytest.raises(ValueError) as caught:
        build("unetpp_fusion", 3, 1, {"ngf": 8, "mrff_released_width": 16}, nn.BatchNorm2d)
    assert str(caught.value) == sentence
    assert count(build("unetpp_fusion", 3, 1, {"ngf": 8, "mrff_released_width": 64}, nn.BatchNorm2d)) > 0
    parser = add_options(argparse.ArgumentParser())
    opt = parser.parse_args(["--mrff_released_width", "16"])
    opt.preprocess, opt.crop_size, opt.load_size = "resize_and_crop", 64, 64
    with pytest.raises(OptionError) as caught:
        check(opt, parser)
    assert str(caught.value) == sentence
    opt.mrff_arch = "released"
    check(opt, parser)   # read: no error
    with pytest.raises(ValueError, match="--mrff_released_width 0 must be a positive number of channels"):
        ReleasedFusionGenerator(3, 1, width=0)


# ------------------------------------------------------------------ through the host and the commands

TINY = ["--model", "pix2pix", "--netG", "unetpp_fusion", "--mrff_arch", "released", "--mrff_channels", "4",
        "--dataset_mode", "aligned", "--load_size", "64", "--crop_size", "64", "--gpu_ids", "-1",
        "--num_threads", "0", "--ndf", "8"]


@pytest.mark.slow
@pytest.mark.end_to_end(reason="the host's train.py and test.py as a user runs them, with the plugin attached")
def test_a_narrow_network_trains_and_is_rebuilt_at_its_width_by_test_py_generate_and_export(tmp_path, capsys):
    from conftest import run_host, write_aligned_set
    from mrff_plugin import cli
    from mrff_plugin.generate import GenerateError
    from mrff_plugin.generate.network import load_generator
    from tiny_generator import write_images
    data = write_aligned_set(tmp_path / "data", "train", count=1, size=64)
    write_aligned_set(tmp_path / "data", "test", count=1, size=64)
    common = ["--dataroot", data, "--name", "narrow", "--checkpoints_dir", tmp_path / "ck", *TINY,
              "--mrff_released_width", "8"]
    train = run_host("train.py", *common, "--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", "0")
    assert train.returncode == 0, train.stderr[-3000:]
    derived = released_parameter_count(8, 4, 3, 3)
    assert f"[Network G] Total number of parameters : {derived / 1e6:.3f} M" in train.stdout
    run = tmp_path / "ck" / "narrow"
    assert torch.load(run / "latest_state.pth", map_location="cpu", weights_only=True)["opt"][
        "mrff_released_width"] == 8
    weights = torch.load(run / "latest_net_G.pth", map_location="cpu", weights_only=True)
    assert sum(value.numel() for value in weights.values()) == derived

    tested = run_host("test.py", *common, "--results_dir", tmp_path / "results")
    assert tested.returncode == 0, tested.stderr[-3000:]

    # generate and export rebuild the network from the saved options alone, and refuse another width
    net, options = load_generator(str(run))
    assert options["mrff_released_width"] == 8 and count(net) == derived
    assert all(torch.equal(net.state_dict()[key], value) for key, value in weights.items())
    with pytest.raises(GenerateError, match="--mrff_released_width 16 contradicts .* --mrff_released_width 8"):
        load_generator(str(run), overrides={"mrff_released_width": 16})
    photos = write_images(tmp_path / "photos", {"p.png": (96, 64)})
    assert cli.main(["generate", "--checkpoint", str(run), "--input", str(photos), "--output", str(tmp_path / "ir"),
                     "--quiet", "--workers", "0"]) == 0
    assert (tmp_path / "ir" / "p.png").is_file()
    assert cli.main(["generate", "--checkpoint", str(run), "--input", str(photos), "--output", str(tmp_path / "ir2"),
                     "--quiet", "--workers", "0", "--mrff_released_width", "16"]) == 2
    assert "--mrff_released_width 16 contradicts" in capsys.readouterr().err
    assert not (tmp_path / "ir2" / "p.png").exists()
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnx
    out = tmp_path / "narrow.onnx"
    assert cli.main(["export", "--checkpoint", str(run), "--out", str(out), "--size", "64x64"]) == 0
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert metadata.get("mrff.mrff_released_width") == "8", metadata
