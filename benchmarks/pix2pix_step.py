"""One pix2pix training step (G and D, the host's networks and losses) under a chosen precision.

Shared by the speed and quality benchmarks.  The step is the host's
`Pix2PixModel.optimize_parameters` written out so that forward passes and losses
run under `mrff_plugin.training.precision.Precision.autocast()`:

    fake_B = G(A)
    D step:  L_D = 0.5 * (GAN(D(A, fake_B.detach()), fake) + GAN(D(A, B), real))
    G step:  L_G = GAN(D(A, fake_B), real) + lambda_L1 * |fake_B - B|_1      (D frozen)

Networks come from the host's `define_G`/`define_D` (plugin registered, so
`unetpp_fusion` builds too), with the host's pix2pix defaults: batch norm,
dropout, PatchGAN `basic`, vanilla GAN loss, Adam(2e-4, beta1 0.5), lambda_L1 100;
Adam runs fused (`mrff_plugin.training.optim.fused_adam`), as in `--model mrff_pix2pix`.
`channels_last=True` (the default, as `--model mrff_pix2pix` trains) keeps weights
and activations in that layout; False gives the host's usual contiguous layout.
`schedule=(n_constant, n_decay)` runs the host's `--lr_policy linear` (its own `get_scheduler`)
with one step as one epoch: the learning rate stays at --lr for n_constant steps, then falls
linearly towards 0 over n_decay steps, as `--n_epochs n_constant --n_epochs_decay n_decay`.
`generator_options` (e.g. {"norm": "none", "mrff_released_width": 15}) changes the generator's options
only; the discriminator keeps batch norm.
"""
from types import SimpleNamespace

import torch

from mrff_plugin.generate.network import attach_host, build_generator
from mrff_plugin.training.optim import fused_adam
from mrff_plugin.training.precision import Precision

LAMBDA_L1 = 100.0   # pix2pix (Isola et al. 2017) and the host's --lambda_L1 default
LR, BETA1 = 2e-4, 0.5  # the host's --lr / --beta1 defaults


class Pix2PixStep:
    """G + D with their optimizers; calling it with (A, B) batches does one training step."""

    def __init__(self, netG, ngf=64, input_nc=3, output_nc=1, amp="none", mrff_fusion="nested", seed=0,
                 device="cpu", channels_last=True, ndf=64, mrff_arch="paper", schedule=None, init_type="normal",
                 generator_options=None):
        networks, _ = attach_host()
        torch.manual_seed(seed)
        options = {**dict(netG=netG, norm="batch", ngf=ngf, input_nc=input_nc, output_nc=output_nc,
                          no_dropout=False, mrff_fusion=mrff_fusion, mrff_arch=mrff_arch), **(generator_options or {})}
        self.layout = torch.channels_last if channels_last else torch.contiguous_format
        layout = dict(memory_format=self.layout)
        self.G = build_generator(networks, options)
        if init_type != "normal":   # the host's --init_type (its init_weights), in place of define_G's N(0, 0.02)
            networks.init_weights(self.G, init_type, 0.02)
        self.G = self.G.to(device, **layout)
        self.D = networks.define_D(input_nc + output_nc, ndf, "basic", 3, "batch", "normal", 0.02, []).to(
            device, **layout)
        self.gan = networks.GANLoss("vanilla").to(device)
        self.l1 = torch.nn.L1Loss()
        self.opt_G = fused_adam(torch.optim.Adam(self.G.parameters(), lr=LR, betas=(BETA1, 0.999)))
        self.opt_D = fused_adam(torch.optim.Adam(self.D.parameters(), lr=LR, betas=(BETA1, 0.999)))
        self.precision = Precision(amp, device)
        self.schedulers = []
        if schedule:
            n_constant, n_decay = schedule
            # both eras' option names (n_epochs/n_epochs_decay, niter/niter_decay)
            policy = SimpleNamespace(lr_policy="linear", epoch_count=1, n_epochs=n_constant, n_epochs_decay=n_decay,
                                     niter=n_constant, niter_decay=n_decay)
            self.schedulers = [networks.get_scheduler(o, policy) for o in (self.opt_G, self.opt_D)]

    def __call__(self, real_A, real_B):
        """One step on (N, input_nc, H, W) and (N, output_nc, H, W) batches in [-1, 1]; returns the losses."""
        amp = self.precision
        real_A = real_A.contiguous(memory_format=self.layout)
        with amp.autocast():
            fake_B = self.G(real_A)
        # D: fake pairs towards 'fake', real pairs towards 'real'
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        with amp.autocast():
            loss_D_fake = self.gan(self.D(torch.cat((real_A, fake_B.detach()), 1)), False)
            loss_D_real = self.gan(self.D(torch.cat((real_A, real_B), 1)), True)
            loss_D = 0.5 * (loss_D_fake + loss_D_real)
        amp.backward(loss_D)
        amp.step(self.opt_D)
        # G: fool the frozen D, stay close to B in L1
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        with amp.autocast():
            loss_G_GAN = self.gan(self.D(torch.cat((real_A, fake_B), 1)), True)
            loss_G_L1 = self.l1(fake_B.float(), real_B) * LAMBDA_L1
            loss_G = loss_G_GAN + loss_G_L1
        amp.backward(loss_G)
        amp.step(self.opt_G)
        amp.update()
        for scheduler in self.schedulers:
            scheduler.step()
        return {"G_GAN": loss_G_GAN.item(), "G_L1": loss_G_L1.item(),
                "D_real": loss_D_real.item(), "D_fake": loss_D_fake.item()}
