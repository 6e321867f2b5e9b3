"""Output contrast at the end: how much of a real frame's contrast does each finished version 3 run put out?

    python -m benchmarks.quality.final_contrast                      # -> results/quality-finalcontrast-128px-fp32-<cpu>-pt<torch>-<date>.json
    python -m benchmarks.quality.final_contrast --only "fusion released" --only "unet 10G"
    python -m benchmarks.quality.final_contrast --quick              # machinery only (benchmarks/out/)

Exploratory, outside every protocol: measured after version 3's `fusion released` seed 1 had finished with held-out
SSIM 0.498 and SCC -0.001, its curve at the flat grey image's score (0.537) from iteration 200 to 1200, without
meeting the study's test for a failed run (SCC exactly 0 on every image at every curve point).  SSIM rewards a
low-contrast output on these smooth thermal frames, and the records keep SSIM, PSNR and SCC only, none of which
tells a nearly flat output from a detailed one.

For every version 3 run whose generator is kept (its sha256 checked against the record), its held-out images are
generated whole as `mrff generate` runs the model, checked against the record (their SSIM beside the record's final
`generate` SSIM, image by image), and measured as early_spread.py measures them: the standard deviation of each
output's pixels over its real LWIR frame's (1 is the real frame's contrast, 0 a flat image), mean over images.
Beside them, Spearman's rank correlation of contrast with SSIM over the runs measured, with and without the runs that
wrote constant output (flat_reference.py's test).
Runs already measured with the same weights are taken from benchmarks/out/final_contrast_runs.json, so a stopped
measurement goes on where it stopped.
"""
import argparse
import json
import time

import numpy as np
import torch

from benchmarks.common import OUT, RESULTS, ROADSCENE, machine, write_json, write_result
from benchmarks.quality import v3
from benchmarks.quality.early_spread import WEIGHTS, final_outputs, spread
from benchmarks.quality.flat_reference import constant_runs
from benchmarks.quality.score import pair_scores
from benchmarks.quality.train import make_step

DEVICE = torch.device("cpu")
DONE = OUT / "final_contrast_runs.json"      # the runs measured so far, keyed by run and weights


def measure(label, seed, data, setup, record, weights_dir=WEIGHTS):
    """One finished run's row from its kept weights; None where the weights are missing or not the record's."""
    step = make_step(setup["models"][label], setup, seed, DEVICE)
    outputs = final_outputs(step, label, seed, record, data, setup, weights_dir)
    if outputs is None:
        return None
    ssim = pair_scores(outputs, data["test"])["ssim"]
    recorded = record["final"]["generate"]["ssim"]
    contrast = spread(outputs, data["test"])
    return {"ssim": float(np.mean(ssim)), "max_ssim_difference_from_record": float(np.max(np.abs(np.subtract(ssim, recorded)))),
            "scc": float(np.mean(record["final"]["generate"]["scc"])),
            "output_contrast": float(np.mean(contrast)), "output_contrast_lowest_image": float(np.min(contrast))}


def rank_correlation(rows):
    """Spearman's rank correlation of the runs' output contrast with their held-out SSIM, the models pooled: over
    every run measured, and without the runs that wrote constant output (where at least 3 are left)."""
    from scipy.stats import spearmanr
    runs = [row for per_seed in rows.values() for row in per_seed.values()]
    out = {}
    for name, chosen in (("all runs", runs), ("without constant output", [r for r in runs if not r["constant_output"]])):
        if len(chosen) >= 3:
            rho, p = spearmanr([r["output_contrast"] for r in chosen], [r["ssim"] for r in chosen])
            out[name] = {"runs": len(chosen), "spearman_rho": float(rho), "p_value": float(p)}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROADSCENE), help="the RoadScene folder")
    p.add_argument("--only", action="append", choices=list(v3.MODELS), help="measure only this model (repeatable)")
    p.add_argument("--quick", action="store_true", help="one quick run trained here, 2 images: the machinery only")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    setup = v3.settings(args.quick)
    data = v3.study_data(args.data)
    if args.quick:
        from benchmarks.quality.train import train_run_v3
        data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
        weights, done_path = OUT / "final_contrast_quick_weights", OUT / "final_contrast_quick_runs.json"
        records = {"unet matched/seed0": train_run_v3("unet matched", 0, data, setup, DEVICE, weights)}
    else:
        weights, done_path = WEIGHTS, DONE
        records = v3.load_records(RESULTS / "quality_v3" / "roadscene")
    done = json.loads(done_path.read_text()) if done_path.is_file() else {}
    start, rows = time.time(), {}
    order = list(v3.MODELS)
    for key, record in sorted(records.items(), key=lambda kv: (order.index(kv[1]["model"]), kv[1]["seed"])):
        label, seed = record["model"], record["seed"]
        if args.only and label not in args.only:
            continue
        cached = done.get(key)
        if cached and cached["weights_sha256"] == record["weights"]["sha256"]:
            row = cached["row"]
        else:
            row = measure(label, seed, data, setup, record, weights)
            if row is None:
                print(f"{key}: its kept weights are missing or not the record's; left out", flush=True)
                continue
            done[key] = {"weights_sha256": record["weights"]["sha256"], "row": row}
            write_json(done_path, done)
        rows.setdefault(label, {})[seed] = row = dict(row, constant_output=bool(constant_runs({key: record})))
        print(f"{label:24} seed {seed}: output contrast {row['output_contrast']:.3f}, SSIM {row['ssim']:.4f} "
              f"(record: max difference {row['max_ssim_difference_from_record']:.1e})", flush=True)
    report = {"what": __doc__.splitlines()[0], "exploratory": True, "held_out_images": len(data["test"]),
              "models": rows, "contrast_against_ssim": rank_correlation(rows), "machine": machine(),
              "seconds": round(time.time() - start, 1)}
    write_result("quality-finalcontrast", f"{setup['crop']}px-fp32", report, args.quick)
    return report


if __name__ == "__main__":
    main()
