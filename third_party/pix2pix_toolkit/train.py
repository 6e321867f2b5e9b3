"""Train an image-to-image translation model (pix2pix, CycleGAN, or any models/<name>_model.py).

    python train.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA

Epochs run from --epoch_count to --n_epochs + --n_epochs_decay.  Losses go to
`<checkpoints_dir>/<name>/loss_log.txt` (and Visdom), training visuals to
`<checkpoints_dir>/<name>/web/index.html`, checkpoints to `<label>_net_<G|D>.pth`
with `<label>_state.pth` beside them.  Under `torchrun --nproc_per_node=N` the
processes train one model together and only rank 0 writes anything.
"""
import errno
import math
import os
import signal
import sys
import time
import warnings

from data import create_dataset
from models import create_model
from options.train_options import TrainOptions
from util import checkpoint, distributed
from util.errors import UserError
from util.visualizer import Visualizer

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd program


class TrainingDiverged(UserError):
    """A loss became NaN or infinite; nothing from that iteration was saved."""


class StopRequest:
    """Turns the first Ctrl-C (SIGINT) into a flag checked between iterations; a second one aborts.

    Under torchrun the launcher forwards the terminal's Ctrl-C to every rank, and a
    rank may get it twice (from the launcher and from the terminal's process group),
    so there a second SIGINT within FORWARDED_WINDOW_S of the first is the same Ctrl-C.
    The ranks agree to stop after the same iteration through `agreed()`.
    """

    FORWARDED_WINDOW_S = 1.0

    def __init__(self):
        self.requested = False
        self._first = None
        self._pid = os.getpid()
        self._window = self.FORWARDED_WINDOW_S if distributed.world_size_from_env() > 1 else 0.0
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if os.getpid() != self._pid:  # a forked data-loader worker: the main process decides
            return
        now = time.monotonic()
        if self.requested:
            if now - self._first < self._window:
                return
            raise KeyboardInterrupt  # the second Ctrl-C: stop at once
        self.requested, self._first = True, now
        if distributed.is_main_process():
            print("\nCtrl-C: saving an 'interrupted' checkpoint after this iteration (Ctrl-C again to abort)",
                  file=sys.stderr, flush=True)

    def agreed(self):
        """True on every rank when any rank got Ctrl-C (one all_reduce per iteration under torchrun)."""
        return distributed.any_rank(self.requested)


class Interrupted(Exception):
    """Raised after the 'interrupted' checkpoint is written."""


def save_checkpoint(model, label, epoch, total_iters, epoch_iter):
    """Weights and the training state under one label ('latest', an epoch, 'iter_N', 'interrupted')."""
    model.save_checkpoint(label, epoch, total_iters, epoch_iter)


def check_losses_finite(losses, epoch, total_iters):
    """TrainingDiverged naming the first NaN/inf loss, before anything of this iteration is saved."""
    for name, value in losses.items():
        if not math.isfinite(value):
            raise TrainingDiverged(f"loss {name} became {value} at epoch {epoch}, iteration {total_iters}; "
                                   f"training stopped without saving, the last good checkpoint is 'latest' "
                                   f"(lower --lr, or check the data for broken images).")


def train_one_epoch(opt, model, dataset, visualizer, epoch, total_iters, stop, skip=0, rng_state=None):
    """One pass over the data with the periodic printing, displaying and saving; returns total_iters.

    skip: images of this epoch already trained before a resume; their batches are read and passed over.
    rng_state: a saved state whose RNGs are restored where it was saved: after the
    loader has started and the skipped batches were read (each draws random numbers).
    """
    step = opt.batch_size * distributed.get_world_size()  # images seen per iteration, all processes
    epoch_iter = 0
    iter_data_time = time.time()
    visualizer.reset()
    dataset.set_epoch(epoch)
    batches = iter(dataset)  # a generator: the loader starts at the first next()
    if rng_state and not skip:
        checkpoint.restore_rng(rng_state)
    while epoch_iter < skip and next(batches, None) is not None:
        epoch_iter += step
    if rng_state and skip:
        checkpoint.restore_rng(rng_state)
    for data in batches:
        iter_start_time = time.time()
        t_data = iter_start_time - iter_data_time
        total_iters += step
        epoch_iter += step
        model.set_input(data)
        model.optimize_parameters()
        losses = model.get_current_losses()
        check_losses_finite(losses, epoch, total_iters)

        if total_iters % opt.display_freq < step:
            save_result = total_iters % opt.update_html_freq < step
            model.compute_visuals()
            visualizer.display_current_results(model.get_current_visuals(), epoch, save_result)

        if total_iters % opt.print_freq < step:
            t_comp = (time.time() - iter_start_time) / opt.batch_size
            visualizer.print_current_losses(epoch, epoch_iter, losses, t_comp, t_data)
            visualizer.plot_current_losses(epoch, float(epoch_iter) / len(dataset), losses)

        if total_iters % opt.save_latest_freq < step:
            if distributed.is_main_process():
                print(f"saving the latest model (epoch {epoch}, total_iters {total_iters})")
            label = f"iter_{total_iters}" if opt.save_by_iter else "latest"
            save_checkpoint(model, label, epoch, total_iters, epoch_iter)
        if stop.agreed():
            save_checkpoint(model, "interrupted", epoch, total_iters, epoch_iter)  # rank 0 writes
            distributed.shutdown()  # the other ranks wait until it is written, then all exit
            raise Interrupted(f"saved the 'interrupted' checkpoint (epoch {epoch}, total_iters {total_iters}); "
                              f"resume with --continue_train --epoch interrupted")
        iter_data_time = time.time()
    return total_iters


def resume_position(opt, model, dataset):
    """(first epoch, images of it already trained, total_iters) to carry on from.

    With --continue_train and a saved state (and --epoch_count left at 1) training
    resumes exactly where the state was saved: mid-epoch saves skip the batches
    already trained; a state saved after an epoch's last batch (before that
    epoch's learning-rate step) steps the schedulers and starts the next epoch.
    Otherwise epochs start at --epoch_count as upstream.
    """
    state = model.resumed_state
    if not state:
        return opt.epoch_count, 0, 0
    total_iters = state["total_iters"]
    if opt.epoch_count != 1 or state.get("epoch_iter") is None:
        return opt.epoch_count, 0, total_iters
    epoch, epoch_iter = state["epoch"], state["epoch_iter"]
    if epoch_iter >= len(dataset):
        with warnings.catch_warnings():  # this epoch's optimizer steps were taken before the save
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
            model.update_learning_rate()
        return epoch + 1, 0, total_iters
    return epoch, epoch_iter, total_iters


def main():
    opt = TrainOptions().parse()
    distributed.init_from_env(opt.gpu_ids)
    dataset = create_dataset(opt)
    print(f"The number of training images = {len(dataset)}")
    model = create_model(opt)
    model.setup(opt)
    visualizer = Visualizer(opt)
    first_epoch, skip, total_iters = resume_position(opt, model, dataset)
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    stop = StopRequest()

    for epoch in range(first_epoch, last_epoch + 1):
        epoch_start_time = time.time()
        resuming = epoch == first_epoch
        total_iters = train_one_epoch(opt, model, dataset, visualizer, epoch, total_iters, stop,
                                      skip if resuming else 0, model.resumed_state if resuming else None)
        if epoch % opt.save_epoch_freq == 0 or epoch == last_epoch:
            if distributed.is_main_process():
                print(f"saving the model at the end of epoch {epoch}, iters {total_iters}")
            save_checkpoint(model, "latest", epoch, total_iters, len(dataset))
            if epoch % opt.save_epoch_freq == 0:
                save_checkpoint(model, epoch, epoch, total_iters, len(dataset))
        if distributed.is_main_process():
            print(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {time.time() - epoch_start_time:.0f} sec")
        model.update_learning_rate()  # after the epoch's optimizer steps
    distributed.shutdown()


if __name__ == "__main__":
    try:
        main()
    except (UserError, NotImplementedError) as exc:  # a flag or file the user can fix
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"error: the disk is full ({exc.filename or 'writing the run folder'}); free space (or pass another "
              f"--checkpoints_dir) and resume with --continue_train.", file=sys.stderr)
        sys.exit(2)
    except Interrupted as exc:
        if distributed.is_main_process():
            print(exc, file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
    except KeyboardInterrupt:
        print("aborted by Ctrl-C; the checkpoints saved before are intact.", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
