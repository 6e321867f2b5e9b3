"""`--model mrff_pix2pix`: the host's pix2pix plus the fusion generator's insides and validation.

The host finds this class as `models.mrff_pix2pix_model.MrffPix2PixModel`
(`mrff_plugin.register()` places this module under that name).  It subclasses the
host's own `Pix2PixModel` (same losses G_GAN, G_L1, D_real, D_fake, same
networks) and adds:

* visuals: after each forward, the four maps of Fig. 13-14, attention_1..attention_4
  (the weight w_k each branch f_k carries in the fused feature, 0..1, summing to
  1; `mrff_plugin.networks.fusion`), and the branches f1..f4 (Fig. 6), colour-mapped
  to RGB in [-1, 1] (`mrff_plugin.training.visuals`; the four maps share one fixed 0..1
  scale), so the host's Visdom grid, training `web/index.html` and test gallery
  show them.  The maps come back as a second output of the generator
  (`netG(x, with_weights=True)`), so they survive the classic host's multi-GPU
  DataParallel; f1..f4 are read off the module and are left out when DataParallel
  runs replicas.  A generator without them (`--netG unet_256`) shows only what it has.
* validation every `--val_freq` iterations (0 = off) on the first `--val_size`
  pairs of `--val_dataroot` (default: --dataroot) / `--val_phase`, loaded once and
  whole, and scored as `test.py` and `mrff generate` run the generator (each image
  normalised by its own statistics; `mrff_plugin.training.validation`): mean SSIM
  and PSNR (Table 3 protocol, `mrff_plugin.metrics`) go to Visdom
  (`mrff_plugin.training.monitor`), the history to `val_log.txt`, and the generator
  of the best SSIM so far to `best_net_G.pth` (written atomically,
  `mrff_plugin.durable`; `--epoch best` picks it), unless every output was one flat
  grey level (a collapsed generator, which scores a high SSIM on smooth LWIR frames:
  logged, never kept).  With `--continue_train` the
  `best_net_G.pth` already there is scored first, so only a better generator
  replaces it.  Rank 0 only.
* `curves.png` next to `loss_log.txt`: loss and validation curves, refreshed at
  every validation and every `save_networks` (so it exists when training ends).
* `--amp none|bf16`: forward passes and losses under `mrff_plugin.training.precision`.
* whole, padded test images (`kaist_aligned --preprocess pad`, whose items carry
  `unpadded_size`): the visuals are cropped back to the picture, so the test
  gallery shows real_A / fake_B / real_B (and the maps) at each image's own size.
* the host's two Adam optimizers rebuilt with PyTorch's fused kernel
  (`mrff_plugin.training.optim.fused_adam`: same update, same checkpoints, faster step),
  and G and D in channels_last (NHWC) memory layout, which oneDNN and cuDNN
  convolve faster (docs/performance.md, "Training step"); the weights and
  checkpoints are the same numbers either way.

The host calls only set_input / optimize_parameters / compute_visuals /
get_current_* / save_networks, so the iteration count lives here.
"""
import os

import torch

from data import find_dataset_using_name             # the host's, on sys.path (host contract)
from models.pix2pix_model import Pix2PixModel         # the host's, on sys.path (host contract)

from ..durable import atomic_write
from ..errors import MrffError, OptionError, in_host_family
from ..networks.fusion import FusionGenerator
from ..visual_names import ATTENTION_NAMES, BRANCH_NAMES
from .monitor import MetricMonitor
from .optim import fused_adam
from .precision import Precision, PrecisionError
from .validation import held_out_options, inference_copy, is_flat, score_pairs
from .visuals import branch_map, colour_map, plot_curves, read_loss_log

UserError = in_host_family(OptionError)   # bundled host: printed as one line, exit 2

CURVES_FILE = "curves.png"
VAL_LOG_FILE = "val_log.txt"
BEST_FILE = "best_net_G.pth"                          # `--epoch best` (test.py, mrff generate)
# fp16 needs its losses scaled before backward, and the host's backward_D/G call backward themselves.
TRAIN_AMP_MODES = ("none", "bf16")


def is_main_process():
    """False on every torch.distributed rank but 0 (DDP under torchrun, in either host era)."""
    import torch.distributed as dist
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class MrffPix2PixModel(Pix2PixModel):
    """pix2pix with attention/branch visuals, periodic validation and a curve PNG (module docstring)."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        """pix2pix's options, defaults --netG unetpp_fusion --dataset_mode kaist_aligned, plus validation."""
        parser = Pix2PixModel.modify_commandline_options(parser, is_train)
        parser.set_defaults(netG="unetpp_fusion", dataset_mode="kaist_aligned")
        if is_train:
            parser.add_argument("--val_freq", type=int, default=0,
                                help="validate every K iterations on held-out pairs (0 = off)")
            parser.add_argument("--val_dataroot", default=None, help="held-out pairs (default: --dataroot)")
            parser.add_argument("--val_phase", default="test", help="phase of the held-out pairs")
            parser.add_argument("--val_size", type=int, default=4, help="how many held-out pairs to score")
            parser.add_argument("--amp", default="none", choices=TRAIN_AMP_MODES,
                                help="mixed precision of forward passes and losses: none | bf16")
        return parser

    def __init__(self, opt):
        Pix2PixModel.__init__(self, opt)
        self.base_visual_names = list(self.visual_names)
        self.iterations = 0
        self.feature_weights = None    # (N, 4, H, W) w1..w4 of the last forward, detached
        self.history = []              # (iteration, mean SSIM, mean PSNR) per validation
        self.best_ssim = None          # SSIM of best_net_G.pth; None until the first validation
        self.val_pairs = None          # the held-out dataset items, loaded once
        self.val_sets = None           # {'network': Inception or None, 'reals': {index: features}}: FID / KID
        if not self.isTrain:
            return
        self.optimizer_G, self.optimizer_D = fused_adam(self.optimizer_G), fused_adam(self.optimizer_D)
        self.optimizers = [self.optimizer_G, self.optimizer_D]
        for net in (self.netG, self.netD):
            if not isinstance(net, torch.nn.parallel.DistributedDataParallel):  # DDP's buckets keep their layout
                net.to(memory_format=torch.channels_last)
        try:
            self.precision = Precision(opt.amp, self.device)
        except PrecisionError as exc:
            raise UserError(str(exc)) from None
        self.main = is_main_process()
        self.monitor = MetricMonitor(opt, active=self.main and opt.val_freq > 0)
        if opt.val_freq > 0 and self.main:
            self.val_pairs = self._load_validation_pairs()

    # ------------------------------------------------------------------ visuals

    def set_input(self, input):
        """The host's set_input; keeps the batch's `unpadded_size` (N, 2) when the dataset gives one."""
        Pix2PixModel.set_input(self, input)
        self.unpadded_size = input.get("unpadded_size") if isinstance(input, dict) else None

    def _crop_padding(self, branches):
        """real_A, fake_B, real_B, the feature weights and `branches` cut to the first image's unpadded
        (H, W) (galleries show the first image); the branches are returned cut."""
        size = getattr(self, "unpadded_size", None)
        if size is None or tuple(int(v) for v in size[0]) == tuple(self.fake_B.shape[-2:]):
            return branches
        height, width = (int(v) for v in size[0])
        for name in ("real_A", "fake_B", "real_B"):
            setattr(self, name, getattr(self, name)[..., :height, :width])
        if self.feature_weights is not None:
            self.feature_weights = self.feature_weights[..., :height, :width]
        return tuple(None if f is None else f[..., :height, :width] for f in branches)

    def _generator(self):
        """netG without a DataParallel / DistributedDataParallel wrapper."""
        return getattr(self.netG, "module", self.netG)

    def forward(self):
        """G(A), and for the fusion generator its four feature weights as a second output (DataParallel gathers it)."""
        if not isinstance(self._generator(), FusionGenerator):
            self.feature_weights = None
            return Pix2PixModel.forward(self)
        self.fake_B, weights = self.netG(self.real_A, with_weights=True)  # (N, C, H, W), (N, 4, H, W)
        self.feature_weights = weights.detach()

    def _runs_replicas(self):
        """True when DataParallel runs copies of G on several devices (attributes set on them are lost)."""
        return isinstance(self.netG, torch.nn.DataParallel) and len(self.netG.device_ids) > 1

    def compute_visuals(self):
        """Colour-map the four feature weights and the branches of the last forward (N, 3, H, W)."""
        generator = self._generator()
        self.visual_names = list(self.base_visual_names)
        branches = () if self._runs_replicas() else getattr(generator, "branch_energy", ())
        if len(branches) == 1:   # --mrff_fusion last keeps only f4
            branches = (None,) * (len(BRANCH_NAMES) - 1) + tuple(branches)
        branches = self._crop_padding(branches)
        size = self.fake_B.shape[-2:]
        weights = () if self.feature_weights is None else self.feature_weights.split(1, dim=1)
        for name, weight in zip(ATTENTION_NAMES, weights):
            setattr(self, name, colour_map(weight, size))
            self.visual_names.append(name)
        for name, f_i in zip(BRANCH_NAMES, branches):
            if f_i is not None:
                setattr(self, name, branch_map(f_i, size))
                self.visual_names.append(name)

    # ------------------------------------------------------------------ training step

    def optimize_parameters(self):
        """The host's D step then G step, with forward passes and losses under --amp; then maybe validate."""
        with self.precision.autocast():
            self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad()
        with self.precision.autocast():
            self.backward_D()     # the host's losses; bf16 needs no gradient scaling
        self.precision.step(self.optimizer_D)
        self.set_requires_grad(self.netD, False)
        self.optimizer_G.zero_grad()
        with self.precision.autocast():
            self.backward_G()
        self.precision.step(self.optimizer_G)
        self.precision.update()
        self.iterations += 1
        if self.val_pairs is not None and self.iterations % self.opt.val_freq == 0:
            self.validate()

    # ------------------------------------------------------------------ validation

    def _load_validation_pairs(self):
        """The first --val_size held-out pairs, whole (validation.held_out_options): a list of dataset items."""
        opt = held_out_options(self.opt)
        if self.opt.val_size < 1:
            raise UserError(f"--val_size {self.opt.val_size} selects no pairs; pass --val_size 1 or more.")
        try:
            dataset = find_dataset_using_name(opt.dataset_mode)(opt)
        except MrffError as exc:   # the dataset's own sentence
            raise UserError(f"the held-out pairs for --val_freq (--val_dataroot {opt.dataroot}, --val_phase "
                            f"{opt.phase}) cannot be read: {exc}") from None
        if len(dataset) == 0:
            raise UserError(f"--val_freq {self.opt.val_freq}: no held-out pairs in {opt.dataroot} (phase "
                            f"'{opt.phase}'); pass --val_dataroot/--val_phase with pairs, or --val_freq 0.")
        return [dataset[i] for i in range(min(len(dataset), self.opt.val_size))]

    def _score(self, state_dict=None):
        """{'SSIM', 'PSNR'} means, and 'FID', 'KID' of the set where the Inception network is installed, the pair
        count, and whether every output was flat, of the generator (or of `state_dict` loaded into a copy of it) on
        the held-out pairs, run as test.py / mrff generate run it (validation.py); the real images' features are
        computed once."""
        from ..set_scores import SetScores, load_network
        net = inference_copy(self._generator(), self.device, state_dict)
        if self.val_sets is None:   # once per training: the network, and the reals' features as they come
            network, note = load_network()
            self.val_sets = {"network": network, "reals": {}}
            if note:
                self._log(note)
        sets = SetScores(self.val_sets["network"], known_reals=self.val_sets["reals"])   # no network: no figures
        ssim, psnr, spread = score_pairs(net, self.val_pairs, self.opt.netG, self.opt.direction,
                                         self.precision.autocast, sets)
        scores = {"SSIM": float(ssim.mean()), "PSNR": float(psnr.mean())}
        scores.update({k: v for k, v in sets.scores().items() if k in ("FID", "KID")})
        return scores, len(ssim), is_flat(spread)

    def _log(self, line):
        print(line, flush=True)
        with open(os.path.join(self.save_dir, VAL_LOG_FILE), "a") as log_file:
            log_file.write(line + "\n")

    def _restore_best(self):
        """The SSIM of the best_net_G.pth a resumed run finds (scored now, on the same held-out pairs), else -inf."""
        path = os.path.join(self.save_dir, BEST_FILE)
        if not (self.opt.continue_train and os.path.isfile(path)):
            return float("-inf")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            scores, count, flat = self._score(saved)
        except Exception as exc:   # unreadable, or another network's: the first validation replaces it
            self._log(f"resumed: {path} cannot be scored ({type(exc).__name__}); the next validation replaces it")
            return float("-inf")
        if flat:
            self._log(f"(iters: {self.iterations}) resumed: {BEST_FILE} writes one flat grey level for every "
                      f"held-out image; the next validation with detail replaces it")
            return float("-inf")
        self._log(f"(iters: {self.iterations}) resumed: {BEST_FILE} scores SSIM {scores['SSIM']:.4f} PSNR "
                  f"{scores['PSNR']:.2f} dB on the {count} held-out pairs; only a higher SSIM replaces it")
        return scores["SSIM"]

    def validate(self):
        """Score G on the held-out pairs as users run it; log, plot, keep the best G."""
        if self.best_ssim is None:
            self.best_ssim = self._restore_best()
        scores, count, flat = self._score()
        self.history.append((self.iterations, scores["SSIM"], scores["PSNR"]))
        better = scores["SSIM"] > self.best_ssim and not flat
        sets = f" FID {scores['FID']:.2f} KID {scores['KID']:.4f}" if "FID" in scores else ""
        self._log(f"(iters: {self.iterations}) validation on {count} pairs: SSIM {scores['SSIM']:.4f} PSNR "
                  f"{scores['PSNR']:.2f} dB{sets}" + (f" -> {BEST_FILE}" if better else "")
                  + (f"; every output is one flat grey level (the generator has collapsed): not kept as {BEST_FILE}"
                     if flat else ""))
        self.monitor.plot(self.iterations, scores)
        if better:
            self.best_ssim = scores["SSIM"]
            self._save_best()
        self.write_curves()
        return scores

    def _save_best(self):
        """`best_net_G.pth`: the generator's weights on the CPU, as the host saves them, written atomically."""
        names, self.model_names = self.model_names, []
        try:   # the host's own first-save duties (the bundled host sets an earlier run's files aside), no file
            Pix2PixModel.save_networks(self, "best")
        finally:
            self.model_names = names
        weights = {key: value.detach().cpu() for key, value in self._generator().state_dict().items()}
        with atomic_write(os.path.join(self.save_dir, BEST_FILE)) as handle:
            torch.save(weights, handle)

    # ------------------------------------------------------------------ curves

    def write_curves(self):
        """Refresh `curves.png` next to `loss_log.txt` (rank 0, training only)."""
        if not self.isTrain or not is_main_process():
            return None
        os.makedirs(self.save_dir, exist_ok=True)
        rows = read_loss_log(os.path.join(self.save_dir, "loss_log.txt"))
        return plot_curves(os.path.join(self.save_dir, CURVES_FILE), rows, self.history)

    def save_networks(self, epoch):
        """The host's checkpoints, then a fresh curve PNG."""
        Pix2PixModel.save_networks(self, epoch)
        self.write_curves()
