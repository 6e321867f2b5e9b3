"""A few pix2pix training steps of one generator in a fresh process: what speed.py's peak-memory figure measures.

    python -m benchmarks.children.peak_rss -- \
        python -m benchmarks.children.train_steps --netG unetpp_fusion --amp bf16 --size 256

G and D (benchmarks/pix2pix_step.py) at --ngf, --steps steps on one random batch of --batch pairs of
--size x --size, with --threads torch threads.
"""
import argparse

import torch

from benchmarks.pix2pix_step import Pix2PixStep


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--netG", required=True)
    p.add_argument("--amp", choices=("none", "bf16"), default="none")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    step = Pix2PixStep(args.netG, ngf=args.ngf, amp=args.amp)
    a = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1
    b = torch.rand(args.batch, 1, args.size, args.size) * 2 - 1
    for _ in range(args.steps):
        step(a, b)


if __name__ == "__main__":
    main()
