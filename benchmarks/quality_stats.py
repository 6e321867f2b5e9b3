"""Statistics of the quality study (benchmarks/quality.py): seed means and spreads, paired differences.

    summarise(runs, study, labels, baseline) -> {"models": {...}, "vs_baseline": {...}, "baseline_flat": ...}

* At every evaluation: mean and sample standard deviation over the seeds of each model's
  held-out SSIM, PSNR and SCC (each seed's value is its mean over the held-out pairs).
* At the end: the paired per-image differences, model minus baseline on the same held-out pairs
  (each image's score averaged over the seeds both models have), with a 95% bootstrap
  confidence interval of their mean (scipy.stats.bootstrap, BCa, 10,000 resamples, fixed seed);
  the per-seed differences of the means beside it.
* The ratio of iterations a model needs to reach the baseline's final mean SSIM (first
  evaluation at or above it) to the baseline's own iterations (the paper: 60k / 140k = 0.43).
* Whether the baseline's curve has flattened: its last two evaluations differ by less than
  the seed spread at the last one.
"""
import numpy as np

METRICS = ("ssim", "psnr", "scc")
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def curve_stats(records):
    """Per evaluated iteration: mean and std over seeds (only iterations every seed has)."""
    iters = sorted(set.intersection(*(set(p["iter"] for p in r["curve"]) for r in records)))
    rows = []
    for it in iters:
        row = {"iter": it}
        for m in METRICS:
            values = [next(p[f"{m}_mean"] for p in r["curve"] if p["iter"] == it) for r in records]
            row[f"{m}_mean"], row[f"{m}_std"] = float(np.mean(values)), _std(values)
        rows.append(row)
    return rows


def final_stats(records):
    """Final held-out mean and seed std per metric, and the train minus held-out gap."""
    out = {}
    for m in METRICS:
        per_seed = [float(np.mean(r["final"]["held_out"][m])) for r in records]
        out[f"{m}_mean"], out[f"{m}_std"] = float(np.mean(per_seed)), _std(per_seed)
        out[f"{m}_per_seed"] = per_seed
        gap = [float(np.mean(r["final"]["train"][m]) - np.mean(r["final"]["held_out"][m])) for r in records]
        out[f"{m}_train_minus_held_out"] = float(np.mean(gap))
    return out


def bootstrap_ci(differences):
    """95% BCa bootstrap confidence interval of the mean of paired differences."""
    from scipy.stats import bootstrap
    d = np.asarray(differences, float)
    if len(d) < 2 or np.all(d == d[0]):
        return [float(d.mean()), float(d.mean())]
    result = bootstrap((d,), np.mean, confidence_level=0.95, n_resamples=BOOTSTRAP_RESAMPLES, method="BCa",
                       random_state=np.random.default_rng(BOOTSTRAP_SEED))
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def paired_difference(model_records, baseline_records):
    """Model minus baseline on the same held-out pairs, over the seeds both have."""
    seeds = sorted({r["seed"] for r in model_records} & {r["seed"] for r in baseline_records})
    if not seeds:
        return None
    pick = lambda records: [next(r for r in records if r["seed"] == s) for s in seeds]  # noqa: E731
    model, base = pick(model_records), pick(baseline_records)
    out = {"seeds": seeds}
    for m in METRICS:
        per_image = (np.mean([r["final"]["held_out"][m] for r in model], axis=0)
                     - np.mean([r["final"]["held_out"][m] for r in base], axis=0))
        out[m] = {"mean": float(per_image.mean()), "ci95": bootstrap_ci(per_image),
                  "per_seed": [float(np.mean(a["final"]["held_out"][m]) - np.mean(b["final"]["held_out"][m]))
                               for a, b in zip(model, base)],
                  "images": len(per_image)}
    return out


def iterations_to_reach(curve, target):
    """First evaluated iteration whose mean SSIM >= target, or None."""
    return next((row["iter"] for row in curve if row["ssim_mean"] >= target), None)


def summarise(runs, study, labels, baseline):
    by_model = {label: sorted((r for r in runs.values() if r["model"] == label), key=lambda r: r["seed"])
                for label in labels}
    models, vs_baseline = {}, {}
    base_records = by_model.get(baseline) or []
    base_curve = curve_stats(base_records) if base_records else []
    target = base_curve[-1]["ssim_mean"] if base_curve and base_curve[-1]["iter"] == study["iters"] else None
    for label, records in by_model.items():
        if not records:
            models[label] = {"seeds": 0}
            continue
        curve = curve_stats(records)
        entry = {"seeds": len(records), "curve": curve,
                 "seconds_per_iter": float(np.mean([r["seconds_per_iter"] for r in records])),
                 "params": records[0]["params"]}
        if curve and curve[-1]["iter"] == study["iters"]:
            entry["final"] = final_stats(records)
        first = next((r for r in records if r["seed"] == 0), None)
        if first and "eval_mode" in first["curve"][0]:
            entry["seed0_eval_mode"] = [{"iter": p["iter"], **p["eval_mode"]} for p in first["curve"]]
            entry["seed0_test_py_mode"] = [{"iter": p["iter"], **{f"{m}_mean": p[f"{m}_mean"] for m in METRICS}}
                                           for p in first["curve"]]
        if target is not None:
            reached = iterations_to_reach(curve, target)
            entry["iters_to_baseline_final_ssim"] = reached
            entry["iters_ratio_to_baseline"] = None if reached is None else reached / study["iters"]
        models[label] = entry
        if label != baseline and base_records:
            vs_baseline[label] = paired_difference(records, base_records)
    flat = None
    if len(base_curve) >= 2 and base_curve[-1]["ssim_std"] is not None:
        step = abs(base_curve[-1]["ssim_mean"] - base_curve[-2]["ssim_mean"])
        flat = {"last_step": step, "seed_std": base_curve[-1]["ssim_std"], "flat": step < base_curve[-1]["ssim_std"]}
    return {"models": models, "vs_baseline": vs_baseline, "baseline_final_ssim": target, "baseline_flat": flat}
