"""What an image with no content scores on v2's RoadScene held-out set, and which runs wrote one.

    .venv/bin/python -m benchmarks.quality.flat_reference   # -> results/quality-v2-flatreference-roadscene-<date>.json

A generator that has stopped learning (every ReLU dead, say) writes the same flat grey for every
input.  On these 34 real LWIR frames such an image scores SSIM 0.54 at mid-grey, above every
trained model of study v2, because much of a thermal frame is smooth: the bar a trained model
has to clear, and the reason a run's detail score (SCC) is read beside its SSIM.  Each flat level
is scored exactly as a model's output is (`score.pair_scores`, the images `mrff generate` ships).
A v2 or rerun record whose outputs had no detail at all (SCC 0 on every held-out image, at every
point of its learning curve) is listed as a constant-output run.  Mid-grey also gets its FID and KID
(`score.set_scores`, as the runs' own), the set metrics' value for no content.
"""
import argparse
import json
import time

import numpy as np
import torch

from benchmarks.common import RESULTS, ROADSCENE, machine, write_json
from benchmarks.quality.score import pair_scores, set_scores
from benchmarks.quality.v2 import study_data

LEVELS = np.linspace(-1.0, 1.0, 65)    # flat outputs in the network's [-1, 1], steps of 1/32


def constant_runs(runs):
    """Records whose outputs had no detail at all (SCC 0 on every held-out image) at every point of the curve."""
    out = []
    for key, r in runs.items():
        scc = r["final"]["generate"]["scc"]
        if max(abs(v) for v in scc) == 0 and all(p["scc_mean"] == 0 for p in r["curve"]):
            out.append({"run": key, "ssim": float(np.mean(r["final"]["generate"]["ssim"])),
                        "psnr": float(np.mean(r["final"]["generate"]["psnr"]))})
    return out


def rerun_runs():
    """{'rerun <code> <model>/seed<k>': record} of the v2 rerun's RoadScene records, every code's folder."""
    runs = {}
    for path in sorted((RESULTS / "quality_v2_rerun" / "roadscene").glob("*/*.json")):
        r = json.loads(path.read_text())
        runs[f"rerun {path.parent.name} {r['model']}/seed{r['seed']}"] = r
    return runs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROADSCENE))
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    data = study_data("roadscene", args.data)["test"]
    levels = []
    for level in LEVELS:
        s = pair_scores([torch.full((1, 1) + lwir.shape, float(level)) for _, lwir in data], data)
        levels.append({"level": float(level), "ssim": float(np.mean(s["ssim"])), "psnr": float(np.mean(s["psnr"])),
                       "ssim_per_image": s["ssim"]})
    best = max(levels, key=lambda x: x["ssim"])
    mid = min(levels, key=lambda x: abs(x["level"]))
    from mrff_plugin import inception
    flat = [torch.full((1, 1) + lwir.shape, mid["level"]) for _, lwir in data]
    sets = set_scores(flat, data, inception.load())
    runs = {}
    v2 = RESULTS / "quality_v2_roadscene.json"
    if v2.is_file():
        runs.update({f"v2 {k}": r for k, r in json.loads(v2.read_text())["runs"].items()})
    runs.update(rerun_runs())
    report = {"what": __doc__.splitlines()[0], "images": len(data), "levels": levels,
              "mid_grey": {**{k: mid[k] for k in ("level", "ssim", "psnr")},
                           **{k: sets[k] for k in ("fid", "kid_mean", "kid_std")}},
              "best_flat": {k: best[k] for k in ("level", "ssim", "psnr")},
              "constant_output_runs": constant_runs(runs), "machine": machine()}
    out = args.out or RESULTS / f"quality-v2-flatreference-roadscene-{time.strftime('%Y%m%d')}.json"
    write_json(out, report)
    print(f"flat mid-grey: SSIM {mid['ssim']:.4f}, PSNR {mid['psnr']:.2f} dB, FID {sets['fid']:.1f}, "
          f"KID {sets['kid_mean']:.4f}; best flat level {best['level']:+.3f}: "
          f"SSIM {best['ssim']:.4f}, PSNR {best['psnr']:.2f} dB")
    for r in report["constant_output_runs"]:
        print(f"constant output: {r['run']} (SSIM {r['ssim']:.4f}, PSNR {r['psnr']:.2f})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
