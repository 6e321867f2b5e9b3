"""Train an image-to-image translation model (pix2pix, CycleGAN, or any models/<name>_model.py).

    python train.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA

Epochs run from --epoch_count to --n_epochs + --n_epochs_decay.  Losses go to
`<checkpoints_dir>/<name>/loss_log.txt` (and Visdom), training visuals to
`<checkpoints_dir>/<name>/web/index.html`, checkpoints to `<label>_net_<G|D>.pth`
with `<label>_state.pth` beside them.  Under `torchrun --nproc_per_node=N` the
processes train one model together and only rank 0 writes anything.
"""
import sys
import time

from data import create_dataset
from models import create_model
from options.train_options import TrainOptions
from util import distributed
from util.errors import UserError
from util.visualizer import Visualizer


def save_checkpoint(model, label, epoch, total_iters):
    """Weights and the training state under one label ('latest', an epoch, 'iter_N')."""
    model.save_networks(label)
    model.save_training_state(label, epoch, total_iters)


def train_one_epoch(opt, model, dataset, visualizer, epoch, total_iters):
    """One pass over the data with the periodic printing, displaying and saving; returns total_iters."""
    step = opt.batch_size * distributed.get_world_size()  # images seen per iteration, all processes
    epoch_iter = 0
    iter_data_time = time.time()
    visualizer.reset()
    dataset.set_epoch(epoch)
    for data in dataset:
        iter_start_time = time.time()
        t_data = iter_start_time - iter_data_time
        total_iters += step
        epoch_iter += step
        model.set_input(data)
        model.optimize_parameters()

        if total_iters % opt.display_freq < step:
            save_result = total_iters % opt.update_html_freq < step
            model.compute_visuals()
            visualizer.display_current_results(model.get_current_visuals(), epoch, save_result)

        if total_iters % opt.print_freq < step:
            losses = model.get_current_losses()
            t_comp = (time.time() - iter_start_time) / opt.batch_size
            visualizer.print_current_losses(epoch, epoch_iter, losses, t_comp, t_data)
            visualizer.plot_current_losses(epoch, float(epoch_iter) / len(dataset), losses)

        if total_iters % opt.save_latest_freq < step:
            if distributed.is_main_process():
                print(f"saving the latest model (epoch {epoch}, total_iters {total_iters})")
            save_checkpoint(model, f"iter_{total_iters}" if opt.save_by_iter else "latest", epoch, total_iters)
        iter_data_time = time.time()
    return total_iters


def main():
    opt = TrainOptions().parse()
    distributed.init_from_env(opt.gpu_ids)
    dataset = create_dataset(opt)
    print(f"The number of training images = {len(dataset)}")
    model = create_model(opt)
    model.setup(opt)
    visualizer = Visualizer(opt)
    total_iters = model.resumed_state["total_iters"] if model.resumed_state else 0
    last_epoch = opt.n_epochs + opt.n_epochs_decay

    for epoch in range(opt.epoch_count, last_epoch + 1):
        epoch_start_time = time.time()
        total_iters = train_one_epoch(opt, model, dataset, visualizer, epoch, total_iters)
        if epoch % opt.save_epoch_freq == 0 or epoch == last_epoch:
            if distributed.is_main_process():
                print(f"saving the model at the end of epoch {epoch}, iters {total_iters}")
            save_checkpoint(model, "latest", epoch, total_iters)
            if epoch % opt.save_epoch_freq == 0:
                save_checkpoint(model, epoch, epoch, total_iters)
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
