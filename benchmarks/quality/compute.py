"""Multiply-accumulates per 128x128 image of every generator of quality study v3, and the widths that match them.

    python -m benchmarks.quality.compute                  # the table: MACs, parameters, ratio to the reference
    python -m benchmarks.quality.compute --search         # also: the widths within 10% of each reference
    python -m benchmarks.quality.compute --json out.json  # the same, as JSON

Method: one forward pass of the generator as the study trains it (the options benchmarks/pix2pix_step.py builds
it from, through the host's define_G or the plugin's registry), eval mode, on a (1, 3, 128, 128) input, built and
run on the meta device (shapes only, so the 10 G networks cost nothing to count), counted by
torch.utils.flop_counter.FlopCounterMode (convolutions, transposed convolutions and matrix products);
MACs = FLOPs / 2, as benchmarks/speed.py counts them.  Normalisation, activations and the attention's
element-wise arithmetic are not counted (a few percent of a convolution's cost), the same for every model.

--search: the released design's width W (`--mrff_released_width W --mrff_channels round(W / 2)`, the release's
ratio of branch to first-level channels) whose MACs are within 10% of `fusion paper`'s, and the unet_128 ngf and
`paper average` ngf whose MACs are within 10% of the released network's (at the authors' widths).
"""
import argparse
import json
from pathlib import Path

import torch

from benchmarks.common import write_json
from benchmarks.quality.train import GENERATOR_OPTIONS
from benchmarks.quality.v3 import CROP, EXPENSIVE, IF_TIME, MODELS

TOLERANCE = 0.10                     # "within 10%" of the reference's MACs


def options_of(options):
    """A study model's options as the generator is built from them in training (Pix2PixStep: batch norm,
    dropout, 3 -> 1 channels, unless the model says otherwise)."""
    own = {k: options[k] for k in ("mrff_arch", "mrff_fusion") + GENERATOR_OPTIONS if k in options}
    return {"netG": options["netG"], "ngf": options["ngf"], "norm": "batch", "input_nc": 3, "output_nc": 1,
            "no_dropout": False, **own}


def generator(options):
    """The generator of a study model, built on the meta device (shapes only: no memory, no initialisation),
    in eval mode; tests/test_quality_v3.py checks it is the network training builds."""
    from mrff_plugin.generate.network import attach_host
    from mrff_plugin.networks.checkpoint_flags import meta_generator
    networks, _ = attach_host()
    return meta_generator(networks, options_of(options)).eval()


def macs(net, size=CROP):
    """Multiply-accumulates of one forward pass of `net` on a (1, 3, size, size) input (FLOPs / 2), on the
    device of its parameters (the meta device: counted from shapes alone)."""
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.zeros(1, 3, size, size, device=next(net.parameters()).device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops() // 2


def cost(options, size=CROP):
    """{'macs', 'params'} of a study model."""
    net = generator(options)
    return {"macs": macs(net, size), "params": sum(p.numel() for p in net.parameters())}


def reference_of(label):
    return "fusion released" if label in EXPENSIVE + IF_TIME else "fusion paper"


def table(models=MODELS, size=CROP):
    """{label: {'macs', 'params', 'reference', 'ratio_to_reference'}} of every model."""
    costs = {label: cost(options, size) for label, options in models.items()}
    for label, entry in costs.items():
        reference = reference_of(label)
        entry.update(reference=reference, ratio_to_reference=entry["macs"] / costs[reference]["macs"])
    return costs


def search(size=CROP):
    """The widths within TOLERANCE of each reference, with their MACs (module docstring)."""
    paper, released = (cost(MODELS[label], size)["macs"] for label in ("fusion paper", "fusion released"))
    found = {"fusion paper macs": paper, "fusion released macs": released, "released narrow": [],
             "unet_128 ngf": [], "paper average ngf": []}
    for width in range(8, 25):
        options = dict(MODELS["fusion released"], mrff_released_width=width, mrff_channels=max(1, round(width / 2)))
        found["released narrow"].append({"width": width, "mrff_channels": options["mrff_channels"],
                                         "ratio": cost(options, size)["macs"] / paper})
    for ngf in range(152, 185, 4):
        found["unet_128 ngf"].append({"ngf": ngf, "ratio": cost(dict(netG="unet_128", ngf=ngf), size)["macs"]
                                      / released})
    for ngf in range(72, 87, 2):
        found["paper average ngf"].append({"ngf": ngf, "ratio": cost(dict(MODELS["paper average"], ngf=ngf), size)[
            "macs"] / released})
    for key in ("released narrow", "unet_128 ngf", "paper average ngf"):
        for row in found[key]:
            row["within"] = abs(row["ratio"] - 1) <= TOLERANCE
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=CROP, help="image side (default: the study's crop, 128)")
    p.add_argument("--search", action="store_true", help="also list the widths around each reference")
    p.add_argument("--json", type=Path, default=None, help="write the figures here as JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    report = {"method": "torch.utils.flop_counter.FlopCounterMode, one eval-mode forward pass on the meta device, "
                        "MACs = FLOPs / 2",
              "size": args.size, "tolerance": TOLERANCE, "models": table(size=args.size)}
    print(f"MACs per {args.size}x{args.size} image ({report['method']})")
    print("| model | MACs (G) | parameters | reference | ratio |")
    print("|---|---|---|---|---|")
    for label, entry in report["models"].items():
        print(f"| {label} | {entry['macs'] / 1e9:.3f} | {entry['params']:,} | {entry['reference']} | "
              f"{entry['ratio_to_reference'] - 1:+.1%} |")
    if args.search:
        report["search"] = search(args.size)
        for key in ("released narrow", "unet_128 ngf", "paper average ngf"):
            print(f"{key}: " + ", ".join(
                f"{row.get('width', row.get('ngf'))}{'/' + str(row['mrff_channels']) if 'mrff_channels' in row else ''}"
                f" {row['ratio'] - 1:+.1%}{' *' if row['within'] else ''}" for row in report["search"][key]))
    if args.json:
        write_json(args.json, json.loads(json.dumps(report)))
    return report


if __name__ == "__main__":
    main()
