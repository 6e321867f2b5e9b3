"""Checkpoint files: network weights, the training state beside them, and mismatch messages.

Layout in `<checkpoints_dir>/<name>/`:
  `<label>_net_<G|D|...>.pth`  plain state_dict on CPU (no DataParallel/DDP prefix)
  `<label>_state.pth`          {'opt': dict of plain option values, 'epoch', 'epoch_iter' (images
                                of that epoch already trained), 'total_iters',
                                'optimizers': [state_dict], 'schedulers': [state_dict],
                                'rng': {'torch': ByteTensor, 'python': random.getstate()},
                                'net_sha256': {net name: sha256 of its .pth file}}
Both are written atomically and read with `torch.load(..., weights_only=True)`.
The state file is the commit marker: it is renamed into place after the weight
files it lists, and `verify_networks` checks the digests on load.

A save (BaseModel.save_checkpoint) writes the new set under `.partial_<label>_*`,
keeps the complete set it replaces as hard links `.previous_<label>_*`, renames
the new files over `<label>_*` (weights first, the state last) and only then
drops the previous set.  A kill at any instant therefore leaves, for every
label, either a complete `<label>` set or a complete `.previous_<label>` one;
`choose_set` picks the newest complete one, with one warning when it falls back.
"""
import errno
import hashlib
import os
import random
import shutil
import sys

import torch

from .errors import UserError
from .util import atomic_save

# Flags that change the shape of each kind of network, most likely culprit first.
SHAPE_FLAGS = {
    "G": ("netG", "norm", "ngf", "input_nc", "output_nc"),
    "D": ("netD", "norm", "ndf", "n_layers_D", "input_nc", "output_nc"),
}
# Flags that never change a network's weights: ignored when looking for the culprit.
RUN_FLAGS = {
    "dataroot", "name", "gpu_ids", "checkpoints_dir", "results_dir", "phase", "isTrain", "epoch", "load_iter",
    "continue_train", "epoch_count", "batch_size", "num_threads", "serial_batches", "max_dataset_size", "lr",
    "beta1", "n_epochs", "n_epochs_decay", "lr_policy", "lr_decay_iters", "print_freq", "display_freq",
    "display_id", "display_server", "display_port", "display_env", "display_ncols", "display_winsize",
    "update_html_freq", "save_latest_freq", "save_epoch_freq", "save_by_iter", "no_html", "verbose", "suffix",
    "num_test", "eval", "aspect_ratio", "load_size", "crop_size", "preprocess", "no_flip", "dataset_mode",
    "direction", "init_type", "init_gain", "no_dropout", "pool_size", "gan_mode", "model",
}


def plain_options(opt):
    """The option values that are str/int/float/bool/None or lists of those, as a dict."""
    def plain(value):
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (str, int, float, bool))
    return {key: (list(value) if isinstance(value, tuple) else value)
            for key, value in vars(opt).items() if plain(value)}


STAGING_PREFIX = ".partial_"     # a set being written
PREVIOUS_PREFIX = ".previous_"   # the complete set being replaced, until the new one is committed
LEFTOVER_PREFIXES = (".tmp_", STAGING_PREFIX)  # what a killed save leaves that nothing reads


def network_path(save_dir, label, name):
    return os.path.join(save_dir, f"{label}_net_{name}.pth")


def state_path(save_dir, label):
    return os.path.join(save_dir, f"{label}_state.pth")


def save_network(net, path):
    """Write `net`'s state_dict, moved to CPU and without a `module.` wrapper prefix."""
    atomic_save(cpu_state_dict(net), path)


def file_sha256(path):
    """Hex sha256 of the bytes of `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def training_state(opt, epoch, total_iters, optimizers, schedulers, epoch_iter=None, net_sha256=None):
    """The training state dict (see module docstring) with the current RNG states."""
    return {"opt": plain_options(opt), "epoch": epoch, "total_iters": total_iters,
            "epoch_iter": epoch_iter,
            "optimizers": [o.state_dict() for o in optimizers],
            "schedulers": [s.state_dict() for s in schedulers],
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
            "net_sha256": net_sha256 or {}}


def save_state(path, opt, epoch, total_iters, optimizers, schedulers, epoch_iter=None, net_sha256=None):
    """Write the training state (see module docstring) with the current RNG states."""
    atomic_save(training_state(opt, epoch, total_iters, optimizers, schedulers, epoch_iter, net_sha256), path)


def cpu_state_dict(net):
    """`net`'s state_dict moved to CPU, as save_network writes it."""
    return {key: value.detach().cpu() for key, value in net.state_dict().items()}


def restore_rng(state):
    """Put the torch and Python RNGs back where `save_state` found them (dropout, crops, shuffles)."""
    rng = state.get("rng") or {}
    if "torch" in rng:
        torch.set_rng_state(rng["torch"])
    if "python" in rng:
        version, internal, gauss = rng["python"]
        random.setstate((version, tuple(internal), gauss))


def unreadable_message(path):
    return (f"checkpoint {path} is truncated or corrupt; delete it or pick another --epoch "
            f"(or --load_iter).")


def load_state(path):
    """The training state dict at `path`, or None when there is none."""
    if not os.path.isfile(path):
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated, corrupt or foreign file
        raise UserError(unreadable_message(path)) from None


def verify_networks(state, state_file, net_paths):
    """Raise UserError when a weight file is not the one `state` was saved with.

    net_paths: {net name: path}.  States written before digests were stored pass.
    """
    for name, expected in (state.get("net_sha256") or {}).items():
        path = net_paths.get(name)
        if path and os.path.isfile(path) and file_sha256(path) != expected:
            load_weights(path)  # a damaged file says so; a readable one is from another save
            raise UserError(f"{path} does not belong to {state_file} (training stopped while they were "
                            f"being replaced); resume from another --epoch or --load_iter.")


def complete_state(save_dir, label, net_names):
    """The state dict of the set `label` when it is complete (state readable, every weight file of
    `net_names` present and the one the state lists); else a UserError saying what is wrong."""
    path = state_path(save_dir, label)
    state = load_state(path)
    if state is None:
        raise UserError(f"checkpoint {path} does not exist; train first, or pass the --name, --epoch "
                        f"and --checkpoints_dir of an existing run.")
    net_paths = {name: network_path(save_dir, label, name) for name in net_names}
    missing = [p for p in net_paths.values() if not os.path.isfile(p)]
    if missing:
        raise UserError(f"{missing[0]} is missing beside {path}; resume from another --epoch or --load_iter.")
    verify_networks(state, path, net_paths)
    return state


def choose_set(save_dir, label, net_names):
    """(file label, state dict or None): the newest complete checkpoint set saved under `label`.

    That is `label` itself, or -- when a save was killed while replacing it --
    the previous set kept as `.previous_<label>`, announced by one warning line
    on stderr.  A label without any state file (weights only, e.g. from the
    upstream toolkit) is returned as is with None.  UserError when neither set is complete.
    """
    previous = PREVIOUS_PREFIX + str(label)
    if not os.path.isfile(state_path(save_dir, label)) and not os.path.isfile(state_path(save_dir, previous)):
        return str(label), None
    try:
        return str(label), complete_state(save_dir, label, net_names)
    except UserError as problem:
        if not os.path.isfile(state_path(save_dir, previous)):
            raise
        try:
            state = complete_state(save_dir, previous, net_names)
        except UserError:
            raise problem from None
    print(f"warning: checkpoint '{label}' in {save_dir} is incomplete (a save was interrupted); using the "
          f"previous complete one (epoch {state.get('epoch')}, total_iters {state.get('total_iters')}).",
          file=sys.stderr, flush=True)
    return previous, state


def keep_previous(save_dir, label, net_names):
    """Hard-link the complete set `label` as `.previous_<label>` (state last), replacing an older one."""
    previous = PREVIOUS_PREFIX + str(label)
    pairs = [(network_path(save_dir, label, n), network_path(save_dir, previous, n)) for n in net_names]
    pairs.append((state_path(save_dir, label), state_path(save_dir, previous)))
    for _, link in reversed(pairs):  # the old previous state goes first: no half set looks complete
        if os.path.lexists(link):
            os.remove(link)
    for source, link in pairs:
        try:
            os.link(source, link)
        except OSError:  # a file system without hard links
            shutil.copy2(source, link)


def drop_previous(save_dir, label, net_names):
    """Remove `.previous_<label>` (its state first), once `label` is complete again."""
    previous = PREVIOUS_PREFIX + str(label)
    for path in [state_path(save_dir, previous)] + [network_path(save_dir, previous, n) for n in net_names]:
        if os.path.lexists(path):
            os.remove(path)


class _ByteCounter:
    """A write-only file that only counts what torch.save writes to it."""

    def __init__(self):
        self.size = 0

    def write(self, data):
        count = memoryview(data).nbytes
        self.size += count
        return count

    def flush(self):
        pass


def serialized_size(obj):
    """Bytes torch.save(obj) writes (serialises once into a counter; nothing is kept in memory)."""
    counter = _ByteCounter()
    torch.save(obj, counter)
    return counter.size


def disk_full_error(exc, folder, needed):
    """The UserError for a save that failed for lack of space, or None when `exc` is something else.

    torch.save reports a full disk either as OSError ENOSPC/EDQUOT or as a RuntimeError
    from its zip writer; the latter counts as a full disk when `needed` bytes are not free.
    """
    free = shutil.disk_usage(folder).free
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if not (full or (isinstance(exc, RuntimeError) and needed > free)):
        return None
    return UserError(f"the disk holding {folder} is full: the checkpoint needs {needed} bytes "
                     f"({needed / 1e6:.1f} MB) and {free} bytes are free, so nothing was replaced; free "
                     f"space (or pass another --checkpoints_dir) and resume with --continue_train.")


def load_weights(path):
    """A state_dict saved by save_network (or by the upstream toolkit)."""
    if not os.path.isfile(path):
        raise UserError(f"checkpoint {path} does not exist; train first, or pass the --name, --epoch "
                        f"and --checkpoints_dir of an existing run.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unpicklable, truncated or foreign file
        raise UserError(unreadable_message(path)) from None


# Flags whose change on --continue_train is worth a note: the data and the training recipe.
RESUME_FLAGS = ("dataroot", "dataset_mode", "direction", "batch_size", "preprocess", "load_size", "crop_size",
                "no_flip", "serial_batches", "max_dataset_size", "lr", "beta1", "lr_policy", "lr_decay_iters",
                "gan_mode", "lambda_L1", "lambda_A", "lambda_B", "lambda_identity", "pool_size")
# Restored from the saved optimizer and scheduler states, whatever the command line says.
RESTORED_FLAGS = ("lr", "beta1", "lr_policy", "lr_decay_iters")


def resume_note(opt, saved_opt, state_file):
    """One note line listing the RESUME_FLAGS that differ from the run saved in `state_file`, or None."""
    current = vars(opt)
    changed = [f"--{flag} {current[flag]} (saved {saved_opt[flag]}"
               + ("; the saved optimizer state keeps the saved value)" if flag in RESTORED_FLAGS else ")")
               for flag in RESUME_FLAGS
               if flag in saved_opt and flag in current and saved_opt[flag] != current[flag]]
    if not changed:
        return None
    return f"note: resuming {state_file} with flags that differ from the saved run: {', '.join(changed)}."


def _flag_text(flag, value):
    if isinstance(value, bool):
        return f"--{flag}" if value else f"no --{flag}"
    return f"--{flag} {value}"


def mismatch_message(path, net_name, opt, saved_opt):
    """One sentence saying which flag most likely makes checkpoint `path` not fit the network.

    net_name: 'G', 'D', 'G_A', ... (its first letter picks the shape flags).
    saved_opt: the options dict stored with the checkpoint, or None.
    """
    current = vars(opt)
    if saved_opt:
        shape_flags = SHAPE_FLAGS.get(net_name[:1], SHAPE_FLAGS["G"] + SHAPE_FLAGS["D"])
        others = sorted(k for k in saved_opt if k not in RUN_FLAGS and k not in shape_flags)
        for flag in list(shape_flags) + others:
            if flag in saved_opt and flag in current and saved_opt[flag] != current[flag]:
                return (f"checkpoint {path} was trained with {_flag_text(flag, saved_opt[flag])} but this run "
                        f"uses {_flag_text(flag, current[flag])}; pass {_flag_text(flag, saved_opt[flag])}.")
    flags = "--netG" if net_name.startswith("G") else "--netD"
    built = f"{flags} {current.get(flags[2:])} --norm {current.get('norm')}"
    return (f"checkpoint {path} does not fit the network built from {built}; it was probably trained with "
            f"another {flags} or --norm, so pass the values used for training.")
