"""Run a trained model on test images and write an HTML gallery.

    python test.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA

Loads `<checkpoints_dir>/<name>/<epoch>_net_G.pth` and writes
`<results_dir>/<name>/<phase>_<epoch>/index.html` with one row per input and the
images in `images/` (`<stem>_<visual>.png`).  Batch size 1, no flips, in order;
--eval switches BatchNorm/dropout to eval mode.
"""
import os
import sys

from data import create_dataset
from models import create_model
from options.test_options import TestOptions
from util import html, util
from util.errors import UserError
from util.visualizer import result_name, save_images


def main():
    opt = TestOptions().parse()
    opt.num_threads = 0      # one process reads the images, in order
    opt.batch_size = 1
    opt.serial_batches = True
    opt.no_flip = True
    opt.display_id = -1      # no Visdom when testing
    util.require_writable_dir(opt.results_dir, "--results_dir")  # fail before reading anything
    dataset = create_dataset(opt)
    model = create_model(opt)
    model.setup(opt)
    web_dir = os.path.join(opt.results_dir, opt.name, f"{opt.phase}_{opt.epoch}")
    if opt.load_iter > 0:
        web_dir = f"{web_dir}_iter{opt.load_iter}"
    print(f"creating web directory {web_dir}")
    webpage = html.HTML(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}")
    if opt.eval:
        model.eval()
    used_names = set()  # result file names must not overwrite each other
    for i, data in enumerate(dataset):
        if i >= opt.num_test:
            break
        model.set_input(data)
        model.test()
        visuals = model.get_current_visuals()
        img_path = model.get_image_paths()
        if i % 5 == 0:
            print(f"processing ({i:04d})-th image... {img_path}")
        item_id = data.get("pair_id", [None])[0] if isinstance(data, dict) else None
        save_images(webpage, visuals, img_path, aspect_ratio=opt.aspect_ratio, width=opt.display_winsize,
                    name=result_name(img_path[0], item_id, used_names))
    webpage.save()


if __name__ == "__main__":
    try:
        main()
    except (UserError, NotImplementedError) as exc:  # a flag or file the user can fix
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
