"""Statistics of the quality study, version 2 (benchmarks/protocols/quality_v2.md, "Analysis").

    summarise(runs, models, comparisons, baseline) -> {"models": ..., "comparisons": ..., "baseline_flat": ...}

* Per model and scoring mode: each seed's mean over the held-out images (the per-seed table),
  their mean and sample standard deviation, and the training-pair minus held-out gap.
* Per comparison (A, B), on the seeds both have and the same images: the mean paired
  difference A - B with two 95% intervals:
  - hierarchical (the one to read): each of HIERARCHICAL_RESAMPLES resamples draws the seeds
    with replacement, then the images with replacement (the same draws for A and B), and takes
    the mean difference; percentile interval;
  - image-only (version 1's): per image, the difference averaged over the seeds; its mean's
    BCa bootstrap interval (quality_stats.bootstrap_ci).
* The baseline's flatness: its last two curve points' seed-mean SSIM differ by less than the
  seed standard deviation at the last one.
"""
import numpy as np

from quality_stats import bootstrap_ci, curve_stats

METRICS = ("ssim", "psnr", "scc", "ssim_released", "psnr_released")
MODES = ("generate", "test.py", "running")
HIERARCHICAL_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def hierarchical_ci(differences, resamples=HIERARCHICAL_RESAMPLES, seed=BOOTSTRAP_SEED):
    """95% percentile interval of the mean of `differences` (seeds x images), resampling seeds, then images."""
    d = np.asarray(differences, float)
    rng = np.random.default_rng(seed)
    n_seeds, n_images = d.shape
    rows = rng.integers(0, n_seeds, (resamples, n_seeds))
    cols = rng.integers(0, n_images, (resamples, n_images))
    means = np.array([d[r][:, c].mean() for r, c in zip(rows, cols)])
    low, high = np.percentile(means, [2.5, 97.5])
    return [float(low), float(high)]


def per_seed_table(records, mode="generate"):
    """{metric: {seed: mean over the held-out images}} for one model's records."""
    return {m: {str(r["seed"]): float(np.mean(r["final"][mode][m])) for r in records} for m in METRICS}


def model_stats(records):
    out = {"seeds": [r["seed"] for r in records], "params": records[0]["params"],
           "seconds_per_iter": float(np.mean([r["seconds_per_iter"] for r in records])),
           "curve": curve_stats(records)}
    for mode in MODES:
        table = per_seed_table(records, mode)
        out[mode] = {m: {"per_seed": table[m], "mean": float(np.mean(list(table[m].values()))),
                         "seed_std": float(np.std(list(table[m].values()), ddof=1)) if len(records) > 1 else None}
                     for m in METRICS}
    gap = [float(np.mean(r["final"]["train_generate"]["ssim"]) - np.mean(r["final"]["generate"]["ssim"]))
           for r in records]
    out["train_minus_held_out_ssim"] = {"mean": float(np.mean(gap)), "per_seed": gap}
    return out


def paired(records_a, records_b, mode, metric):
    """Mean difference A - B over shared seeds and images, per seed, with both intervals; None if no shared seed."""
    seeds = sorted({r["seed"] for r in records_a} & {r["seed"] for r in records_b})
    if not seeds:
        return None
    pick = lambda records: np.array([next(r for r in records if r["seed"] == s)["final"][mode][metric]  # noqa: E731
                                     for s in seeds])
    d = pick(records_a) - pick(records_b)                               # (seeds, images)
    return {"seeds": seeds, "images": d.shape[1], "mean": float(d.mean()),
            "per_seed": [float(v) for v in d.mean(axis=1)],
            "ci95_hierarchical": hierarchical_ci(d), "ci95_images_only": bootstrap_ci(d.mean(axis=0)),
            "shown": None}


def summarise(runs, models, comparisons, baseline):
    by_model = {label: sorted((r for r in runs.values() if r["model"] == label), key=lambda r: r["seed"])
                for label in models}
    summary = {"models": {label: model_stats(records) for label, records in by_model.items() if records},
               "comparisons": {}}
    for a, b in comparisons:
        if not (by_model[a] and by_model[b]):
            continue
        entry = {}
        for mode in MODES:
            for metric in METRICS:
                result = paired(by_model[a], by_model[b], mode, metric)
                if result is not None:
                    low, high = result["ci95_hierarchical"]
                    result["shown"] = bool(low > 0 or high < 0)
                    entry[f"{mode}/{metric}"] = result
        summary["comparisons"][f"{a} - {b}"] = entry
    base = summary["models"].get(baseline)
    if base and len(base["curve"]) >= 2 and base["curve"][-1]["ssim_std"] is not None:
        step = abs(base["curve"][-1]["ssim_mean"] - base["curve"][-2]["ssim_mean"])
        summary["baseline_flat"] = {"last_step": step, "seed_std": base["curve"][-1]["ssim_std"],
                                    "flat": bool(step < base["curve"][-1]["ssim_std"])}
    return summary


def print_tables(report):
    """The per-seed table and the comparisons, in Markdown (as benchmarks/README.md shows them)."""
    summary = report["summary"]
    print("| model | seeds | SSIM per seed (generate) | SSIM | PSNR (dB) | SCC | SSIM test.py | SSIM running | "
          "train - held-out SSIM | s / it |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, m in summary["models"].items():
        g = m["generate"]
        std = lambda e, d: "" if e["seed_std"] is None else f" ± {e['seed_std']:.{d}f}"  # noqa: E731
        seeds = " ".join(f"{v:.4f}" for v in g["ssim"]["per_seed"].values())
        print(f"| {label} | {len(m['seeds'])} | {seeds} | {g['ssim']['mean']:.4f}{std(g['ssim'], 4)} | "
              f"{g['psnr']['mean']:.2f}{std(g['psnr'], 2)} | {g['scc']['mean']:.4f} | "
              f"{m['test.py']['ssim']['mean']:.4f} | {m['running']['ssim']['mean']:.4f} | "
              f"{m['train_minus_held_out_ssim']['mean']:+.4f} | {m['seconds_per_iter']:.3f} |")
    print()
    print("| comparison | scoring / metric | seeds | mean | per seed | 95% CI hierarchical (read this) | "
          "95% CI images only | shown |")
    print("|---|---|---|---|---|---|---|---|")
    for name, entry in summary["comparisons"].items():
        for key in ("generate/ssim", "generate/psnr", "generate/scc", "test.py/ssim", "running/ssim",
                    "generate/ssim_released"):
            r = entry.get(key)
            if r is None:
                continue
            d = 2 if "psnr" in key else 4
            print(f"| {name} | {key} | {len(r['seeds'])} | {r['mean']:+.{d}f} | "
                  f"{' '.join(f'{v:+.{d}f}' for v in r['per_seed'])} | "
                  f"[{r['ci95_hierarchical'][0]:+.{d}f}, {r['ci95_hierarchical'][1]:+.{d}f}] | "
                  f"[{r['ci95_images_only'][0]:+.{d}f}, {r['ci95_images_only'][1]:+.{d}f}] | "
                  f"{'yes' if r['shown'] else 'no'} |")
    flat = summary.get("baseline_flat")
    if flat:
        print(f"\nbaseline's last step {flat['last_step']:.4f} SSIM against its seed std {flat['seed_std']:.4f}: "
              f"{'flat' if flat['flat'] else 'not yet flat'}")
    print(f"study time: {report['study_seconds'] / 3600:.2f} h over {len(report['runs'])} runs")
