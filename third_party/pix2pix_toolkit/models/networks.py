"""Building networks by name, initialising them, GAN objectives and learning-rate schedules.

Models build their networks through `networks.define_G(...)` / `networks.define_D(...)`
(looked up on this module at call time, so a plugin may wrap them).  Both return
a ready network: weights initialised, moved to the first of `gpu_ids`, wrapped in
DataParallel for several GPUs.
"""
import functools

import torch
import torch.nn as nn
from torch.optim import lr_scheduler

from .discriminators import NLayerDiscriminator, PixelDiscriminator
from .generators import ResnetBlock, ResnetGenerator, UnetGenerator  # noqa: F401 (re-exported)

GENERATORS = {
    "resnet_9blocks": lambda i, o, ngf, norm, drop: ResnetGenerator(i, o, ngf, norm, drop, n_blocks=9),
    "resnet_6blocks": lambda i, o, ngf, norm, drop: ResnetGenerator(i, o, ngf, norm, drop, n_blocks=6),
    "unet_128": lambda i, o, ngf, norm, drop: UnetGenerator(i, o, 7, ngf, norm, drop),
    "unet_256": lambda i, o, ngf, norm, drop: UnetGenerator(i, o, 8, ngf, norm, drop),
}
DISCRIMINATORS = ("basic", "n_layers", "pixel")
NORMS = ("batch", "instance", "none")


class Identity(nn.Module):
    """Returns its input (the 'none' normalisation)."""

    def forward(self, x):
        return x


def get_norm_layer(norm_type="instance"):
    """'batch' | 'instance' | 'none' -> a callable num_features -> normalisation module.

    BatchNorm learns an affine map and tracks running statistics; InstanceNorm
    does neither (as in pix2pix/CycleGAN).
    """
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "none":
        return lambda num_features: Identity()
    raise NotImplementedError(f"normalization layer [{norm_type}] is not found; pass --norm with one of: "
                              f"{', '.join(NORMS)}")


def get_scheduler(optimizer, opt):
    """Learning-rate schedule for `optimizer` from `--lr_policy`, stepped once per epoch.

    linear: constant for `n_epochs`, then linear to zero over `n_epochs_decay`
    (counting from `epoch_count`); step: x0.1 every `lr_decay_iters` epochs;
    plateau: x0.2 when the metric stalls; cosine: cosine to zero over `n_epochs`.
    """
    if opt.lr_policy == "linear":
        def lambda_rule(epoch):
            return 1.0 - max(0, epoch + opt.epoch_count - opt.n_epochs) / float(opt.n_epochs_decay + 1)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    if opt.lr_policy == "step":
        return lr_scheduler.StepLR(optimizer, step_size=opt.lr_decay_iters, gamma=0.1)
    if opt.lr_policy == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    if opt.lr_policy == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt.n_epochs, eta_min=0)
    raise NotImplementedError(f"learning rate policy [{opt.lr_policy}] is not implemented; "
                              f"pass --lr_policy linear, step, plateau or cosine")


def init_weights(net, init_type="normal", init_gain=0.02):
    """Initialise conv/linear weights (normal | xavier | kaiming | orthogonal), zero biases;
    BatchNorm weights ~ N(1, init_gain), biases 0."""
    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, "weight") and m.weight is not None and ("Conv" in classname or "Linear" in classname):
            if init_type == "normal":
                nn.init.normal_(m.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(m.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif init_type == "orthogonal":
                nn.init.orthogonal_(m.weight, gain=init_gain)
            else:
                raise NotImplementedError(f"initialization method [{init_type}] is not implemented; "
                                          f"pass --init_type normal, xavier, kaiming or orthogonal")
            if getattr(m, "bias", None) is not None:
                nn.init.constant_(m.bias, 0.0)
        elif "BatchNorm2d" in classname:
            nn.init.normal_(m.weight, 1.0, init_gain)
            nn.init.constant_(m.bias, 0.0)

    print(f"initialize network with {init_type}")
    net.apply(init_func)


def init_net(net, init_type="normal", init_gain=0.02, gpu_ids=[]):
    """Initialise `net`, move it to gpu_ids[0] (CPU when empty), DataParallel for > 1 GPU."""
    if gpu_ids:
        net.to(gpu_ids[0])
        if len(gpu_ids) > 1:
            net = torch.nn.DataParallel(net, gpu_ids)
    init_weights(net, init_type, init_gain=init_gain)
    return net


def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
             init_gain=0.02, gpu_ids=[]):
    """Build the generator named `netG` (see GENERATORS) and return it initialised and placed.

    Maps (N, input_nc, H, W) -> (N, output_nc, H, W) in [-1, 1].  An unknown name
    raises NotImplementedError listing the valid ones.
    """
    if netG not in GENERATORS:
        raise NotImplementedError(f"Generator model name [{netG}] is not recognized; "
                                  f"pass --netG with one of: {', '.join(GENERATORS)}")
    net = GENERATORS[netG](input_nc, output_nc, ngf, get_norm_layer(norm_type=norm), use_dropout)
    return init_net(net, init_type, init_gain, gpu_ids)


def define_D(input_nc, ndf, netD, n_layers_D=3, norm="batch", init_type="normal", init_gain=0.02, gpu_ids=[]):
    """Build the discriminator named `netD`: 'basic' (70x70 PatchGAN), 'n_layers' (n_layers_D
    stride-2 layers) or 'pixel' (1x1); returns (N, 1, h, w) logits, initialised and placed."""
    norm_layer = get_norm_layer(norm_type=norm)
    if netD == "basic":
        net = NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_layer=norm_layer)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)
    else:
        raise NotImplementedError(f"Discriminator model name [{netD}] is not recognized; "
                                  f"pass --netD with one of: {', '.join(DISCRIMINATORS)}")
    return init_net(net, init_type, init_gain, gpu_ids)


class GANLoss(nn.Module):
    """The adversarial objective for discriminator logits of any shape.

    vanilla: binary cross-entropy on logits (Goodfellow et al. 2014);
    lsgan: mean squared error to the label (Mao et al. 2017);
    wgangp: -mean for real, +mean for fake (Gulrajani et al. 2017; pair it with
    cal_gradient_penalty).
    """

    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.gan_mode = gan_mode
        if gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        elif gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        elif gan_mode == "wgangp":
            self.loss = None
        else:
            raise NotImplementedError(f"gan mode {gan_mode} not implemented; pass --gan_mode vanilla, lsgan or wgangp")

    def get_target_tensor(self, prediction, target_is_real):
        """A tensor of the real or fake label with the shape of `prediction`."""
        target = self.real_label if target_is_real else self.fake_label
        return target.expand_as(prediction)

    def __call__(self, prediction, target_is_real):
        """Scalar loss for `prediction` being judged real (target_is_real) or fake."""
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        return self.loss(prediction, self.get_target_tensor(prediction, target_is_real))


def cal_gradient_penalty(netD, real_data, fake_data, device, type="mixed", constant=1.0, lambda_gp=10.0):
    """WGAN-GP penalty lambda_gp * E[(||grad_x D(x)||_2 - constant)^2] (Gulrajani et al. 2017).

    x is the real data ('real'), the fake data ('fake') or a random per-sample
    interpolation between them ('mixed').  Returns (penalty, gradients); the
    penalty is 0.0 and gradients None when lambda_gp is 0.
    """
    if lambda_gp <= 0.0:
        return 0.0, None
    if type == "real":
        interpolates = real_data
    elif type == "fake":
        interpolates = fake_data
    elif type == "mixed":
        alpha = torch.rand(real_data.shape[0], *[1] * (real_data.dim() - 1), device=device)  # one per sample
        interpolates = alpha * real_data + (1 - alpha) * fake_data
    else:
        raise NotImplementedError(f"{type} not implemented; use real | fake | mixed")
    interpolates = interpolates.detach().requires_grad_(True)
    disc = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc, inputs=interpolates, grad_outputs=torch.ones_like(disc),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.reshape(real_data.size(0), -1)
    penalty = (((gradients + 1e-16).norm(2, dim=1) - constant) ** 2).mean() * lambda_gp
    return penalty, gradients
