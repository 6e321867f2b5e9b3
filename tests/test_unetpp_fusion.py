"""The paper's `unetpp_fusion` generator (Sec. III.B, Fig. 4-6, Table 1) on its own, without a host."""
import functools
from dataclasses import asdict

import pytest
import torch
import torch.nn as nn

from mrff_plugin.networks import GENERATORS, build, generator_flags, generator_names
from mrff_plugin.networks.fusion import nested_weights
from mrff_plugin.networks.unetpp_fusion import AttentionFusion, UnetppFusionGenerator, unetpp_fusion
from mrff_plugin.networks.unetpp_released import ReleasedFusionGenerator

torch.set_num_threads(1)

# Normalisation layers exactly as the host's get_norm_layer('batch' | 'instance' | 'none') makes them.
NORMS = {
    "batch": functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True),
    "instance": functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "none": lambda channels: nn.Identity(),
}


def small(output_nc=3, fusion="nested", norm="batch", dropout=False, seed=0):
    torch.manual_seed(seed)
    return UnetppFusionGenerator(3, output_nc, ngf=4, norm_layer=NORMS[norm], use_dropout=dropout,
                                 mrff_fusion=fusion, mrff_channels=8)


# ------------------------------------------------------------------ shapes and sizes

@pytest.mark.parametrize("output_nc", [1, 3])
@pytest.mark.parametrize("height, width", [(256, 256), (128, 128), (512, 640)])
def test_output_has_input_size_and_output_channels_in_tanh_range(height, width, output_nc):
    net = small(output_nc)
    out = net(torch.randn(1, 3, height, width))
    assert out.shape == (1, output_nc, height, width)
    assert out.min() >= -1 and out.max() <= 1
    assert out.std() > 0  # not a constant image


def test_sizes_that_are_not_multiples_of_32_fail_at_once_with_the_sizes_that_work():
    with pytest.raises(ValueError) as info:
        small()(torch.randn(1, 3, 250, 250))
    assert str(info.value) == ("unetpp_fusion needs input sides that are multiples of 32 (e.g. 256x256, "
                               "128x128, 640x512); got 250x250: set --load_size/--crop_size accordingly.")
    with pytest.raises(ValueError, match="got 640x500"):  # width x height
        small()(torch.randn(1, 3, 500, 640))


def test_smallest_input_32_works_in_training_mode_with_batch_norm():
    out = small()(torch.randn(2, 3, 32, 32))  # X4,0 is 1x1 here: it has no normalisation
    assert out.shape == (2, 3, 32, 32)


def test_nested_node_input_channels_follow_table_1():
    net = UnetppFusionGenerator(3, 3, ngf=64, norm_layer=NORMS["batch"])
    inputs = {name: node[0].in_channels for name, node in net.nodes.items()}
    # Table 1 "Input Features" column: CCB0.1..0.4, CCB1.1..1.3, CCB2.1..2.2, CCB3.1
    assert inputs == {"x0_0": 3, "x1_0": 64, "x2_0": 128, "x3_0": 256, "x4_0": 512,
                      "x0_1": 128, "x0_2": 192, "x0_3": 256, "x0_4": 320,
                      "x1_1": 256, "x1_2": 384, "x1_3": 512,
                      "x2_1": 512, "x2_2": 768, "x3_1": 1024}
    outputs = {name: node[0].out_channels for name, node in net.nodes.items()}
    assert {outputs[f"x{i}_0"] for i in range(5)} == {64, 128, 256, 512, 1024}
    # DB i.j maps ch[i] -> ch[i-1] (Table 1 DB rows' output column), e.g. DB4.0: 1024 -> 512
    assert {name: (up[0].in_channels, up[0].out_channels) for name, up in net.ups.items()} == {
        "x1_0": (128, 64), "x1_1": (128, 64), "x1_2": (128, 64), "x1_3": (128, 64),
        "x2_0": (256, 128), "x2_1": (256, 128), "x2_2": (256, 128),
        "x3_0": (512, 256), "x3_1": (512, 256), "x4_0": (1024, 512)}


# ------------------------------------------------------------------ parameter count from Table 1

def table1_parameter_count(ngf, input_nc, output_nc, norm, mrff_channels=32):
    """Parameters of unetpp_fusion derived by hand from Table 1 and the module docstring's readings.

    A k x k convolution in -> out has k*k*in*out weights, plus `out` biases unless
    a BatchNorm follows it; BatchNorm(c) adds 2c (scale, shift); the host's
    InstanceNorm (affine=False) and 'none' add nothing.  ch = ngf * (1, 2, 4, 8, 16).

    Worked through for ngf 64, 3 -> 3 channels, --norm batch, C = 32:
      CB0.0  4*4*3*64 + 64 (bias, no norm)          =     3,136
      CB1.0  4*4*64*128 + 2*128                     =   131,328
      CB2.0  4*4*128*256 + 2*256                    =   524,800
      CB3.0  4*4*256*512 + 2*512                    = 2,098,176
      CB4.0  4*4*512*1024 + 1024 (bias, no norm)    = 8,389,632
      CCB0.1..0.4  3*3*{128,192,256,320}*64 + 2*64  =   516,608  (73,856 + 110,720 + 147,584 + 184,448)
      CCB1.1..1.3  3*3*{256,384,512}*128 + 2*128    = 1,327,872
      CCB2.1..2.2  3*3*{512,768}*256 + 2*256        = 2,950,144
      CCB3.1       3*3*1024*512 + 2*512             = 4,719,616
      DB1.0-1.3  4 * (4*4*128*64 + 2*64)            =   524,800
      DB2.0-2.2  3 * (4*4*256*128 + 2*128)          = 1,573,632
      DB3.0,3.1  2 * (4*4*512*256 + 2*256)          = 4,195,328
      DB4.0      4*4*1024*512 + 2*512               = 8,389,632
      branches   4 * (4*4*64*32 + 2*32)             =   131,328  (f1..f4: 4x4 s2 transposed, to H x W)
      fusion H   3 * (3*3*64*1 + 1)                 =     1,731
      output     3*3*32*3 + 3                       =       867
      total                                         = 35,478,630
    (Before the fusion moved to full resolution: 1x1 reductions 8,448 and a head
    with a transposed convolution 17,315, total 35,372,198.)
    """
    ch = [ngf * m for m in (1, 2, 4, 8, 16)]
    C = mrff_channels

    def block(k, cin, cout, normalised=True):
        if not normalised:
            return k * k * cin * cout + cout
        return k * k * cin * cout + (2 * cout if norm == "batch" else cout)

    rows = {
        "CB": block(4, input_nc, ch[0], False) + sum(block(4, ch[i - 1], ch[i]) for i in (1, 2, 3))
              + block(4, ch[3], ch[4], False),
        "CCB": sum(block(3, j * ch[i] + ch[i], ch[i]) for j in (1, 2, 3, 4) for i in range(5 - j)),
        "DB": sum(block(4, ch[i + 1], ch[i]) for j in (1, 2, 3, 4) for i in range(5 - j)),
        "branches": 4 * block(4, ch[0], C),
        "fuse": 3 * (3 * 3 * 2 * C * 1 + 1),
        "output": 3 * 3 * C * output_nc + output_nc,
    }
    return sum(rows.values())


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_hand_derivation_for_the_paper_configuration():
    net = UnetppFusionGenerator(3, 3, ngf=64, norm_layer=NORMS["batch"])
    assert table1_parameter_count(64, 3, 3, "batch") == 35_478_630 == count(net)
    assert count(net.nodes["x0_4"]) == 3 * 3 * 320 * 64 + 2 * 64  # CCB0.4
    assert count(net.ups["x4_0"]) == 4 * 4 * 1024 * 512 + 2 * 512  # DB4.0


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("ngf, output_nc", [(64, 1), (8, 3)])
def test_parameter_count_matches_the_table_1_derivation(ngf, output_nc, norm):
    net = UnetppFusionGenerator(3, output_nc, ngf=ngf, norm_layer=NORMS[norm])
    assert count(net) == table1_parameter_count(ngf, 3, output_nc, norm)


# ------------------------------------------------------------------ --mrff_arch released: the authors' network

def released_parameter_count(input_nc, output_nc, C=32):
    """Parameters of the released network derived by hand from docs/architecture.md, "The released network".

    Every layer has a bias.  A k x k (transposed) convolution in -> out has
    k*k*in*out + out parameters.  ch = 64, 128, 256, 512, 512.

    Worked through for 3 -> 3 channels:
      X0,0  3*3*3*64+64 + 3*3*64*64+64               =     38,720
      X1,0  3*3*64*128+128 + 3*3*128*128+128         =    221,440
      X2,0  3*3*128*256+256 + 3*3*256*256+256        =    885,248
      X3,0  3*3*256*512+512 + 3*3*512*512+512        =  3,539,968
      X4,0  2 * (3*3*512*512+512)                    =  4,719,616
      up 1->0  4 * (2*2*128*64+64)                   =    131,328
      up 2->1  3 * (2*2*256*128+128)                 =    393,600
      up 3->2  2 * (2*2*512*256+256)                 =  1,049,088
      up 4->3  2*2*512*512+512                       =  1,049,088
      X0,1..X0,4  3*3*{128,192,256,320}*64+64 + 4 * (3*3*64*64+64)     =    664,064
      X1,1..X1,3  3*3*{256,384,512}*128+128 + 3 * (3*3*128*128+128)    =  1,770,240
      X2,1..X2,2  3*3*{512,768}*256+256 + 2 * (3*3*256*256+256)        =  4,129,792
      X3,1        3*3*1024*512+512 + 3*3*512*512+512                   =  7,078,912
      branches 4 * (4*4*64*32+32)                    =    131,200
      fusion 3 * (3*3*64*64+64 + 3*3*64*1+1 + 3*3*32*32+32)            =    140,259
      output 3*3*32*3+3                              =        867
      total                                          = 25,943,430
    With output_nc 1 the output layer has 289: 25,942,852.
    """
    ch = (64, 128, 256, 512, 512)

    def conv(k, cin, cout):
        return k * k * cin * cout + cout

    rows = {
        "encoder": sum(conv(3, input_nc if i == 0 else ch[i - 1], ch[i]) + conv(3, ch[i], ch[i]) for i in range(5)),
        "ups": sum(conv(2, ch[i + 1], ch[i]) for j in (1, 2, 3, 4) for i in range(5 - j)),
        "nodes": sum(conv(3, (j + 1) * ch[i], ch[i]) + conv(3, ch[i], ch[i])
                     for j in (1, 2, 3, 4) for i in range(5 - j)),
        "branches": 4 * conv(4, ch[0], C),
        "fusion": 3 * (conv(3, 2 * C, 2 * C) + conv(3, 2 * C, 1) + conv(3, C, C)),
        "output": conv(3, C, output_nc),
    }
    return sum(rows.values())


def test_released_parameter_count_is_the_releases_and_the_hand_derivation():
    assert released_parameter_count(3, 3) == 25_943_430 == count(ReleasedFusionGenerator(3, 3))
    assert released_parameter_count(3, 1) == 25_942_852 == count(ReleasedFusionGenerator(3, 1))
    assert 25_943_430 - 25_942_852 == 2 * (32 * 3 * 3) + 2  # the two missing output channels


def test_released_network_has_no_norm_no_dropout_relu_only_and_the_releases_layers():
    net = ReleasedFusionGenerator(3, 3)
    kinds = {type(m) for m in net.modules()}
    assert not kinds & {nn.BatchNorm2d, nn.InstanceNorm2d, nn.Dropout, nn.LeakyReLU}
    assert all(m.bias is not None for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    assert [net.nodes[f"x{i}_0"][0].out_channels for i in range(5)] == [64, 128, 256, 512, 512]
    assert net.nodes["x0_4"][0].in_channels == 320 and net.nodes["x3_1"][0].in_channels == 1024
    up = net.ups["x4_0"]
    assert (up.kernel_size, up.stride, up.padding) == ((2, 2), (2, 2), (0, 0))
    assert (up.in_channels, up.out_channels) == (512, 512)
    branch = net.branches["f1"][0]
    assert (branch.kernel_size, branch.stride, branch.out_channels) == ((4, 4), (2, 2), 32)
    assert [type(m) for m in net.fuse[0].post] == [nn.Conv2d, nn.ReLU]


def test_released_output_is_in_tanh_range_at_the_input_size_with_full_resolution_maps():
    net = tiny_released(output_nc=1)
    out = net(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, 1, 64, 96) and out.min() >= -1 and out.max() <= 1 and out.std() > 0
    assert [tuple(a.shape) for a in net.attention_maps] == [(1, 1, 64, 96)] * 3
    with pytest.raises(ValueError, match="multiples of 32"):
        net(torch.randn(1, 3, 48, 64))


def test_released_arch_is_built_by_name_and_ignores_norm_dropout_and_ngf():
    net = build("unetpp_fusion", 3, 3, {"ngf": 16, "use_dropout": True, "mrff_arch": "released"}, NORMS["instance"])
    assert isinstance(net, ReleasedFusionGenerator) and count(net) == 25_943_430
    assert asdict(net.config) == dict(input_nc=3, output_nc=3, mrff_arch="released", mrff_fusion="nested",
                                      mrff_channels=32, mrff_released_width=64)
    with pytest.raises(ValueError, match="--mrff_arch sideways is not one of paper | released"):
        build("unetpp_fusion", 3, 3, {"mrff_arch": "sideways"}, NORMS["batch"])


# ------------------------------------------------------------------ fusion (Fig. 6, Eq. 3-4)

def test_attention_fusion_is_eq_3_and_4():
    torch.manual_seed(0)
    block = AttentionFusion(nn.Conv2d(8, 1, kernel_size=3, padding=1))  # the paper's H: one 3x3 conv
    f_i, f_next = torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    fused, alpha = block(f_i, f_next)
    expected_alpha = torch.sigmoid(block.H(torch.cat([f_i, f_next], 1)))
    torch.testing.assert_close(alpha, expected_alpha)
    torch.testing.assert_close(fused, f_i * alpha + f_next * (1 - alpha))
    with torch.no_grad():  # H == 0: alpha = 1/2, the plain mean; a large bias: alpha ~ 1, only f_i
        block.H.weight.zero_()
        block.H.bias.fill_(0.0)
        torch.testing.assert_close(block(f_i, f_next)[0], (f_i + f_next) / 2)
        block.H.bias.fill_(30.0)
        torch.testing.assert_close(block(f_i, f_next)[0], f_i)


def test_attention_maps_and_feature_weights_are_kept_detached_at_full_resolution():
    net = small()
    net(torch.randn(2, 3, 64, 96))
    assert len(net.attention_maps) == 3
    for alpha in net.attention_maps:
        assert alpha.shape == (2, 1, 64, 96)  # N x 1 x H x W: the fusion runs at the input size
        assert not alpha.requires_grad
        assert alpha.min() >= 0 and alpha.max() <= 1
        assert alpha.std() > 0  # a pixel-level map, not one weight per image
    assert [tuple(w.shape) for w in net.feature_weights] == [(2, 1, 64, 96)] * 4
    assert not any(w.requires_grad for w in net.feature_weights)
    assert [tuple(e.shape) for e in net.branch_energy] == [(2, 1, 64, 96)] * 4
    with torch.inference_mode():  # mass generation: only the four weights and the alphas are kept
        net(torch.randn(1, 3, 32, 32))
    assert net.branch_energy == () and len(net.feature_weights) == 4 and len(net.attention_maps) == 3


def test_nested_fusion_order_smallest_receptive_field_difference_first():
    net = small().eval()
    x = torch.randn(1, 3, 64, 64)
    out = net(x)
    with torch.no_grad():
        features = net.extract(x)
        f1, f2, f3, f4 = (net.branches[f"f{k}"](features[f"x0_{k}"]) for k in (1, 2, 3, 4))
        assert f1.shape == (1, 8, 64, 64)  # f_k: mrff_channels x H x W
        g1, a1 = net.fuse[0](f1, f2)
        g2, a2 = net.fuse[1](g1, f3)
        g3, a3 = net.fuse[2](g2, f4)
        torch.testing.assert_close(net.head(g3), out)
    for kept, recomputed in zip(net.attention_maps, (a1, a2, a3)):
        torch.testing.assert_close(kept, recomputed)
    # w_k: the product of the alphas along f_k's path
    w1, w2, w3, w4 = net.feature_weights
    torch.testing.assert_close(w1, a1 * a2 * a3)
    torch.testing.assert_close(w2, (1 - a1) * a2 * a3)
    torch.testing.assert_close(w3, (1 - a2) * a3)
    torch.testing.assert_close(w4, 1 - a3)
    # ... which is exactly how much of each f_k is in g3 (Eq. 4 unrolled; no post block in the paper)
    torch.testing.assert_close(g3, w1 * f1 + w2 * f2 + w3 * f3 + w4 * f4)


def test_nested_weights_of_extreme_alphas_pick_one_branch():
    ones, zeros = torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1)
    assert nested_weights((ones, ones, ones)).flatten().tolist() == [1, 0, 0, 0]
    assert nested_weights((zeros, ones, ones)).flatten().tolist() == [0, 1, 0, 0]
    assert nested_weights((ones, zeros, ones)).flatten().tolist() == [0, 0, 1, 0]
    assert nested_weights((ones, ones, zeros)).flatten().tolist() == [0, 0, 0, 1]


def tiny_released(output_nc=3, fusion="nested", seed=0):
    torch.manual_seed(seed)
    return ReleasedFusionGenerator(3, output_nc, mrff_fusion=fusion)


@pytest.mark.parametrize("arch", ["paper", "released"])
@pytest.mark.parametrize("fusion", ["nested", "average", "last"])
def test_four_feature_weights_sum_to_one_and_come_back_whole_with_with_weights(arch, fusion):
    net = small(fusion=fusion) if arch == "paper" else tiny_released(fusion=fusion)
    x = torch.randn(2, 3, 32, 64)
    out, weights = net(x, with_weights=True)
    assert out.shape == (2, 3, 32, 64) and weights.shape == (2, 4, 32, 64)
    # not detached: it is an output (DataParallel gathers it, ONNX exports it); constants need no gradient
    assert weights.requires_grad == (fusion == "nested")
    assert (weights.sum(dim=1) - 1).abs().max() < 1e-5
    torch.testing.assert_close(torch.cat(net.feature_weights, dim=1), weights.detach())
    if fusion == "nested":
        assert len(net.attention_maps) == 3 and weights.std(dim=(2, 3)).min() > 0
    else:  # the constant weights the mode implies
        expected = (0.25, 0.25, 0.25, 0.25) if fusion == "average" else (0.0, 0.0, 0.0, 1.0)
        assert net.attention_maps == ()
        assert weights[:, :, 0, 0].tolist() == [list(expected)] * 2 and weights.std(dim=(2, 3)).max() == 0
    torch.testing.assert_close(net(x), out)  # with_weights changes what is returned, not the image


def test_gradients_reach_all_four_branches_and_all_three_fusion_blocks():
    net = small()
    net(torch.randn(1, 3, 64, 64)).abs().mean().backward()
    for k in ("f1", "f2", "f3", "f4"):
        assert net.branches[k][0].weight.grad.abs().sum() > 0, k
        assert net.nodes[f"x0_{k[1]}"][0].weight.grad.abs().sum() > 0, f"X0,{k[1]}"
    for i, block in enumerate(net.fuse):
        assert block.H.weight.grad.abs().sum() > 0, f"fusion block {i + 1}"
    assert all(p.grad is not None for p in net.parameters())


# ------------------------------------------------------------------ ablation switch

def test_average_fusion_is_the_mean_of_the_four_branches_without_attention():
    net = small(fusion="average").eval()
    x = torch.randn(1, 3, 64, 64)
    out = net(x)
    assert len(net.fuse) == 0 and net.attention_maps == ()
    with torch.no_grad():
        features = net.extract(x)
        f = [net.branches[f"f{k}"](features[f"x0_{k}"]) for k in (1, 2, 3, 4)]
        torch.testing.assert_close(net.head(torch.stack(f).mean(0)), out)


def test_last_fusion_uses_only_x0_4():
    net = small(fusion="last").eval()
    x = torch.randn(1, 3, 64, 64)
    out = net(x)
    assert list(net.branches) == ["f4"] and len(net.fuse) == 0 and net.attention_maps == ()
    with torch.no_grad():
        torch.testing.assert_close(net.head(net.branches["f4"](net.extract(x)["x0_4"])), out)
    net.train()
    net(torch.randn(1, 3, 64, 64)).mean().backward()
    assert all(p.grad is not None for p in net.parameters())  # nothing built that the forward skips


def test_unknown_fusion_mode_is_refused():
    with pytest.raises(ValueError, match="--mrff_fusion sum is not one of nested | average | last"):
        small(fusion="sum")


# ------------------------------------------------------------------ host flags: norm, dropout

def test_norm_layer_follows_the_hosts_norm_and_biases_only_where_no_batchnorm_follows():
    batch, instance = small(norm="batch"), small(norm="instance")
    assert sum(isinstance(m, nn.BatchNorm2d) for m in batch.modules()) == 3 + 10 + 10 + 4  # CB, CCB, DB, f_k
    assert not any(isinstance(m, nn.BatchNorm2d) for m in instance.modules())
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in instance.modules()) == 27
    assert batch.nodes["x1_0"][0].bias is None and instance.nodes["x1_0"][0].bias is not None
    assert batch.nodes["x0_0"][0].bias is not None  # X0,0 has no normalisation after it


def test_dropout_follows_use_dropout_in_the_three_deepest_upsamplings():
    with_dropout = small(dropout=True)
    placed = {name for name, up in with_dropout.ups.items() if any(isinstance(m, nn.Dropout) for m in up)}
    assert placed == {"x4_0", "x3_0", "x3_1"}
    assert not any(isinstance(m, nn.Dropout) for m in small(dropout=False).modules())


# ------------------------------------------------------------------ registry and rebuilding

def test_registry_builds_unetpp_fusion_by_name_and_lists_names_for_unknown_ones():
    assert "unetpp_fusion" in generator_names() and GENERATORS["unetpp_fusion"].__name__ == "unetpp_fusion"
    net = build("unetpp_fusion", 3, 1, {"ngf": 4, "mrff_fusion": "last", "mrff_channels": 6}, NORMS["instance"])
    assert isinstance(net, UnetppFusionGenerator) and net.config.mrff_channels == 6
    with pytest.raises(KeyError, match="known: unetpp_fusion"):
        build("unet_pp", 3, 1, {"ngf": 4}, NORMS["batch"])
    with pytest.raises(TypeError, match="generator unetpp_fusion has no flag toy_width"):
        build("unetpp_fusion", 3, 1, {"toy_width": 6}, NORMS["batch"])


def test_generator_flags_are_read_from_parsed_or_saved_options_in_the_builders_terms():
    saved = {"netG": "unetpp_fusion", "ngf": 8, "no_dropout": True, "mrff_arch": "released", "mrff_channels": 6,
             "lr": 0.0002, "norm": "batch"}
    assert generator_flags("unetpp_fusion", saved) == {"ngf": 8, "use_dropout": False, "mrff_arch": "released",
                                                       "mrff_channels": 6}
    import argparse
    assert generator_flags("unetpp_fusion", argparse.Namespace(ngf=4, mrff_fusion="last")) == {
        "ngf": 4, "mrff_fusion": "last"}


def test_build_without_initialisation_draws_nothing_and_a_checkpoint_fills_it():
    flags = {"ngf": 4, "use_dropout": False, "mrff_fusion": "average"}
    trained = build("unetpp_fusion", 3, 1, flags, NORMS["batch"]).eval()
    torch.manual_seed(0)
    expected_draw = torch.rand(3)
    torch.manual_seed(0)
    empty = build("unetpp_fusion", 3, 1, flags, NORMS["batch"], initialise=False)
    assert torch.equal(torch.rand(3), expected_draw)          # no random number was drawn for its weights
    assert all(p.device.type == "cpu" and p.requires_grad for p in empty.parameters())
    assert all(b.device.type == "cpu" for b in empty.buffers())
    assert {k: (v.shape, v.dtype) for k, v in empty.state_dict().items()} == \
        {k: (v.shape, v.dtype) for k, v in trained.state_dict().items()}   # the same buffers, persistent as before
    empty.load_state_dict(trained.state_dict())
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(empty.eval()(x), trained(x), rtol=0, atol=0)


@pytest.mark.parametrize("arch", ["paper", "released"])
def test_config_rebuilds_a_network_that_takes_the_saved_weights(arch):
    net = small(output_nc=1, fusion="average") if arch == "paper" else tiny_released(output_nc=1, fusion="last")
    assert net.config.mrff_arch == arch
    flags = asdict(net.config)
    assert flags.pop("norm", None) is None   # set only where the host's define_G builds the network
    rebuilt = unetpp_fusion(**flags, norm_layer=NORMS["batch"])
    rebuilt.load_state_dict(net.state_dict())  # strict: same modules, same shapes
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(rebuilt.eval()(x), net.eval()(x))


def test_weights_of_another_layout_get_pytorchs_mismatch_error_which_the_host_turns_into_its_sentence():
    state = small().state_dict()
    old = {k: v for k, v in state.items() if not k.startswith("branches.")}   # fusion at H/2 after 1x1 reductions
    old.update({"reduce.f1.0.weight": torch.zeros(8, 4, 1, 1), "head.2.weight": torch.zeros(3, 8, 3, 3)})
    with pytest.raises(RuntimeError, match=r'Missing key\(s\).*"branches\.f1\.0\.weight"'):
        small().load_state_dict(old)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        tiny_released().load_state_dict(state)
