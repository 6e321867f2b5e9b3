"""Signal at initialisation: how much a study generator's output varies, and how much gradient reaches its first
layer, before any training step.

    python -m benchmarks.quality.init_signal    # -> results/quality-initsignal-128px-fp32-<cpu>-pt<torch>-<date>.json
    python -m benchmarks.quality.init_signal --quick    # two models, one seed, into benchmarks/out/
    python -m benchmarks.quality.init_signal --refresh_flat   # only the flat-run counts of the newest file, as runs land

Exploratory, outside every study protocol: measured after v2's `fusion released` seed 1 and v3's
`released narrow` seed 0 had written one flat grey image from their first curve point on (their outputs had no
detail at iteration 200 already).  It asks whether those networks start out dead.

Each model of the quality studies (v3's table, and the rerun's `unet`) is built for seeds 0-4 as the studies
build it (benchmarks/pix2pix_step.py: the host's define_G, pix2pix's N(0, 0.02) initialisation) and put in
training mode, as it is trained; then, for the first CROPS crops of v3's training block (128x128, top left):

* **output spread**: the standard deviation of the generator's output over each crop's pixels, averaged over the
  crops (the output is tanh's, in [-1, 1]; 0 is a flat image, and a real LWIR crop's own spread is given beside);
* **first-layer gradient**: the L1 loss against the LWIR crop (the generator's reconstruction term), one backward
  pass per crop, the norm of the gradient on the first convolution's weight over the norm of that weight,
  averaged over the crops;

the same again after the host's `--init_type kaiming` (its `init_weights`, as `train.py --init_type kaiming`
builds the network).  Beside each model: the runs of the v2 rerun (which reproduces each of v2's runs) and of v3 on
RoadScene that wrote constant output (flat_reference.constant_runs), out of its runs there.
"""
import argparse
import json
import time

import numpy as np
import torch

from benchmarks.common import RESULTS, ROADSCENE, machine, write_json, write_result
from benchmarks.pix2pix_step import Pix2PixStep
from benchmarks.quality import v3
from benchmarks.quality.flat_reference import constant_runs, rerun_runs
from benchmarks.quality.train import GENERATOR_OPTIONS

SEEDS = 5
CROPS = 4                     # the first crops of v3's training block, one at a time (batch 1, as trained)
CROP = v3.CROP
INITS = ("normal", "kaiming")  # pix2pix's default N(0, 0.02), and the host's --init_type kaiming
MODELS = {**v3.MODELS, "unet": dict(netG="unet_128", ngf=16)}   # v3's, and the rerun's 0.1 G U-Net


def crops(data, count=CROPS):
    """(visible, LWIR) crops of the first `count` training pairs, the networks' [-1, 1] tensors."""
    out = []
    for visible, lwir in data["train"][:count]:
        a = torch.from_numpy(np.ascontiguousarray(visible[:CROP, :CROP])).permute(2, 0, 1)[None].float() / 127.5 - 1
        b = torch.from_numpy(np.ascontiguousarray(lwir[:CROP, :CROP]))[None, None].float() / 127.5 - 1
        out.append((a, b))
    return out


def first_convolution(net):
    """(name, weight) of the first convolution the generator registers (its input layer)."""
    return next((name, p) for name, p in net.named_parameters() if p.ndim == 4)


def signal(options, seed, init_type, pairs):
    """{'output_std', 'first_layer_grad_ratio', 'first_layer'} of one freshly built generator."""
    step = Pix2PixStep(options["netG"], ngf=options["ngf"], ndf=v3.NDF, mrff_fusion=options.get("mrff_fusion", "nested"),
                       mrff_arch=options.get("mrff_arch", "paper"), seed=seed, init_type=init_type,
                       channels_last=False,
                       generator_options={k: options[k] for k in GENERATOR_OPTIONS if k in options})
    net = step.G.train()
    name, weight = first_convolution(net)
    spread, ratio = [], []
    for a, b in pairs:
        net.zero_grad(set_to_none=True)
        out = net(a)
        out = out[0] if isinstance(out, tuple) else out
        torch.nn.functional.l1_loss(out, b).backward()
        spread.append(float(out.detach().std()))
        ratio.append(float(weight.grad.norm() / weight.detach().norm()))
    return {"output_std": float(np.mean(spread)), "first_layer_grad_ratio": float(np.mean(ratio)),
            "first_layer": name}


def study_runs():
    """{'<study> <model>/seed<k>': record} of every RoadScene run of the v2 rerun and v3.  v2's own runs are not
    read: the rerun reproduces each of them (with v2's code or the shipped one), so each draw counts once."""
    v3_runs = v3.load_records(RESULTS / "quality_v3" / "roadscene")
    return {**rerun_runs(), **{f"v3 {key}": r for key, r in v3_runs.items()}}


def flat_counts(runs):
    """{model: {'runs': n, 'constant_output': [run keys]}} over the studies' RoadScene runs."""
    flat = {c["run"] for c in constant_runs(runs)}
    out = {}
    for key, r in runs.items():
        entry = out.setdefault(r["model"], {"runs": 0, "constant_output": []})
        entry["runs"] += 1
        if key in flat:
            entry["constant_output"].append(key)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROADSCENE), help="the RoadScene folder (v3's training block gives the crops)")
    p.add_argument("--quick", action="store_true", help="two models, one seed, one crop: the machinery only")
    p.add_argument("--refresh_flat", action="store_true",
                   help="measure nothing: rewrite the newest result file's flat-run counts from the run records now")
    args = p.parse_args(argv)
    if args.refresh_flat:
        found = sorted(RESULTS.glob("quality-initsignal-*.json"))
        if not found:
            raise SystemExit("init_signal: no results/quality-initsignal-*.json to refresh; run without --refresh_flat.")
        report = json.loads(found[-1].read_text())
        report["flat_runs"] = flat_counts(study_runs())
        return write_json(found[-1], report)
    torch.set_num_threads(1)
    data = v3.study_data(args.data)
    pairs = crops(data, 1 if args.quick else CROPS)
    models = {k: MODELS[k] for k in ("fusion paper", "released narrow")} if args.quick else MODELS
    seeds = 1 if args.quick else SEEDS
    start = time.time()
    rows = {}
    for label, options in models.items():
        rows[label] = {init: [signal(options, seed, init, pairs) for seed in range(seeds)] for init in INITS}
        summary = {init: {k: float(np.mean([r[k] for r in rows[label][init]]))
                          for k in ("output_std", "first_layer_grad_ratio")} for init in INITS}
        rows[label] = {"options": options, "per_seed": rows[label], "mean": summary}
        print(f"{label:26} " + "  ".join(f"{init}: output std {summary[init]['output_std']:.2e}, first-layer grad "
                                          f"{summary[init]['first_layer_grad_ratio']:.2e}" for init in INITS), flush=True)
    report = {"what": __doc__.splitlines()[0], "exploratory": True, "seeds": seeds, "crops": len(pairs),
              "crop": CROP, "lwir_std": float(np.mean([float(b.std()) for _, b in pairs])),
              "models": rows, "flat_runs": flat_counts(study_runs()), "machine": machine(),
              "seconds": round(time.time() - start, 1)}
    write_result("quality-initsignal", f"{CROP}px-fp32", report, args.quick)
    return report


if __name__ == "__main__":
    main()
