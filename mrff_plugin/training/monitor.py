"""Validation SSIM/PSNR (and FID/KID, where the Inception network is installed) curves in Visdom, beside the
host's loss plot and image grid.

The host's Visualizer belongs to `train.py` and is out of the model's reach, so
`MetricMonitor` opens its own `visdom.Visdom` client from the same flags
(`--display_id`, `--display_server`, `--display_port`, `--display_env`) and draws
one line window per metric (`<name> validation SSIM`, `... PSNR`, `... FID`, `... KID`; a metric
missing from a validation's scores is not drawn).  It never
raises and never adds a warning of its own when no server answers: the host has
already printed the one warning, so the monitor just stays off.  Rank 0 only.
"""
import logging

import numpy as np

METRICS = ("SSIM", "PSNR", "FID", "KID")


def window_name(experiment, metric):
    """The Visdom window id of one metric's curve (also its title)."""
    return f"{experiment} validation {metric}"


class MetricMonitor:
    """Appends (iteration, {metric: value}) points to Visdom line windows; silent when Visdom is off."""

    def __init__(self, opt, active=True):
        self.name = opt.name
        self.vis = None
        self.points = {metric: ([], []) for metric in METRICS}
        if not active or getattr(opt, "display_id", 0) <= 0:
            return
        from util.visualizer import visdom_reachable   # the host's own check, on sys.path
        if not visdom_reachable(opt.display_server, opt.display_port):
            return
        import visdom
        visdom_logger = logging.getLogger("visdom")
        level = visdom_logger.level
        visdom_logger.setLevel(logging.ERROR)   # the note about the disabled event socket
        try:
            self.vis = visdom.Visdom(server=opt.display_server, port=opt.display_port, env=opt.display_env,
                                     raise_exceptions=True, use_incoming_socket=False)
        except Exception:   # refused: the host reports Visdom problems, once
            self.vis = None
        finally:
            visdom_logger.setLevel(level)

    def plot(self, iteration, scores):
        """Add one point per metric in `scores` ({'SSIM': float, 'PSNR': float[, 'FID', 'KID']}) at x = iteration."""
        if self.vis is None:
            return
        for metric in METRICS:
            if metric not in scores or not np.isfinite(scores[metric]):   # PSNR of identical images is +inf: nothing to draw
                continue
            xs, ys = self.points[metric]
            xs.append(iteration)
            ys.append(scores[metric])
            try:
                self.vis.line(X=np.array(xs, dtype=float), Y=np.array(ys, dtype=float),
                              win=window_name(self.name, metric),
                              opts=dict(title=window_name(self.name, metric), xlabel="iteration",
                                        ylabel=metric + (" (dB)" if metric == "PSNR" else ""), legend=[metric]))
            except Exception:   # the server went away mid-training: stop plotting, keep training
                self.vis = None
                return
