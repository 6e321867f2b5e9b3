"""Statistics of the quality studies: seed means and spreads, paired differences, bootstrap intervals, tables.

Version 1 (`summarise_v1(runs, study, labels, baseline)`):
* at every evaluation, mean and sample standard deviation over the seeds of each model's held-out SSIM,
  PSNR and SCC (each seed's value is its mean over the held-out pairs);
* at the end, the paired per-image differences, model minus baseline on the same held-out pairs (each
  image's score averaged over the seeds both models have), with a 95% bootstrap confidence interval of
  their mean (scipy.stats.bootstrap, BCa, 10,000 resamples, fixed seed); the per-seed differences beside it;
* the ratio of iterations a model needs to reach the baseline's final mean SSIM (first evaluation at or
  above it) to the baseline's own iterations (the paper: 60k / 140k = 0.43).

Version 2 (`summarise_v2(runs, models, comparisons, baseline)`, benchmarks/protocols/quality_v2.md, "Analysis"):
* per model and scoring mode, each seed's mean over the held-out images (the per-seed table), their mean
  and sample standard deviation, and the training-pair minus held-out gap;
* per comparison (A, B), on the seeds both have and the same images, the mean paired difference A - B with
  two 95% intervals: hierarchical (the one to read; each of HIERARCHICAL_RESAMPLES resamples draws the
  seeds with replacement, then the images with replacement, the same draws for A and B, and takes the mean
  difference; percentile interval) and image-only (version 1's BCa interval of the per-image differences
  averaged over the seeds).

Both: whether the baseline's curve has flattened -- its last two evaluations differ by less than the seed
spread at the last one.
"""
import numpy as np

from benchmarks.quality.score import MODES

METRICS = ("ssim", "psnr", "scc")                                  # both versions, along the curve too
V2_METRICS = METRICS + ("ssim_released", "psnr_released")        # version 2's final scores
BOOTSTRAP_RESAMPLES = 10_000
HIERARCHICAL_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def seed_std(values):
    """Sample standard deviation over seeds, None for one seed."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def curve_stats(records):
    """Per evaluated iteration: mean and std over seeds (only iterations every seed has)."""
    iters = sorted(set.intersection(*(set(p["iter"] for p in r["curve"]) for r in records)))
    rows = []
    for it in iters:
        row = {"iter": it}
        for m in METRICS:
            values = [next(p[f"{m}_mean"] for p in r["curve"] if p["iter"] == it) for r in records]
            row[f"{m}_mean"], row[f"{m}_std"] = float(np.mean(values)), seed_std(values)
        rows.append(row)
    return rows


def final_stats(records):
    """Final held-out mean and seed std per metric, and the train minus held-out gap."""
    out = {}
    for m in METRICS:
        per_seed = [float(np.mean(r["final"]["held_out"][m])) for r in records]
        out[f"{m}_mean"], out[f"{m}_std"] = float(np.mean(per_seed)), seed_std(per_seed)
        out[f"{m}_per_seed"] = per_seed
        gap = [float(np.mean(r["final"]["train"][m]) - np.mean(r["final"]["held_out"][m])) for r in records]
        out[f"{m}_train_minus_held_out"] = float(np.mean(gap))
    return out


def flatness(curve):
    """{'last_step', 'seed_std', 'flat'}: whether a seed-averaged curve's last SSIM step is below the seed
    spread at its last point; None with fewer than two points or a single seed."""
    if len(curve) < 2 or curve[-1]["ssim_std"] is None:
        return None
    step = abs(curve[-1]["ssim_mean"] - curve[-2]["ssim_mean"])
    return {"last_step": step, "seed_std": curve[-1]["ssim_std"], "flat": bool(step < curve[-1]["ssim_std"])}


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


def summarise_v1(runs, study, labels, baseline):
    """Version 1's summary of `runs` (a dict of run records): see the module's docstring."""
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
    return {"models": models, "vs_baseline": vs_baseline, "baseline_final_ssim": target,
            "baseline_flat": flatness(base_curve)}


# ---------------------------------------------------------------- version 2

def hierarchical_ci(differences, resamples=HIERARCHICAL_RESAMPLES, seed=BOOTSTRAP_SEED):
    """95% percentile interval of the mean of `differences` (seeds x images), resampling seeds, then images."""
    d = np.asarray(differences, float)
    rng = np.random.default_rng(seed)
    n_seeds, n_images = d.shape
    rows = rng.integers(0, n_seeds, (resamples, n_seeds))
    cols = rng.integers(0, n_images, (resamples, n_images))
    resampled = np.array([d[r][:, c].mean() for r, c in zip(rows, cols)])
    low, high = np.percentile(resampled, [2.5, 97.5])
    return [float(low), float(high)]


def per_seed_table(records, mode="generate"):
    """{metric: {seed: mean over the held-out images}} for one model's records."""
    return {m: {str(r["seed"]): float(np.mean(r["final"][mode][m])) for r in records} for m in V2_METRICS}


def model_stats(records):
    """Version 2's per-model entry: seeds, parameters, curve, per-seed tables of every mode, the overfitting gap."""
    out = {"seeds": [r["seed"] for r in records], "params": records[0]["params"],
           "seconds_per_iter": float(np.mean([r["seconds_per_iter"] for r in records])),
           "curve": curve_stats(records)}
    for mode in MODES:
        table = per_seed_table(records, mode)
        out[mode] = {m: {"per_seed": table[m], "mean": float(np.mean(list(table[m].values()))),
                         "seed_std": seed_std(list(table[m].values()))}
                     for m in V2_METRICS}
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


def summarise_v2(runs, models, comparisons, baseline):
    """Version 2's summary of `runs` (a dict of run records, keyed "<model>/seed<k>"): per-model tables and
    the comparisons (A, B) with their hierarchical and image-only intervals; see the module's docstring."""
    by_model = {label: sorted((r for r in runs.values() if r["model"] == label), key=lambda r: r["seed"])
                for label in models}
    summary = {"models": {label: model_stats(records) for label, records in by_model.items() if records},
               "comparisons": {}}
    for a, b in comparisons:
        if not (by_model[a] and by_model[b]):
            continue
        entry = {}
        for mode in MODES:
            for metric in V2_METRICS:
                result = paired(by_model[a], by_model[b], mode, metric)
                if result is not None:
                    low, high = result["ci95_hierarchical"]
                    result["shown"] = excludes_zero(low, high)
                    entry[f"{mode}/{metric}"] = result
        summary["comparisons"][f"{a} - {b}"] = entry
    base = summary["models"].get(baseline)
    flat = flatness(base["curve"]) if base else None
    if flat:
        summary["baseline_flat"] = flat
    return summary


def print_tables_v2(report):
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


def print_table_v1(report):
    """The study's table in Markdown (as benchmarks/README.md shows it): final held-out scores, mean ± seed
    std, the 95% CI of the paired difference from the baseline, iterations to the baseline's final SSIM."""
    summary, study, baseline = report["summary"], report["study"], report["baseline"]
    print(f"| model | seeds | SSIM | PSNR (dB) | SCC | SSIM - {baseline} [95% CI] | PSNR - {baseline} [95% CI] | "
          f"SCC - {baseline} [95% CI] | iterations to {baseline}'s final SSIM | s / iteration |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, entry in summary["models"].items():
        f = entry.get("final")
        if not f:
            continue
        diff = summary["vs_baseline"].get(label) or {}

        def ci(metric, digits):
            d = diff.get(metric)
            return "-" if not d else (f"{d['mean']:+.{digits}f} [{d['ci95'][0]:+.{digits}f}, "
                                      f"{d['ci95'][1]:+.{digits}f}]")
        std = lambda m: "" if f[f"{m}_std"] is None else f" ± {f[m + '_std']:.{2 if m == 'psnr' else 4}f}"  # noqa: E731
        reached = entry.get("iters_to_baseline_final_ssim")
        to_base = "-" if "iters_to_baseline_final_ssim" not in entry else (
            f"not within {study['iters']}" if reached is None else f"{reached} ({reached / study['iters']:.2f})")
        print(f"| {label} | {entry['seeds']} | {f['ssim_mean']:.4f}{std('ssim')} | {f['psnr_mean']:.2f}{std('psnr')} | "
              f"{f['scc_mean']:.4f}{std('scc')} | {ci('ssim', 4)} | {ci('psnr', 2)} | {ci('scc', 4)} | {to_base} | "
              f"{entry['seconds_per_iter']:.2f} |")
    for name, c in report["ceiling"].items():
        print(f"oracle {name}: SSIM {c['ssim_mean']:.4f}, PSNR {c['psnr_mean']:.2f}, SCC {c['scc_mean']:.4f}")
    flat = summary.get("baseline_flat")
    if flat:
        print(f"baseline's last step {flat['last_step']:.4f} SSIM against its seed std {flat['seed_std']:.4f}: "
              f"{'flat' if flat['flat'] else 'not yet flat'}")
    print(f"study time so far: {report['study_seconds'] / 3600:.2f} h over {len(report['runs'])} runs")



# ---------------------------------------------------------------- version 3

SET_METRICS = ("fid", "kid_mean")   # version 3: one figure per run (no per-image values), lower is better


def seed_ci(differences, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """95% percentile interval of the mean of per-seed `differences`, resampling the seeds."""
    d = np.asarray(differences, float)
    rng = np.random.default_rng(seed)
    resampled = d[rng.integers(0, len(d), (resamples, len(d)))].mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return [float(low), float(high)]


def set_paired(records_a, records_b, metric):
    """A - B of a set metric (FID, KID) over the seeds both have, with the seed-resampling interval; None if
    no shared seed has it."""
    value = lambda r: (r["final"].get("set_generate") or {}).get(metric)  # noqa: E731
    seeds = sorted({r["seed"] for r in records_a if value(r) is not None}
                   & {r["seed"] for r in records_b if value(r) is not None})
    if not seeds:
        return None
    pick = lambda records: np.array([value(next(r for r in records if r["seed"] == s)) for s in seeds])  # noqa: E731
    d = pick(records_a) - pick(records_b)
    low, high = seed_ci(d)
    return {"seeds": seeds, "mean": float(d.mean()), "per_seed": [float(v) for v in d], "ci95_seeds": [low, high],
            "shown": excludes_zero(low, high)}


def peak(curve, key):
    """The curve point with the highest `key` (the earliest of ties)."""
    return max(curve, key=lambda point: (point[key], -point["iter"]))


def schedule_stats(records):
    """Per model: the iteration of each seed's best held-out SSIM, and of its validation peak with the held-out
    SSIM there (what stopping at the validation peak would have given), beside the final one and the one at the
    first curve point (where a run that has barely left its initial, almost flat, output scores close to a flat
    image)."""
    best = [peak(r["curve"], "ssim_mean")["iter"] for r in records]
    at_peak = [peak(r["curve"], "val_ssim_mean") for r in records]
    return {"best_test_iter": {"per_seed": best, "mean": float(np.mean(best)), "seed_std": seed_std(best),
                               "min": min(best), "max": max(best)},
            "val_peak_iter": {"per_seed": [p["iter"] for p in at_peak]},
            "test_ssim_at_val_peak": {"per_seed": [p["ssim_mean"] for p in at_peak],
                                      "mean": float(np.mean([p["ssim_mean"] for p in at_peak]))},
            "test_ssim_final": {"mean": float(np.mean([np.mean(r["final"]["generate"]["ssim"]) for r in records]))},
            "test_ssim_first_point": {"iter": records[0]["curve"][0]["iter"],
                                      "per_seed": [r["curve"][0]["ssim_mean"] for r in records],
                                      "mean": float(np.mean([r["curve"][0]["ssim_mean"] for r in records]))}}


def paired_at_val_peak(records_a, records_b):
    """A - B of held-out SSIM, each seed's run taken at its own validation peak, with the hierarchical interval."""
    seeds = sorted({r["seed"] for r in records_a} & {r["seed"] for r in records_b})
    if not seeds:
        return None
    pick = lambda records: np.array([peak(next(r for r in records if r["seed"] == s)["curve"],  # noqa: E731
                                          "val_ssim_mean")["test"]["ssim"] for s in seeds])
    d = pick(records_a) - pick(records_b)
    low, high = hierarchical_ci(d)
    return {"seeds": seeds, "mean": float(d.mean()), "per_seed": [float(v) for v in d.mean(axis=1)],
            "ci95_hierarchical": [low, high], "shown": excludes_zero(low, high)}


def excludes_zero(low, high):
    """Whether a difference's interval is shown: it excludes 0."""
    return bool(low > 0 or high < 0)


def finding(result):
    """What a comparison shows: 'higher' or 'lower' where its interval excludes 0, else 'not shown'."""
    return ("higher" if result["mean"] > 0 else "lower") if result["shown"] else "not shown"


def summarise_v3(runs, models, comparisons, baseline):
    """Version 3's summary: version 2's (per-model tables, comparisons with hierarchical intervals), and for
    version 3 the set metrics' comparisons (seed-resampling intervals), each model's schedule, each comparison
    at the validation peaks, and the ranking by final and by validation-peak held-out SSIM."""
    summary = summarise_v2(runs, models, comparisons, baseline)
    by_model = {label: sorted((r for r in runs.values() if r["model"] == label), key=lambda r: r["seed"])
                for label in models}
    for label, records in by_model.items():
        if records:
            summary["models"][label]["schedule"] = schedule_stats(records)
            sets = [r["final"].get("set_generate") for r in records if r["final"].get("set_generate")]
            if sets:
                summary["models"][label]["set_generate"] = {
                    m: {"per_seed": {str(r["seed"]): r["final"]["set_generate"][m] for r in records
                                     if r["final"].get("set_generate")},
                        "mean": float(np.mean([s[m] for s in sets])), "seed_std": seed_std([s[m] for s in sets])}
                    for m in SET_METRICS}
    for a, b in comparisons:
        name = f"{a} - {b}"
        if name not in summary["comparisons"]:
            continue
        for metric in SET_METRICS:
            result = set_paired(by_model[a], by_model[b], metric)
            if result is not None:
                summary["comparisons"][name][f"set/{metric}"] = result
        summary["comparisons"][name]["val_peak/ssim"] = paired_at_val_peak(by_model[a], by_model[b])
    ranked = [label for label in models if by_model[label]]
    final = sorted(ranked, key=lambda label: -summary["models"][label]["schedule"]["test_ssim_final"]["mean"])
    stopped = sorted(ranked, key=lambda label: -summary["models"][label]["schedule"]["test_ssim_at_val_peak"]["mean"])
    changed = [name for name, entry in summary["comparisons"].items()
               if entry.get("val_peak/ssim") and "generate/ssim" in entry
               and finding(entry["val_peak/ssim"]) != finding(entry["generate/ssim"])]
    summary["schedule"] = {"ranking_final": final, "ranking_at_val_peak": stopped,
                           "ranking_changes": final != stopped, "comparisons_whose_finding_changes": changed}
    return summary


# ---------------------------------------------------------------- set metrics (FID, KID) with images resampled

def _grams(fake, real):
    """The three Gram matrices (images x images, float64) every resampled FID and KID is computed from."""
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    return fake @ fake.T, real @ real.T, fake @ real.T


def resampled_fid(grams, cols):
    """FID (metrics_fid.fid's N x N route) of fake[c] against real[c] for each row c of `cols` (R, N), from the
    Gram matrices alone: centring is H G H with H = I - 11'/N, the trace of the covariances' product's root is
    the nuclear norm of the centred cross Gram matrix over sqrt((N-1)^2)."""
    g_ff, g_rr, g_fr = grams
    n = cols.shape[1]
    pick = lambda g: g[cols[:, :, None], cols[:, None, :]]  # noqa: E731
    ff, rr, fr = pick(g_ff), pick(g_rr), pick(g_fr)
    h = np.eye(n) - 1.0 / n
    centred = h @ fr @ h
    trace_root = np.linalg.svd(centred, compute_uv=False).sum(axis=1) / (n - 1)
    traces = (np.einsum("rii->r", h @ ff @ h) + np.einsum("rii->r", h @ rr @ h)) / (n - 1)
    mean_gap = (ff.sum(axis=(1, 2)) + rr.sum(axis=(1, 2)) - 2 * fr.sum(axis=(1, 2))) / n ** 2
    return mean_gap + traces - 2.0 * trace_root


def resampled_kid(grams, cols, dims):
    """The unbiased MMD^2 with KID's kernel (metrics_fid) of fake[c] against real[c] for each row c of `cols`:
    within a set, pairs of the same source image (the duplicates resampling makes) are left out, so a resample
    holds only the pairs an unbiased estimate may use; with c = all images once it is metrics_fid's MMD^2 of the
    whole sets."""
    from mrff_plugin.metrics_fid import KID_COEF, KID_DEGREE
    kernel = lambda g: (g / dims + KID_COEF) ** KID_DEGREE  # noqa: E731
    k_ff, k_rr, k_fr = (kernel(g) for g in grams)
    pick = lambda k: k[cols[:, :, None], cols[:, None, :]]  # noqa: E731
    distinct = cols[:, :, None] != cols[:, None, :]
    within = ((pick(k_ff) + pick(k_rr)) * distinct).sum(axis=(1, 2)) / distinct.sum(axis=(1, 2))
    return within - 2.0 * pick(k_fr).mean(axis=(1, 2))


def set_hierarchical(fake_a, fake_b, real, resamples=HIERARCHICAL_RESAMPLES, seed=BOOTSTRAP_SEED):
    """A - B of FID and KID ({seed: (N, D) features} per model, `real` (N, D)), over the seeds both have: per-seed
    differences on the whole sets and the hierarchical 95% interval of their mean -- seeds resampled, then images
    (one draw of image indices per resample, the same for both models and the real set, as hierarchical_ci
    draws them), each resample's FID and KID recomputed.  Duplicated images bias a resample's FID upwards for
    both models alike; KID leaves their pairs out (resampled_kid)."""
    seeds = sorted(set(fake_a) & set(fake_b))
    if not seeds:
        return None
    real = np.asarray(real, np.float64)
    n, dims = real.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(seeds), (resamples, len(seeds)))
    cols = rng.integers(0, n, (resamples, n))
    whole = np.arange(n)[None]
    out = {}
    for metric, compute in (("fid", resampled_fid), ("kid", lambda g, c: resampled_kid(g, c, dims))):
        per_seed = np.empty(len(seeds))
        draws = np.empty((len(seeds), resamples))
        for i, s in enumerate(seeds):
            ga, gb = _grams(fake_a[s], real), _grams(fake_b[s], real)
            per_seed[i] = compute(ga, whole)[0] - compute(gb, whole)[0]
            for start in range(0, resamples, 1000):
                chunk = cols[start:start + 1000]
                draws[i, start:start + 1000] = compute(ga, chunk) - compute(gb, chunk)
        resampled = draws[rows, np.arange(resamples)[:, None]].mean(axis=1)
        low, high = np.percentile(resampled, [2.5, 97.5])
        out[metric] = {"seeds": seeds, "mean": float(per_seed.mean()), "per_seed": [float(v) for v in per_seed],
                       "ci95_hierarchical": [float(low), float(high)], "shown": excludes_zero(low, high)}
    return out
