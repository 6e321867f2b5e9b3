"""Training monitor: Visdom plots and image grids, the training HTML page, the loss log.

Visdom is optional.  `--display_id 0` switches it off; when the server at
`--display_server:--display_port` cannot be reached, one warning is printed and
training goes on without it (this toolkit never starts a server itself).  Under
`torchrun` only rank 0 displays or writes anything.
"""
import logging
import os
import socket
import sys
import time
from collections import OrderedDict
from urllib.parse import urlparse

import numpy as np

from . import distributed, html, util


def result_name(image_path, item_id, used):
    """The name of one test input's result files, unique within a run; adds it to set `used`.

    The input's file stem, as upstream, unless an earlier input already took it
    (e.g. frame names that restart in every video); then the dataset-provided
    item id when the batch has one ('set06/V001/I00000' -> 'set06_V001_I00000'),
    otherwise the stem prefixed by more and more parent folder names, and a
    counter as the last resort.
    """
    path = os.path.normpath(os.path.abspath(image_path))
    stem = os.path.splitext(os.path.basename(path))[0]
    candidates = [stem]
    if item_id:
        candidates.append(str(item_id).strip("/").replace("/", "_").replace("\\", "_"))
    parts = os.path.dirname(path).split(os.sep)
    candidates += ["_".join(parts[-depth:] + [stem]) for depth in range(1, len(parts)) if parts[-depth]]
    name = next((c for c in candidates if c not in used), None)
    counter = 1
    while name is None or name in used:
        name, counter = f"{stem}_{counter}", counter + 1
    used.add(name)
    return name


def save_images(webpage, visuals, image_path, aspect_ratio=1.0, width=256, name=None):
    """Save one test input's visuals into the gallery and add one row for them.

    webpage: an html.HTML page; visuals: OrderedDict label -> (1, C, H, W) tensor;
    image_path: list holding the input's path.  Files are `<name>_<label>.png`
    in the page's image folder; name defaults to the input's file stem.
    """
    image_dir = webpage.get_image_dir()
    stem = name or os.path.splitext(os.path.basename(image_path[0]))[0]
    webpage.add_header(stem)
    ims, txts, links = [], [], []
    for label, image in visuals.items():
        image_name = f"{stem}_{label}.png"
        util.save_image(util.tensor2im(image), os.path.join(image_dir, image_name), aspect_ratio)
        ims.append(image_name)
        txts.append(label)
        links.append(image_name)
    webpage.add_images(ims, txts, links, width=width)


def visdom_reachable(server, port, timeout=2.0):
    """True when something accepts TCP connections at the Visdom address."""
    host = urlparse(server if "://" in server else f"http://{server}").hostname or "localhost"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


class Visualizer:
    """Shows and records training progress (see the module docstring).

    Attributes a model may use: `vis` (the visdom.Visdom connection or None),
    `display_id` (first window id; 0 when Visdom is off).
    """

    def __init__(self, opt):
        self.opt = opt
        self.active = distributed.is_main_process()
        self.display_id = opt.display_id if self.active else 0
        self.use_html = self.active and opt.isTrain and not opt.no_html
        self.win_size = opt.display_winsize
        self.name = opt.name
        self.ncols = opt.display_ncols
        self.saved = False
        self.vis = None
        self.plot_data = None
        if self.display_id > 0:
            self.vis = self._connect(opt.display_server, opt.display_port, opt.display_env)
        if self.use_html:
            self.web_dir = os.path.join(opt.checkpoints_dir, opt.name, "web")
            self.img_dir = os.path.join(self.web_dir, "images")
            util.mkdirs([self.web_dir, self.img_dir])
        self.log_name = os.path.join(opt.checkpoints_dir, opt.name, "loss_log.txt")
        if self.active:
            with open(self.log_name, "a") as log_file:
                log_file.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")

    def _connect(self, server, port, env):
        """Open the Visdom connection, or warn once and return None."""
        if not visdom_reachable(server, port):
            self._visdom_lost(f"no Visdom server answers at {server}:{port}")
            return None
        import visdom
        visdom_logger = logging.getLogger("visdom")
        level = visdom_logger.level
        visdom_logger.setLevel(logging.ERROR)  # silence the note about the disabled event socket
        try:
            return visdom.Visdom(server=server, port=port, env=env,
                                 raise_exceptions=True, use_incoming_socket=False)
        except ConnectionError:
            self._visdom_lost(f"the Visdom server at {server}:{port} refused the connection")
            return None
        finally:
            visdom_logger.setLevel(level)

    def _visdom_lost(self, reason):
        """Print the single Visdom warning and switch displaying off."""
        port = self.opt.display_port
        print(f"WARNING: {reason}; training continues without Visdom "
              f"(start one with `python -m visdom.server -port {port} -bind_local`, or pass --display_id 0 "
              f"to silence this).", file=sys.stderr, flush=True)
        self.display_id = 0
        self.vis = None

    def reset(self):
        """Start of an epoch: the next display also refreshes the HTML page."""
        self.saved = False

    def display_current_results(self, visuals, epoch, save_result):
        """Show `visuals` (OrderedDict label -> tensor) in Visdom and save them to the HTML page.

        Visdom: one grid window with `display_ncols` images per row, or one window
        per image when `display_ncols` is 0.  HTML: images are written as
        `web/images/epoch%03d_<label>.png` when `save_result` is set or nothing was
        saved yet this epoch; the page lists all epochs, newest first.
        """
        if self.vis is not None:
            try:
                self._display_in_visdom(visuals)
            except ConnectionError:
                self._visdom_lost("the connection to the Visdom server was lost")
        if self.use_html and (save_result or not self.saved):
            self.saved = True
            for label, image in visuals.items():
                util.save_image(util.tensor2im(image), os.path.join(self.img_dir, f"epoch{epoch:03d}_{label}.png"))
            self._write_html_page(epoch, list(visuals))

    def _display_in_visdom(self, visuals):
        images = [util.tensor2im(image).transpose(2, 0, 1) for image in visuals.values()]  # (3, H, W) each
        ncols = min(self.ncols, len(images))
        if ncols > 0:
            blank = np.full_like(images[0], 255)
            while len(images) % ncols:
                images.append(blank)
            labels = "".join(f"<td>{label}</td>" for label in visuals)
            self.vis.images(images, nrow=ncols, win=self.display_id + 1, padding=2,
                            opts=dict(title=self.name + " images"))
            self.vis.text(f"<table><tr>{labels}</tr></table>", win=self.display_id + 2,
                          opts=dict(title=self.name + " labels"))
        else:
            for index, (label, image) in enumerate(zip(visuals, images)):
                self.vis.image(image, win=self.display_id + 1 + index, opts=dict(title=label))

    def _write_html_page(self, last_epoch, labels):
        webpage = html.HTML(self.web_dir, f"Experiment name = {self.name}", refresh=1)
        for epoch in range(last_epoch, 0, -1):
            names = [f"epoch{epoch:03d}_{label}.png" for label in labels]
            present = [(name, label) for name, label in zip(names, labels)
                       if os.path.exists(os.path.join(self.img_dir, name))]
            if not present:
                continue
            webpage.add_header(f"epoch [{epoch}]")
            webpage.add_images([n for n, _ in present], [l for _, l in present],
                               [n for n, _ in present], width=self.win_size)
        webpage.save()

    def plot_current_losses(self, epoch, counter_ratio, losses):
        """Append the losses at x = epoch + counter_ratio to the Visdom line plot."""
        if self.vis is None:
            return
        if self.plot_data is None:
            self.plot_data = {"X": [], "Y": [], "legend": list(losses)}
        self.plot_data["X"].append(epoch + counter_ratio)
        self.plot_data["Y"].append([losses[k] for k in self.plot_data["legend"]])
        legend = self.plot_data["legend"]
        x = np.array(self.plot_data["X"])
        try:
            self.vis.line(X=np.stack([x] * len(legend), 1), Y=np.array(self.plot_data["Y"]),
                          win=self.display_id,
                          opts=dict(title=self.name + " loss over time", legend=legend,
                                    xlabel="epoch", ylabel="loss"))
        except ConnectionError:
            self._visdom_lost("the connection to the Visdom server was lost")

    def print_current_losses(self, epoch, iters, losses, t_comp, t_data):
        """Print one loss line and append it to `loss_log.txt`.

        Format: `(epoch: E, iters: I, time: T, data: D) NAME: VALUE ...`, with
        t_comp the compute time per image and t_data the data-loading time.
        """
        if not self.active:
            return
        message = f"(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) "
        message += "".join(f"{name}: {value:.3f} " for name, value in OrderedDict(losses).items())
        print(message, flush=True)
        with open(self.log_name, "a") as log_file:
            log_file.write(message + "\n")
