"""The bundled host's building blocks, in process: lookups and options, networks by name, GAN losses,
images, HTML, atomic saves."""
import argparse
import sys

import numpy as np
import pytest
import torch

from conftest import HOST_DIR


@pytest.fixture(scope="module")
def host():
    """The host's packages imported from HOST_DIR (models, util)."""
    sys.path.insert(0, str(HOST_DIR))
    try:
        import data
        import models
        from models import networks
        from options.train_options import TrainOptions
        from util import html, util
        from util.errors import UserError
        yield {"networks": networks, "html": html, "util": util, "models": models, "data": data,
               "TrainOptions": TrainOptions, "UserError": UserError}
    finally:
        sys.path.remove(str(HOST_DIR))


def test_models_and_datasets_are_found_by_module_name(host):
    assert host["models"].find_model_using_name("cycle_gan").__name__ == "CycleGANModel"
    assert host["models"].find_model_using_name("pix2pix").__name__ == "Pix2PixModel"
    assert host["data"].find_dataset_using_name("aligned").__name__ == "AlignedDataset"


@pytest.mark.parametrize("kind,flag", [("models", "--model"), ("data", "--dataset_mode")])
def test_an_unknown_name_is_a_user_error_listing_what_exists(host, kind, flag):
    lookup = host["models"].find_model_using_name if kind == "models" else host["data"].find_dataset_using_name
    with pytest.raises(host["UserError"]) as error:
        lookup("no_such")
    message = str(error.value)
    assert message.startswith(f"{flag} no_such does not exist")
    assert ("pix2pix" in message and "cycle_gan" in message) if kind == "models" else "unaligned" in message


def test_netG_has_no_choices_and_its_help_lists_the_generators(host):
    parser = host["TrainOptions"]().initialize(argparse.ArgumentParser())
    action = next(a for a in parser._actions if "--netG" in a.option_strings)
    assert action.choices is None and action.default == "resnet_9blocks"
    assert "resnet_9blocks | resnet_6blocks | unet_256 | unet_128" in action.help
    defaults = vars(parser.parse_args(["--dataroot", "x"]))
    assert (defaults["gpu_ids"], defaults["display_id"], defaults["display_port"], defaults["n_epochs"],
            defaults["print_freq"], defaults["save_epoch_freq"]) == ("0", 1, 8097, 100, 100, 5)


@pytest.mark.parametrize("name,size,params_m", [
    ("unet_128", 128, 41.829), ("unet_256", 256, 54.414),
    ("resnet_6blocks", 64, 7.838), ("resnet_9blocks", 64, 11.378)])
def test_generators_keep_the_image_size_and_have_the_toolkit_parameter_counts(host, name, size, params_m):
    """Counts are those the upstream toolkit prints for these generators (3 -> 3 channels, ngf 64)."""
    net = host["networks"].define_G(3, 3, 64, name, norm="batch" if name.startswith("unet") else "instance")
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 3) == params_m
    with torch.no_grad():
        out = net.eval()(torch.randn(1, 3, size, size))
    assert out.shape == (1, 3, size, size)
    assert out.abs().max() <= 1.0  # tanh head


def test_single_channel_output_keeps_the_size(host):
    net = host["networks"].define_G(3, 1, 8, "unet_128", norm="batch")
    assert net(torch.randn(2, 3, 128, 128)).shape == (2, 1, 128, 128)


def test_unknown_generator_name_lists_the_valid_ones(host):
    with pytest.raises(NotImplementedError, match="no_such_net") as error:
        host["networks"].define_G(3, 3, 8, "no_such_net")
    assert all(name in str(error.value) for name in ("resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256"))


@pytest.mark.parametrize("netD,n_layers,expected", [("basic", 3, (2, 1, 6, 6)), ("n_layers", 2, (2, 1, 14, 14)),
                                                     ("pixel", 3, (2, 1, 64, 64))])
def test_discriminators_return_one_logit_per_patch(host, netD, n_layers, expected):
    net = host["networks"].define_D(6, 8, netD, n_layers_D=n_layers, norm="batch")
    assert net(torch.randn(2, 6, 64, 64)).shape == expected


def test_gan_losses_match_their_definitions(host):
    GANLoss = host["networks"].GANLoss
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    assert GANLoss("lsgan")(logits, True).item() == pytest.approx(((logits - 1) ** 2).mean().item())
    assert GANLoss("vanilla")(logits, False).item() == pytest.approx(
        torch.nn.functional.softplus(logits).mean().item())
    assert GANLoss("wgangp")(logits, True).item() == pytest.approx(-logits.mean().item())
    with pytest.raises(NotImplementedError, match="vanilla"):
        GANLoss("hinge")


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic(host):
    critic = torch.nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8, 0.0, 0.0]]))  # |grad| = 1 everywhere
    penalty, gradients = host["networks"].cal_gradient_penalty(critic, torch.randn(3, 4), torch.randn(3, 4), "cpu")
    assert penalty.item() == pytest.approx(0.0, abs=1e-6)
    assert gradients.shape == (3, 4)


def test_init_net_normal_init_has_the_requested_spread(host):
    net = host["networks"].init_net(torch.nn.Conv2d(64, 64, 3), "normal", 0.02)
    assert net.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert net.bias.abs().max().item() == 0.0


def test_one_channel_images_become_grey(host):
    grey = host["util"].tensor2im(torch.linspace(-1, 1, 16).reshape(1, 1, 4, 4))
    assert grey.shape == (4, 4, 3) and grey.dtype == np.uint8
    assert np.array_equal(grey[..., 0], grey[..., 2]) and grey[0, 0, 0] == 0 and grey[3, 3, 0] == 255


def test_html_page_escapes_text_and_quotes_file_names(host, tmp_path):
    page = host["html"].HTML(str(tmp_path / "web"), "title <b>")
    page.add_header("<script>x</script>")
    page.add_images(['a "b" #1.png'], ["<i>"], ['a "b" #1.png'], width=64)
    page.save()
    text = (tmp_path / "web" / "index.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text and "<i>" not in text
    assert 'src="images/a%20%22b%22%20%231.png"' in text


def test_atomic_save_keeps_the_old_file_when_writing_fails(host, tmp_path):
    path = tmp_path / "latest_net_G.pth"
    host["util"].atomic_save({"w": torch.ones(2)}, str(path))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        host["util"].atomic_save({"w": Unpicklable()}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["latest_net_G.pth"]
