"""Options shared by train.py and test.py, and the two-stage parse with model/dataset hooks.

Parsing happens in two stages, as in the toolkit users know: first the base
options decide `--model` and `--dataset_mode`; then that model class's and that
dataset class's static `modify_commandline_options(parser, is_train)` may add
flags and change defaults; then the full command line is parsed.
"""
import argparse
import os
import sys

import torch

import data
import models
from util import distributed, run_lock, util
from util.errors import UserError

GENERATOR_NAMES = "resnet_9blocks | resnet_6blocks | unet_256 | unet_128"


class BaseOptions:
    """Defines, parses, prints and saves the options; `parse()` returns the namespace."""

    def __init__(self):
        self.initialized = False

    def initialize(self, parser):
        """Add the options every script shares."""
        # basic parameters
        parser.add_argument("--dataroot", required=True,
                            help="path to images (should have subfolders trainA, trainB, valA, valB, etc)")
        parser.add_argument("--name", type=str, default="experiment_name",
                            help="name of the experiment; decides where samples and models are stored")
        parser.add_argument("--gpu_ids", type=str, default="0",
                            help="gpu ids: e.g. 0  0,1,2  0,2; use -1 for CPU (CPU is also used when no GPU exists)")
        parser.add_argument("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
        # model parameters
        parser.add_argument("--model", type=str, default="cycle_gan",
                            help="chooses which model to use: cycle_gan | pix2pix | test | any models/<name>_model.py")
        parser.add_argument("--input_nc", type=int, default=3,
                            help="# of input image channels: 3 for RGB and 1 for grayscale")
        parser.add_argument("--output_nc", type=int, default=3,
                            help="# of output image channels: 3 for RGB and 1 for grayscale")
        parser.add_argument("--ngf", type=int, default=64, help="# of gen filters in the last conv layer")
        parser.add_argument("--ndf", type=int, default=64, help="# of discrim filters in the first conv layer")
        parser.add_argument("--netD", type=str, default="basic",
                            help="specify discriminator architecture: basic | n_layers | pixel. "
                                 "The basic model is a 70x70 PatchGAN; n_layers allows you to specify "
                                 "the layers in the discriminator")
        parser.add_argument("--netG", type=str, default="resnet_9blocks",
                            help=f"specify generator architecture: {GENERATOR_NAMES}")
        parser.add_argument("--n_layers_D", type=int, default=3, help="only used if netD==n_layers")
        parser.add_argument("--norm", type=str, default="instance",
                            help="instance normalization or batch normalization [instance | batch | none]")
        parser.add_argument("--init_type", type=str, default="normal",
                            help="network initialization [normal | xavier | kaiming | orthogonal]")
        parser.add_argument("--init_gain", type=float, default=0.02,
                            help="scaling factor for normal, xavier and orthogonal.")
        parser.add_argument("--no_dropout", action="store_true", help="no dropout for the generator")
        # dataset parameters
        parser.add_argument("--dataset_mode", type=str, default="unaligned",
                            help="chooses how datasets are loaded: unaligned | aligned | single | "
                                 "any data/<name>_dataset.py")
        parser.add_argument("--direction", type=str, default="AtoB", help="AtoB or BtoA")
        parser.add_argument("--serial_batches", action="store_true",
                            help="if true, takes images in order to make batches, otherwise takes them randomly")
        parser.add_argument("--num_threads", default=4, type=int, help="# threads for loading data")
        parser.add_argument("--batch_size", type=int, default=1, help="input batch size")
        parser.add_argument("--load_size", type=int, default=286, help="scale images to this size")
        parser.add_argument("--crop_size", type=int, default=256, help="then crop to this size")
        parser.add_argument("--max_dataset_size", type=int, default=float("inf"),
                            help="Maximum number of samples allowed per dataset. If the dataset directory "
                                 "contains more than max_dataset_size, only a subset is loaded.")
        parser.add_argument("--preprocess", type=str, default="resize_and_crop",
                            help="scaling and cropping of images at load time "
                                 "[resize_and_crop | crop | scale_width | scale_width_and_crop | none]")
        parser.add_argument("--no_flip", action="store_true",
                            help="if specified, do not flip the images for data augmentation")
        parser.add_argument("--display_winsize", type=int, default=256,
                            help="display window size for both visdom and HTML")
        # additional parameters
        parser.add_argument("--epoch", type=str, default="latest",
                            help="which epoch to load? set to latest to use latest cached model")
        parser.add_argument("--load_iter", type=int, default=0,
                            help="which iteration to load? if load_iter > 0, the code will load models "
                                 "by iter_[load_iter]; otherwise, the code will load models by [epoch]")
        parser.add_argument("--verbose", action="store_true", help="if specified, print more debugging information")
        parser.add_argument("--suffix", default="", type=str,
                            help="customized suffix: opt.name = opt.name + suffix: e.g., {model}_{netG}_size{load_size}")
        self.initialized = True
        return parser

    def gather_options(self):
        """Parse in two stages so the chosen model and dataset can add their own flags."""
        parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        parser = self.initialize(parser)
        opt, _ = parser.parse_known_args()
        parser = models.get_option_setter(opt.model)(parser, self.isTrain)
        opt, _ = parser.parse_known_args()  # the model may have changed --dataset_mode's default
        parser = data.get_option_setter(opt.dataset_mode)(parser, self.isTrain)
        self.parser = parser
        return parser.parse_args()

    def print_options(self, opt):
        """Print all options (marking non-defaults) and save them as `<phase>_opt.txt` (rank 0 only)."""
        lines = ["----------------- Options ---------------"]
        for key, value in sorted(vars(opt).items()):
            default = self.parser.get_default(key)
            comment = f"\t[default: {default}]" if value != default else ""
            lines.append(f"{key:>25}: {str(value):<30}{comment}")
        lines.append("----------------- End -------------------")
        if not distributed.is_main_process():
            return
        message = "\n".join(lines)
        expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if self.isTrain:  # one training run per run folder, taken before anything in it is written
            util.require_writable_dir(expr_dir, "--checkpoints_dir")
            run_lock.lock_run_folder(expr_dir)
        print(message)
        try:
            os.makedirs(expr_dir, exist_ok=True)
            with open(os.path.join(expr_dir, f"{opt.phase}_opt.txt"), "wt") as opt_file:
                opt_file.write(message + "\n")
        except OSError as exc:  # testing only reads the run folder: a read-only one is fine
            print(f"note: {opt.phase}_opt.txt not written ({exc.strerror}); {expr_dir} is only read.",
                  file=sys.stderr, flush=True)

    def parse(self):
        """Parse the command line, settle the devices, print and save the options."""
        opt = self.gather_options()
        opt.isTrain = self.isTrain
        if opt.suffix:
            opt.name = opt.name + "_" + opt.suffix.format(**vars(opt))
        check_paths(opt)
        self.print_options(opt)
        opt.gpu_ids = resolve_gpu_ids(opt.gpu_ids)
        self.opt = opt
        return opt


def walked_folders(opt):
    """The folders whose images (recursively) the host's own dataset of --dataset_mode reads."""
    if opt.dataset_mode == "aligned":
        return [os.path.join(opt.dataroot, opt.phase)]
    if opt.dataset_mode == "unaligned":
        return [os.path.join(opt.dataroot, opt.phase + side) for side in ("A", "B")]
    return [opt.dataroot] if opt.dataset_mode == "single" else []


def check_paths(opt):
    """UserError for a --dataroot that is a file, or an output folder that lies inside a folder the dataset
    reads (its images would be read as data by the next run)."""
    if os.path.isfile(opt.dataroot):
        raise UserError(f"--dataroot {opt.dataroot} is a file; pass the folder that holds the '{opt.phase}' "
                        f"folder of images.")
    flag, out = ("--checkpoints_dir", opt.checkpoints_dir) if opt.isTrain else ("--results_dir", opt.results_dir)
    run = os.path.realpath(os.path.join(out, opt.name))
    for folder in walked_folders(opt):
        read = os.path.realpath(folder)
        if os.path.commonpath([read, run]) == read:
            raise UserError(f"{flag} {out} puts the run folder {run} inside {folder}, whose images are all "
                            f"read as data; pass a {flag} outside it.")


def resolve_gpu_ids(text):
    """'0,1' -> [0, 1]; '-1' -> [] (CPU).  Without CUDA: [] and one notice.

    Under torchrun each process keeps the single device of its LOCAL_RANK.
    """
    gpu_ids = [int(part) for part in str(text).split(",") if part.strip() and int(part) >= 0]
    if gpu_ids and not torch.cuda.is_available():
        if distributed.is_main_process():
            print(f"Note: --gpu_ids {text} was given but no CUDA device is available; running on CPU.",
                  file=sys.stderr, flush=True)
        return []
    if gpu_ids and distributed.world_size_from_env() > 1:
        gpu_ids = [gpu_ids[distributed.local_rank_from_env() % len(gpu_ids)]]
    if gpu_ids:
        torch.cuda.set_device(gpu_ids[0])
    return gpu_ids
