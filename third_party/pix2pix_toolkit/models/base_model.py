"""The base class of every model: device, networks by name, setup, saving/loading, schedules.

A model subclass defines `loss_names`, `visual_names`, `model_names` (networks are
the attributes `net<name>`), its optimizers, and `set_input`, `forward`,
`optimize_parameters`; the rest of the training and test machinery lives here.
"""
import os
import sys
from abc import ABC, abstractmethod
from collections import OrderedDict

import torch

from util import checkpoint, distributed, util
from util.errors import UserError

from . import networks


class BaseModel(ABC):
    """See the module docstring; `opt` is the parsed option namespace."""

    def __init__(self, opt):
        self.opt = opt
        self.gpu_ids = opt.gpu_ids
        self.isTrain = opt.isTrain
        self.device = torch.device(f"cuda:{self.gpu_ids[0]}") if self.gpu_ids else torch.device("cpu")
        self.save_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if opt.preprocess != "scale_width":  # fixed input sizes: let cuDNN pick the fastest kernels
            torch.backends.cudnn.benchmark = True
        self.loss_names = []
        self.model_names = []
        self.visual_names = []
        self.optimizers = []
        self.schedulers = []
        self.image_paths = []
        self.metric = 0  # used by the 'plateau' learning-rate policy
        self.resumed_state = None  # the `<epoch>_state.pth` dict restored by setup(), if any
        self._complete_labels = set()  # checkpoint labels known to hold a complete set
        self._fresh_run = False

    @staticmethod
    def modify_commandline_options(parser, is_train):
        """Add model-specific options or change defaults; return the parser."""
        return parser

    @abstractmethod
    def set_input(self, input):
        """Unpack a batch from the data loader onto the device."""

    @abstractmethod
    def forward(self):
        """Run the networks; fills the visual attributes."""

    @abstractmethod
    def optimize_parameters(self):
        """One training step: forward, losses, backward, optimizer steps."""

    # ---------------------------------------------------------------- set-up
    def setup(self, opt):
        """Create schedulers, load weights when testing or continuing, wrap for DDP, print sizes.

        With --continue_train the optimizer and scheduler states saved beside the
        weights (`<epoch>_state.pth`) are restored as well and kept in
        `self.resumed_state`.
        """
        if self.isTrain:
            self.schedulers = [networks.get_scheduler(optimizer, opt) for optimizer in self.optimizers]
            self._fresh_run = not opt.continue_train  # earlier checkpoints are set aside at the first save
        if not self.isTrain or opt.continue_train:
            wanted = f"iter_{opt.load_iter}" if opt.load_iter > 0 else str(opt.epoch)
            names = [name for name in self.model_names if isinstance(name, str)]
            load_suffix, state = checkpoint.choose_set(self.save_dir, wanted, names)  # newest complete set
            self.load_networks(load_suffix)
            if self.isTrain:
                self.resumed_state = self.load_training_state(load_suffix, state)
                note = self.resumed_state and checkpoint.resume_note(
                    opt, self.resumed_state.get("opt") or {}, checkpoint.state_path(self.save_dir, load_suffix))
                if note and distributed.is_main_process():
                    print(note, file=sys.stderr, flush=True)
                if load_suffix == wanted and self.resumed_state is not None:
                    self._complete_labels.add(wanted)
        if distributed.is_distributed():
            self._wrap_for_distributed()
        self.print_networks(opt.verbose)

    def _set_aside_earlier_run(self):
        """A fresh run in a folder holding an earlier run's checkpoints moves them to `earlier_<k>/` before
        its first save, with one note, so that starting the same command twice overwrites nothing."""
        files = sorted(name for name in os.listdir(self.save_dir)
                       if name.endswith(".pth") and not name.startswith(checkpoint.LEFTOVER_PREFIXES))
        if not files:
            return
        k = 1
        while os.path.exists(os.path.join(self.save_dir, f"earlier_{k}")):
            k += 1
        target = os.path.join(self.save_dir, f"earlier_{k}")
        os.makedirs(target)
        for name in files:
            os.replace(os.path.join(self.save_dir, name), os.path.join(target, name))
        print(f"note: {self.save_dir} held checkpoints of an earlier run; moved its {len(files)} .pth files to "
              f"{target} (pass --continue_train to resume a run instead).", file=sys.stderr, flush=True)

    def _wrap_for_distributed(self):
        """Wrap every network in DistributedDataParallel (gradients averaged across processes).

        DDP copies rank 0's weights to every process when it wraps, so all
        processes start from the same networks.
        """
        device_ids = [self.gpu_ids[0]] if self.gpu_ids else None
        for name in self.model_names:
            net = getattr(self, "net" + name)
            setattr(self, "net" + name, torch.nn.parallel.DistributedDataParallel(net, device_ids=device_ids))

    def eval(self):
        """Put every network in eval mode (BatchNorm running stats, no dropout)."""
        for name in self.model_names:
            getattr(self, "net" + name).eval()

    def test(self):
        """Forward without gradients, then compute_visuals()."""
        with torch.no_grad():
            self.forward()
            self.compute_visuals()

    def compute_visuals(self):
        """Hook for extra visual outputs before display; nothing by default."""

    def get_image_paths(self):
        return self.image_paths

    def update_learning_rate(self):
        """Step every scheduler once (end of an epoch) and print the change."""
        old_lr = self.optimizers[0].param_groups[0]["lr"]
        for scheduler in self.schedulers:
            if self.opt.lr_policy == "plateau":
                scheduler.step(self.metric)
            else:
                scheduler.step()
        lr = self.optimizers[0].param_groups[0]["lr"]
        if distributed.is_main_process():
            print(f"learning rate {old_lr:.7f} -> {lr:.7f}")

    def get_current_visuals(self):
        """OrderedDict visual name -> tensor (N, C, H, W)."""
        return OrderedDict((name, getattr(self, name)) for name in self.visual_names if isinstance(name, str))

    def get_current_losses(self):
        """OrderedDict loss name -> float value of `self.loss_<name>`."""
        losses = OrderedDict()
        for name in self.loss_names:
            if isinstance(name, str):
                value = getattr(self, "loss_" + name)
                losses[name] = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        return losses

    # ----------------------------------------------------------- checkpoints
    def _bare(self, name):
        """Network `net<name>` without its DataParallel/DDP wrapper."""
        net = getattr(self, "net" + name)
        return net.module if isinstance(net, (torch.nn.DataParallel,
                                              torch.nn.parallel.DistributedDataParallel)) else net

    def save_networks(self, epoch):
        """Write `<epoch>_net_<name>.pth` for every network (rank 0 only; atomic)."""
        if not distributed.is_main_process():
            return
        os.makedirs(self.save_dir, exist_ok=True)
        if self._fresh_run:
            self._fresh_run = False
            self._set_aside_earlier_run()
        for name in self.model_names:
            if isinstance(name, str):
                checkpoint.save_network(self._bare(name), checkpoint.network_path(self.save_dir, epoch, name))

    def save_training_state(self, epoch_label, epoch, total_iters, epoch_iter=None):
        """Write `<epoch_label>_state.pth`: options, epoch, iterations, optimizer, scheduler and RNG
        states, and the sha256 of each `<epoch_label>_net_<name>.pth` already written."""
        if not distributed.is_main_process():
            return
        os.makedirs(self.save_dir, exist_ok=True)
        digests = {name: checkpoint.file_sha256(path) for name, path in self._network_paths(epoch_label).items()
                   if os.path.isfile(path)}
        checkpoint.save_state(checkpoint.state_path(self.save_dir, epoch_label), self.opt, epoch, total_iters,
                              self.optimizers, self.schedulers, epoch_iter=epoch_iter, net_sha256=digests)

    def save_checkpoint(self, label, epoch, total_iters, epoch_iter=None):
        """Weights and training state under `label`, replacing an older set as one unit.

        Everything is first written under a hidden staging label; the complete set
        being replaced is kept as `.previous_<label>` hard links; the staged files
        are renamed over the `<label>_*` files, weights first and the state (the
        commit marker, holding the weights' digests) last; then the previous set
        is dropped (util/checkpoint.py).  A full disk raises UserError before
        anything is replaced.
        """
        if not distributed.is_main_process():
            return
        label = str(label)
        staging = checkpoint.STAGING_PREFIX + label
        names = list(self._network_paths(label))
        os.makedirs(self.save_dir, exist_ok=True)
        for name in os.listdir(self.save_dir):
            if name.startswith(checkpoint.LEFTOVER_PREFIXES):  # left by a save that was killed
                os.remove(os.path.join(self.save_dir, name))
        try:
            self.save_networks(staging)
            self.save_training_state(staging, epoch, total_iters, epoch_iter)
        except (OSError, RuntimeError) as exc:
            for path in [*self._network_paths(staging).values(), checkpoint.state_path(self.save_dir, staging)]:
                if os.path.exists(path):
                    os.remove(path)
            full = checkpoint.disk_full_error(exc, self.save_dir, self._checkpoint_bytes(epoch, total_iters,
                                                                                         epoch_iter))
            if full is None:
                raise
            raise full from None
        if self._is_complete(label, names):
            checkpoint.keep_previous(self.save_dir, label, names)
        # else: `label` is torn (a killed save), and the complete `.previous_<label>` stays as it is
        final = self._network_paths(label)
        for name, path in self._network_paths(staging).items():
            os.replace(path, final[name])
        os.replace(checkpoint.state_path(self.save_dir, staging), checkpoint.state_path(self.save_dir, label))
        util.sync_dir(self.save_dir)   # the commit's renames survive a power cut before the previous set goes
        self._complete_labels.add(label)
        checkpoint.drop_previous(self.save_dir, label, names)

    def _is_complete(self, label, names):
        """True when the saved set `label` is complete (known from this run, else checked once)."""
        if label in self._complete_labels:
            return True
        if not os.path.isfile(checkpoint.state_path(self.save_dir, label)):
            return False
        try:
            checkpoint.complete_state(self.save_dir, label, names)
        except UserError:
            return False
        return True

    def _checkpoint_bytes(self, epoch, total_iters, epoch_iter):
        """Bytes a checkpoint set takes: every network's weights plus the training state."""
        nets = sum(checkpoint.serialized_size(checkpoint.cpu_state_dict(self._bare(name)))
                   for name in self.model_names if isinstance(name, str))
        return nets + checkpoint.serialized_size(checkpoint.training_state(
            self.opt, epoch, total_iters, self.optimizers, self.schedulers, epoch_iter))

    def _network_paths(self, label):
        """{net name: `<save_dir>/<label>_net_<name>.pth`} for every network of the model."""
        return {name: checkpoint.network_path(self.save_dir, label, name)
                for name in self.model_names if isinstance(name, str)}

    def load_training_state(self, epoch_label, state=None):
        """Restore optimizers and schedulers from `<epoch_label>_state.pth`; return the dict or None.

        state: that file's dict when already read and checked (checkpoint.choose_set).
        UserError when the weight files are not the ones the state was saved with.
        The saved RNG states are left for the training loop to restore at the
        point it resumes (checkpoint.restore_rng).
        """
        if state is None:
            path = checkpoint.state_path(self.save_dir, epoch_label)
            state = checkpoint.load_state(path)
            if state is None:
                return None
            checkpoint.verify_networks(state, path, self._network_paths(epoch_label))
        for optimizer, saved in zip(self.optimizers, state.get("optimizers", [])):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state.get("schedulers", [])):
            scheduler.load_state_dict(saved)
        return state

    def load_networks(self, epoch):
        """Load `<epoch>_net_<name>.pth` into every network.

        A file that does not fit the network raises UserError naming the flag that
        most likely differs from training (from the saved options when present).
        """
        saved = checkpoint.load_state(checkpoint.state_path(self.save_dir, epoch))
        for name in self.model_names:
            if not isinstance(name, str):
                continue
            path = checkpoint.network_path(self.save_dir, epoch, name)
            print(f"loading the model from {path}")
            state_dict = checkpoint.load_weights(path)
            try:
                self._bare(name).load_state_dict(state_dict)
            except RuntimeError:
                raise UserError(checkpoint.mismatch_message(path, name, self.opt,
                                                            saved and saved.get("opt"))) from None

    def print_networks(self, verbose):
        """Print each network's parameter count (and architecture when verbose)."""
        if not distributed.is_main_process():
            return
        print("---------- Networks initialized -------------")
        for name in self.model_names:
            if isinstance(name, str):
                net = self._bare(name)
                if verbose:
                    print(net)
                num_params = sum(p.numel() for p in net.parameters())
                print(f"[Network {name}] Total number of parameters : {num_params / 1e6:.3f} M")
        print("-----------------------------------------------")

    def set_requires_grad(self, nets, requires_grad=False):
        """Switch gradients on or off for all parameters of one network or a list of them."""
        for net in nets if isinstance(nets, list) else [nets]:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad
