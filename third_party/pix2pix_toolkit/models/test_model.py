"""Generating results one way only: load a generator and run it on single images."""
from util.errors import UserError

from . import networks
from .base_model import BaseModel


class TestModel(BaseModel):
    """Visuals real, fake; network G<model_suffix> (e.g. `--model_suffix _A` loads a CycleGAN's G_A)."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        if is_train:
            raise UserError("--model test only generates results; train with --model pix2pix or cycle_gan.")
        parser.set_defaults(dataset_mode="single")
        parser.add_argument("--model_suffix", type=str, default="",
                            help="In checkpoints_dir, [epoch]_net_G[model_suffix].pth will be loaded as the generator.")
        return parser

    def __init__(self, opt):
        BaseModel.__init__(self, opt)
        self.loss_names = []
        self.visual_names = ["real", "fake"]
        self.model_names = ["G" + opt.model_suffix]
        netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm,
                                 not opt.no_dropout, opt.init_type, opt.init_gain, self.gpu_ids)
        setattr(self, "netG" + opt.model_suffix, netG)

    def set_input(self, input):
        self.real = input["A"].to(self.device)
        self.image_paths = input["A_paths"]

    def forward(self):
        self.fake = getattr(self, "netG" + self.opt.model_suffix)(self.real)

    def optimize_parameters(self):
        """Nothing to train."""
