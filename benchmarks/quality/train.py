"""One (model, seed) of a quality study: training by the host's pix2pix step, evaluations along the way, its record.

Training: benchmarks/pix2pix_step.py (BatchNorm, dropout, PatchGAN, vanilla GAN + 100 L1, Adam 2e-4 / 0.5),
batch 1, channels_last, with the host's `--lr_policy linear` (`schedule=(constant, decay)`).  A seed sets
the initial weights (torch.manual_seed) and the order, crops and flips of the pairs.

* train_run_v1: version 1 -- square crops of the synthetic pairs at the load size, held-out pairs scored
  centre-cropped as test.py runs (seed 0 also in eval mode), the final scores on held-out and training pairs;
* train_run_v2: version 2 -- crops of the pairs at their native size, whole held-out images scored as
  `mrff generate` runs along the way, and at the end in each of score.MODES;
* train_run_v3: version 3 -- version 2 with generator options (--norm, --no_dropout, widths), validation
  images scored beside the held-out ones along the way, FID / KID, and every run's weights kept; a run stopped
  half-way goes on from its last curve point when it is taken again (resume.py).
Both return a JSON-ready record: options, parameters, curve, final per-image scores, timings, the machine.
"""
import os
import time

import torch

from benchmarks.common import machine
from benchmarks.pix2pix_step import Pix2PixStep
from benchmarks.quality.data import CropStream, SquareCropStream, centre_crop, pairs_of, to_tensors
from benchmarks.quality.resume import RunState, resume_path, training_code
from benchmarks.quality.run_files import run_stem
from benchmarks.quality.score import (MODES, batch_scores, crop_outputs, means, pair_scores, set_scores,
                                      whole_outputs)

GENERATOR_OPTIONS = ("norm", "no_dropout", "mrff_channels", "mrff_released_width")   # passed to the generator only
CURVE_METRICS = ("ssim", "psnr", "scc")   # version 3's curve keeps these per image


def train_loop(step, stream, iters, eval_every, evaluate, device, progress=None, state=None):
    """`iters` steps of `step` on `stream.next()` pairs; every `eval_every` iterations and at the last, the curve
    gets `evaluate(it, train_seconds)`.  With `state` (resume.RunState) the loop goes on from a saved state and
    saves one after each curve point before the last.  Returns (curve, seconds spent in training steps alone)."""
    curve, train_seconds, done = [], 0.0, 0
    resumed = state.load(step, stream) if state is not None else None
    if resumed:
        done, curve, train_seconds = resumed
    for it in range(done + 1, iters + 1):
        t0 = time.perf_counter()
        a, b = stream.next()
        step(a.to(device), b.to(device))
        train_seconds += time.perf_counter() - t0
        if progress:
            progress(it, train_seconds / it)
        if it % eval_every == 0 or it == iters:
            curve.append(evaluate(it, train_seconds))
            if state is not None and it < iters:
                state.save(it, step, stream, curve, train_seconds)
    return curve, train_seconds


def save_seed0(step, label, seed, weights_dir):
    """Keep seed 0's generator for the pictures (weights_dir/<label>_seed0.pth); other seeds are not kept."""
    if weights_dir is not None and seed == 0:
        save_weights(step, label, seed, weights_dir)


def record(label, seed, options, step, curve, final, iters, train_seconds, start, load_before):
    """The run's record as the results files hold it."""
    return {"model": label, "seed": seed, "options": options, "params": sum(p.numel() for p in step.G.parameters()),
            "curve": curve, "final": final, "seconds": round(time.perf_counter() - start, 1),
            "seconds_per_iter": round(train_seconds / iters, 4),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine()}


def train_run_v1(label, options, seed, data, study, device, weights_dir=None, progress=None):
    """Version 1: train `options` (netG, mrff_fusion, mrff_arch) on data.synthetic_arrays at `study`'s
    settings (size, ngf, amp, iters, decay_iters, eval_every, train_scored); return its record."""
    step = Pix2PixStep(options["netG"], ngf=study["ngf"], ndf=study["ngf"], amp=study["amp"],
                       mrff_fusion=options.get("mrff_fusion", "nested"), mrff_arch=options.get("mrff_arch", "paper"),
                       seed=seed, device=device,
                       schedule=(study["iters"] - study["decay_iters"], study["decay_iters"]))
    size = study["size"]
    stream = SquareCropStream(pairs_of(data["train_A"], data["train_B"]), seed, size)
    test_A, test_B = to_tensors(centre_crop(data["test_A"], size), centre_crop(data["test_B"], size))
    n_scored = study["train_scored"]
    train_A, train_B = to_tensors(centre_crop(data["train_A"][:n_scored], size),
                                  centre_crop(data["train_B"][:n_scored], size))
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    last = {}

    def evaluate(it, train_seconds):
        last["held_out"] = held_out = batch_scores(crop_outputs(step.G, test_A, "test.py", device), test_B)
        point = {"iter": it, "train_seconds": round(train_seconds, 2), **means(held_out)}
        if seed == 0:
            point["eval_mode"] = means(batch_scores(crop_outputs(step.G, test_A, "eval", device), test_B))
        return point
    curve, train_seconds = train_loop(step, stream, study["iters"], study["eval_every"], evaluate, device, progress)
    final = {"held_out": last["held_out"],
             "train": batch_scores(crop_outputs(step.G, train_A, "test.py", device), train_B)}
    save_seed0(step, label, seed, weights_dir)
    return record(label, seed, options, step, curve, final, study["iters"], train_seconds, start, load_before)


def make_step(options, setup, seed, device):
    """The pix2pix step of a study model's `options` (netG, ngf, mrff_fusion, mrff_arch, init_type and the
    GENERATOR_OPTIONS) against setup['ndf']'s discriminator, with setup's schedule (constant, then decay)."""
    iters, decay_iters = setup["iters"], setup["decay_iters"]
    return Pix2PixStep(options["netG"], ngf=options["ngf"], ndf=setup["ndf"],
                       mrff_fusion=options.get("mrff_fusion", "nested"), mrff_arch=options.get("mrff_arch", "paper"),
                       seed=seed, device=device, schedule=(iters - decay_iters, decay_iters),
                       init_type=options.get("init_type", "normal"),
                       generator_options={k: options[k] for k in GENERATOR_OPTIONS if k in options})


def train_run_v2(label, seed, data, setup, device, weights_dir=None, progress=None):
    """Version 2: train setup['models'][label] (netG, ngf, ...) against a discriminator of setup['ndf'] on
    setup['crop'] crops of data['train'] for setup['iters'] iterations; return its record."""
    options = setup["models"][label]
    iters, decay_iters, pad = setup["iters"], setup["decay_iters"], setup["pad_multiple"]
    step = make_step(options, setup, seed, device)
    stream = CropStream(data["train"], seed, setup["crop"])
    start, load_before = time.perf_counter(), os.getloadavg()[0]

    def scored(pairs, mode):
        return pair_scores(whole_outputs(step.G, pairs, mode, device, pad), pairs)

    def evaluate(it, train_seconds):
        return {"iter": it, "train_seconds": round(train_seconds, 2), **means(scored(data["test"], "generate"))}
    curve, train_seconds = train_loop(step, stream, iters, setup["eval_every"], evaluate, device, progress)
    final = {mode: scored(data["test"], mode) for mode in MODES}
    final["train_generate"] = scored(data["train_scored"], "generate")
    save_seed0(step, label, seed, weights_dir)
    return record(label, seed, options, step, curve, final, iters, train_seconds, start, load_before)



def save_weights(step, label, seed, weights_dir):
    """Keep the run's generator (weights_dir/<label>_seed<k>.pth, a state dict, written atomically);
    returns {'path', 'sha256'}."""
    from mrff_plugin.durable import atomic_write
    from mrff_plugin.file_hash import sha256_of
    weights_dir.mkdir(parents=True, exist_ok=True)
    path = weights_dir / f"{run_stem(label, seed)}.pth"
    with atomic_write(path) as handle:
        torch.save(step.G.state_dict(), handle)
    return {"path": str(path), "sha256": sha256_of(path)}


def train_run_v3(label, seed, data, setup, device, weights_dir, progress=None, inception=None, real_features=None):
    """Version 3: as version 2, with the generator options of GENERATOR_OPTIONS (--norm, --no_dropout, the
    widths), the curve scoring both the held-out (test) and the validation images with per-image scores, the
    validation images' final scores, FID / KID of the held-out outputs (`inception`: the network, or None to
    leave them out) and every run's weights kept; returns its record."""
    options = setup["models"][label]
    iters, decay_iters, pad = setup["iters"], setup["decay_iters"], setup["pad_multiple"]
    step = make_step(options, setup, seed, device)
    stream = CropStream(data["train"], seed, setup["crop"])
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    state = RunState(resume_path(weights_dir, label, seed), {"model": label, "seed": seed, "options": options,
                                                             "settings": setup, "code": training_code()})

    def scored(pairs, mode):
        return pair_scores(whole_outputs(step.G, pairs, mode, device, pad), pairs)

    def evaluate(it, train_seconds):
        test, val = scored(data["test"], "generate"), scored(data["val"], "generate")
        return {"iter": it, "train_seconds": round(train_seconds, 2), **means(test),
                **{f"val_{name}": value for name, value in means(val).items()},
                "test": {m: test[m] for m in CURVE_METRICS}, "val": {m: val[m] for m in CURVE_METRICS}}
    curve, train_seconds = train_loop(step, stream, iters, setup["eval_every"], evaluate, device, progress, state)
    generated = whole_outputs(step.G, data["test"], "generate", device, pad)
    final = {mode: pair_scores(generated, data["test"]) if mode == "generate" else scored(data["test"], mode)
             for mode in MODES}
    final["train_generate"] = scored(data["train_scored"], "generate")
    final["val_generate"] = scored(data["val"], "generate")
    if inception is not None:
        final["set_generate"] = set_scores(generated, data["test"], inception, real_features)
    weights = save_weights(step, label, seed, weights_dir)
    run = {**record(label, seed, options, step, curve, final, iters, train_seconds, start, load_before),
           "weights": weights, "seconds": round(state.seconds(), 1)}   # over every process that trained it
    if state.resumed_at:
        run["resumed_at"] = state.resumed_at
    return run
