"""pix2pix (Isola et al., CVPR 2017): a conditional GAN from paired images A -> B.

Objective: G minimises GAN(D(A, G(A)) is real) + lambda_L1 * |G(A) - B|_1;
D (a PatchGAN over the concatenated pair) tells (A, B) from (A, G(A)).
"""
import torch

from . import networks
from .base_model import BaseModel


class Pix2PixModel(BaseModel):
    """Losses G_GAN, G_L1, D_real, D_fake; visuals real_A, fake_B, real_B; networks G (and D)."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        """pix2pix defaults: batch norm, U-Net 256, aligned data; vanilla GAN, no image pool, lambda_L1 100."""
        parser.set_defaults(norm="batch", netG="unet_256", dataset_mode="aligned")
        if is_train:
            parser.set_defaults(pool_size=0, gan_mode="vanilla")
            parser.add_argument("--lambda_L1", type=float, default=100.0, help="weight for L1 loss")
        return parser

    def __init__(self, opt):
        BaseModel.__init__(self, opt)
        self.loss_names = ["G_GAN", "G_L1", "D_real", "D_fake"]
        self.visual_names = ["real_A", "fake_B", "real_B"]
        self.model_names = ["G", "D"] if self.isTrain else ["G"]
        self.netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm,
                                      not opt.no_dropout, opt.init_type, opt.init_gain, self.gpu_ids)
        if self.isTrain:  # D sees the input and the (real or fake) output stacked on channels
            self.netD = networks.define_D(opt.input_nc + opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D,
                                          opt.norm, opt.init_type, opt.init_gain, self.gpu_ids)
            self.criterionGAN = networks.GANLoss(opt.gan_mode).to(self.device)
            self.criterionL1 = torch.nn.L1Loss()
            self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
            self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
            self.optimizers = [self.optimizer_G, self.optimizer_D]

    def set_input(self, input):
        """Take A (or B with --direction BtoA) as the input and the other as the target."""
        AtoB = self.opt.direction == "AtoB"
        self.real_A = input["A" if AtoB else "B"].to(self.device)
        self.real_B = input["B" if AtoB else "A"].to(self.device)
        self.image_paths = input["A_paths" if AtoB else "B_paths"]

    def forward(self):
        self.fake_B = self.netG(self.real_A)  # G(A)

    def backward_D(self):
        """D loss: fake pairs towards 'fake', real pairs towards 'real', averaged."""
        fake_AB = torch.cat((self.real_A, self.fake_B), 1).detach()
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        self.loss_D_fake = self.criterionGAN(self.netD(fake_AB), False)
        self.loss_D_real = self.criterionGAN(self.netD(real_AB), True)
        self.loss_D = (self.loss_D_fake + self.loss_D_real) * 0.5
        if self.opt.gan_mode == "wgangp":
            penalty, _ = networks.cal_gradient_penalty(self.netD, real_AB, fake_AB, self.device)
            self.loss_D = self.loss_D + penalty
        self.loss_D.backward()

    def backward_G(self):
        """G loss: fool D, and stay close to B in L1."""
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        self.loss_G_GAN = self.criterionGAN(self.netD(fake_AB), True)
        self.loss_G_L1 = self.criterionL1(self.fake_B, self.real_B) * self.opt.lambda_L1
        self.loss_G = self.loss_G_GAN + self.loss_G_L1
        self.loss_G.backward()

    def optimize_parameters(self):
        self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad()
        self.backward_D()
        self.optimizer_D.step()
        self.set_requires_grad(self.netD, False)  # D is fixed while G learns
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.optimizer_G.step()
