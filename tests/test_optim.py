"""mrff_plugin.training.optim.fused_adam: the fused kernel gives the host's Adam update, and only replaces a fresh Adam."""
import torch

from mrff_plugin.training.optim import fused_adam


def _net():
    # no bias before BatchNorm (as the host's networks): its gradient is rounding noise, which Adam amplifies
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, bias=False), torch.nn.BatchNorm2d(8), torch.nn.Conv2d(8, 1, 1))


def _pair(seed=0):
    torch.manual_seed(seed)
    net, twin = _net(), _net()
    twin.load_state_dict(net.state_dict())
    return net, twin


def test_fused_adam_keeps_hyper_parameters_and_the_update():
    net, twin = _pair()
    plain = torch.optim.Adam(twin.parameters(), lr=2e-4, betas=(0.5, 0.999))   # the host's pix2pix call
    fused = fused_adam(torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    group = fused.param_groups[0]
    assert group["fused"] is True and group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999)
    assert [p for p in group["params"]] == list(net.parameters())
    x = torch.randn(4, 3, 16, 16)
    for _ in range(10):
        for model, optimizer in ((net, fused), (twin, plain)):
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
    for a, b in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert not torch.equal(net[0].weight, _pair()[0][0].weight)   # the parameters did move
    # the state dict loads into a plain Adam (checkpoints stay interchangeable)
    torch.optim.Adam(twin.parameters(), lr=2e-4).load_state_dict(fused.state_dict())


def test_fused_adam_leaves_other_optimizers_and_stepped_ones_alone():
    net, _ = _pair()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    assert fused_adam(sgd) is sgd
    adam = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    adam.step()
    assert fused_adam(adam) is adam
