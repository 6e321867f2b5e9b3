"""The bare generator forward pass, prepared as `mrff generate` prepares it, timed on one fixed batch.

    python -m benchmarks.children.forward_pass --checkpoint C/latest_net_G.pth --size 256 --batch 8 \
        --amp bf16 [--keep_memory]

Prints one JSON line {"median", "best"}: images/s of the median and of the shortest of --passes timed
passes after a warm-up -- the sustained rate and the peak that no inference command on this machine can
beat.  benchmarks/speed.py runs it in a fresh process right after each command it times, started as that command
starts: with --keep_memory after allocator.keep_freed_memory() as `mrff generate` calls it, without it with
glibc's default allocator (the host's test.py).  `time_passes` is also benchmarks/gpu_check.py's timing of the pass.
"""
import argparse
import json
import statistics
import time

import torch


def time_passes(backend, images, passes, sync=None, after_warm_up=None):
    """Seconds of each of `passes` passes of generate.engine.run_network(backend, images), after one warm-up
    pass; `sync()` waits for the device after each pass, `after_warm_up()` runs once before the timed ones."""
    from mrff_plugin.generate.engine import run_network
    sync = sync or (lambda: None)
    run_network(backend, images)
    sync()
    if after_warm_up:
        after_warm_up()
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        run_network(backend, images)
        sync()
        times.append(time.perf_counter() - start)
    return times


def forward_images_per_s(checkpoint_path, size, batch, amp, passes=8, kind="torch", model=None, norm_stats="image"):
    """{'median', 'best'}: images/s of the bare forward pass of the checkpoint (or, with `kind` 'onnxruntime',
    the exported ONNX `model` in ONNX Runtime), as `mrff generate --norm_stats norm_stats --amp amp` prepares it
    (no dropout; BatchNorm by each image's statistics, or the running ones folded; channels_last)."""
    from mrff_plugin.generate.backends import open_backend
    backend = open_backend(kind, "cpu", amp, str(checkpoint_path), model=model and str(model),
                           norm_stats=norm_stats)[0]
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    times = time_passes(backend, images, passes)
    return {"median": batch / statistics.median(times), "best": batch / min(times)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="the generator's latest_net_G.pth")
    p.add_argument("--size", type=int, required=True, help="images of size x size")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--amp", choices=("none", "bf16"), default="none")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--keep_memory", action="store_true",
                   help="keep freed memory on the heap first, as `mrff generate` does (allocator.keep_freed_memory)")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch")
    p.add_argument("--model", default=None, help="the exported ONNX file (--backend onnxruntime)")
    p.add_argument("--norm_stats", choices=("image", "running"), default="image")
    p.add_argument("--passes", type=int, default=8, help="timed passes after the warm-up")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.keep_memory:
        from mrff_plugin.generate.allocator import keep_freed_memory
        keep_freed_memory()
    print(json.dumps(forward_images_per_s(args.checkpoint, args.size, args.batch, args.amp, args.passes,
                                          args.backend, args.model, args.norm_stats)))


if __name__ == "__main__":
    main()
