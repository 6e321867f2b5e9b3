"""Quality study v2 rerun: tables and intervals from the run records (protocols/quality_v2_rerun.md, "Analysis").

    .venv/bin/python -m benchmarks.quality_v2_rerun_report   # -> results/quality_v2_rerun_<study>.json, tables printed

Reads results/quality_v2_rerun/<study>/<code>/*.json (written by quality_v2_rerun.py) and v2's own
results file; uses v2's statistics (`benchmarks.quality.stats`) unchanged.
"""
import argparse
import json

import numpy as np

from benchmarks.common import OUT, RESULTS, write_json
from benchmarks.quality.run_files import run_stem
from benchmarks.quality.stats import hierarchical_ci, seed_ci, seed_std, set_hierarchical, summarise_v2
from benchmarks.quality.v2 import BASELINE, COMPARISONS, MODELS

RECORDS = RESULTS / "quality_v2_rerun"
FEATURES = OUT / "quality_v2_rerun_features"     # each scored run's output features (quality_v2_rerun_sets.py)
REPRODUCES = 5e-4     # a rerun whose mean generate SSIM is within this of v2's run is that run reproduced
SET_METRICS = ("fid", "kid_mean")
V2_RESULTS = {"roadscene": RESULTS / "quality_v2_roadscene.json", "synthetic": RESULTS / "quality_v2_synthetic.json"}
HALF_WIDTH_TARGET = 0.02      # SSIM: the smallest difference v2 reported as a finding
MIN_SEEDS = 5
SEED_DRAWS = 200              # draws of k seeds per k
DRAW_RESAMPLES = 1000         # bootstrap resamples per draw (the headline intervals keep v2's 10,000)


def load_runs(study, code):
    folder = RECORDS / study / code
    runs = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = json.loads(path.read_text())
        runs[f"{record['model']}/seed{record['seed']}"] = record
    return runs


def record_path(study, code, record):
    return RECORDS / study / code / f"{run_stem(record['model'], record['seed'])}.json"


def features_path(record_path):
    """Where a scored run's output features are kept (benchmarks/out, beside the weights)."""
    return FEATURES / record_path.parent.parent.name / record_path.parent.name / (record_path.stem + ".npy")


def real_features_path(study):
    return FEATURES / study / "real.npy"


def ssim(record):
    return float(np.mean(record["final"]["generate"]["ssim"]))


def per_seed(runs_by_source):
    """{model: {source: {seed: SSIM}}} over every source (v2, pre-H, shipped)."""
    table = {}
    for source, runs in runs_by_source.items():
        for record in runs.values():
            table.setdefault(record["model"], {}).setdefault(source, {})[record["seed"]] = round(ssim(record), 4)
    return table


def code_change(pre, shipped):
    """fusion paper, per seed: shipped minus pre-H, beside each code state's own seed spread."""
    seeds = sorted({r["seed"] for r in pre.values() if r["model"] == "fusion paper"}
                   & {r["seed"] for r in shipped.values() if r["model"] == "fusion paper"})
    if not seeds:
        return None
    a = [ssim(pre[f"fusion paper/seed{s}"]) for s in seeds]
    b = [ssim(shipped[f"fusion paper/seed{s}"]) for s in seeds]
    d = np.subtract(b, a)
    return {"seeds": seeds, "shipped_minus_pre_h": [round(float(v), 4) for v in d],
            "mean": float(d.mean()), "std": float(d.std(ddof=1)) if len(d) > 1 else None,
            "ci95_seeds": seed_ci(d) if len(d) > 1 else None,   # the seeds resampled (a seed's draws are paired)
            "pre_h_seed_std": float(np.std(a, ddof=1)) if len(a) > 1 else None,
            "shipped_seed_std": float(np.std(b, ddof=1)) if len(b) > 1 else None}


def seeds_needed(runs, a, b, rng):
    """Mean hierarchical half-width of A - B (generate SSIM) when k of the shared seeds are drawn, per k."""
    pick = lambda label: {r["seed"]: np.array(r["final"]["generate"]["ssim"])  # noqa: E731
                          for r in runs.values() if r["model"] == label}
    A, B = pick(a), pick(b)
    seeds = sorted(set(A) & set(B))
    widths = {}
    for k in range(2, len(seeds) + 1):
        halves = []
        for _ in range(SEED_DRAWS if k < len(seeds) else 1):
            chosen = rng.choice(seeds, k, replace=False)
            low, high = hierarchical_ci(np.array([A[s] - B[s] for s in chosen]), resamples=DRAW_RESAMPLES,
                                        seed=int(rng.integers(1 << 31)))
            halves.append((high - low) / 2)
        widths[k] = float(np.mean(halves))
    enough = next((k for k, w in widths.items() if w <= HALF_WIDTH_TARGET), None)
    return {"seeds": seeds, "mean_half_width": widths,
            "seeds_needed": max(enough, MIN_SEEDS) if enough else None}


def seeds_by_spread(runs, a, b, images_only):
    """Secondary (the protocol's amendment "A second look at seeds"): the seed-to-seed standard deviation of
    A - B (each seed's mean over the images), the seeds a t interval over seeds needs for HALF_WIDTH_TARGET, and
    the image-only half-width beside it: the part of the hierarchical interval that more seeds cannot remove."""
    from scipy.stats import t
    pick = lambda label: {r["seed"]: float(np.mean(r["final"]["generate"]["ssim"]))  # noqa: E731
                          for r in runs.values() if r["model"] == label}
    A, B = pick(a), pick(b)
    seeds = sorted(set(A) & set(B))
    if len(seeds) < 3:
        return None
    sd = float(np.std([A[s] - B[s] for s in seeds], ddof=1))
    half = lambda k: t.ppf(0.975, k - 1) * sd / np.sqrt(k)  # noqa: E731
    needed = next((k for k in range(2, 10_001) if half(k) <= HALF_WIDTH_TARGET), None)
    return {"seeds": seeds, "seed_sd": sd, "t_half_width_now": float(half(len(seeds))), "t_seeds_needed": needed,
            "image_only_half_width": (images_only[1] - images_only[0]) / 2 if images_only else None}


def v2_reproductions(v2, runs_by_code):
    """{v2 run key: (code, rerun record)} for each v2 run a rerun reproduces (mean generate SSIM within
    REPRODUCES), preferring pre-H (v2's code state); v2 runs no rerun reproduces are left out."""
    found = {}
    for key, run in v2.items():
        for code, runs in runs_by_code.items():
            record = runs.get(key)
            if record is not None and abs(ssim(record) - ssim(run)) <= REPRODUCES:
                found[key] = (code, record)
                break
    return found


def set_table(records):
    """{model: {'per_seed': {seed: {fid, kid_mean}}, 'fid': {mean, seed_std}, 'kid_mean': {...}}} of the records
    that have set metrics."""
    table = {}
    for record in records:
        sets = record["final"].get("set_generate")
        if sets:
            entry = table.setdefault(record["model"], {"per_seed": {}})
            entry["per_seed"][str(record["seed"])] = {m: sets[m] for m in SET_METRICS}
    for entry in table.values():
        for m in SET_METRICS:
            values = [v[m] for v in entry["per_seed"].values()]
            entry[m] = {"mean": float(np.mean(values)), "seed_std": seed_std(values)}
    return table


def set_comparisons(study, located):
    """COMPARISONS of FID and KID with hierarchical intervals (stats.set_hierarchical) over `located`
    ({key: (code, record)}), where every run's output features are on this machine; None otherwise."""
    if not real_features_path(study).is_file():
        return None
    real = np.load(real_features_path(study)).astype(np.float64)
    features = {}
    for code, record in located.values():
        path = features_path(record_path(study, code, record))
        if path.is_file():
            features.setdefault(record["model"], {})[record["seed"]] = np.load(path).astype(np.float64)
    out = {}
    for a, b in COMPARISONS:
        if a in features and b in features:
            result = set_hierarchical(features[a], features[b], real)
            if result is not None:
                out[f"{a} - {b}"] = result
    return out


def set_metrics(study, v2, pre, shipped):
    """FID and KID: of v2's runs as the reruns reproduce them, and of the shipped runs, per model and seed with
    comparisons."""
    reproduced = v2_reproductions(v2, {"pre-H": pre, "shipped": shipped})
    shipped_located = {key: ("shipped", record) for key, record in shipped.items()}
    return {"v2_runs_reproduced": {key: code for key, (code, _) in sorted(reproduced.items())},
            "v2_runs_not_reproduced": sorted(set(v2) - set(reproduced)),
            "v2": set_table(record for _, record in reproduced.values()),
            "v2_comparisons": set_comparisons(study, reproduced),
            "pre_h": set_table(pre.values()),
            "shipped": set_table(shipped.values()),
            "shipped_comparisons": set_comparisons(study, shipped_located)}


def report(study):
    shipped, pre = load_runs(study, "shipped"), load_runs(study, "pre-H")
    v2 = json.loads(V2_RESULTS[study].read_text())["runs"] if V2_RESULTS[study].is_file() else {}
    rng = np.random.default_rng(0)
    summary = summarise_v2(shipped, MODELS, COMPARISONS, BASELINE) if shipped else None
    return {"protocol": "benchmarks/protocols/quality_v2_rerun.md", "study": study,
            "per_seed_ssim": per_seed({"v2": v2, "pre-H": pre, "shipped": shipped}),
            "code_change": code_change(pre, shipped),
            "summary_shipped": summary,
            "seeds_needed": {f"{a} - {b}": seeds_needed(shipped, a, b, rng) for a, b in COMPARISONS
                             if sum(r["model"] in (a, b) for r in shipped.values()) >= 4},
            "seeds_by_spread": spread(shipped, summary),
            "set_metrics": set_metrics(study, v2, pre, shipped)}


def spread(shipped, summary):
    """seeds_by_spread of each v2 comparison the shipped runs have (three seeds or more of both models)."""
    out = {}
    for a, b in COMPARISONS:
        c = ((summary or {}).get("comparisons", {}).get(f"{a} - {b}") or {}).get("generate/ssim")
        entry = seeds_by_spread(shipped, a, b, c and c["ci95_images_only"])
        if entry:
            out[f"{a} - {b}"] = entry
    return out


def print_report(r):
    print(f"quality v2 rerun, {r['study']}: generate SSIM per seed")
    for model, sources in r["per_seed_ssim"].items():
        for source, seeds in sources.items():
            print(f"  {model:16s} {source:8s} " + "  ".join(f"{s}:{v:.4f}" for s, v in sorted(seeds.items())))
    if r["code_change"]:
        c = r["code_change"]
        print(f"  fusion paper, shipped - pre-H per seed {c['shipped_minus_pre_h']}, mean {c['mean']:+.4f}")
    for name, entry in ((r["summary_shipped"] or {}).get("comparisons") or {}).items():
        e = entry.get("generate/ssim")
        if e:
            print(f"  {name}: {e['mean']:+.4f} [{e['ci95_hierarchical'][0]:+.4f}, {e['ci95_hierarchical'][1]:+.4f}]"
                  f" over seeds {e['seeds']}")
    sets = r["set_metrics"]
    for source in ("v2", "shipped"):
        for model, entry in sets[source].items():
            print(f"  {source:8s} {model:16s} FID {entry['fid']['mean']:7.1f}  KID {entry['kid_mean']['mean']:.4f}"
                  f"  over seeds {sorted(entry['per_seed'], key=int)}")
        for name, entry in (sets[f"{source}_comparisons"] or {}).items():
            for metric in ("fid", "kid"):
                e = entry[metric]
                print(f"  {source:8s} {name} {metric.upper()}: {e['mean']:+.4g} "
                      f"[{e['ci95_hierarchical'][0]:+.4g}, {e['ci95_hierarchical'][1]:+.4g}] over seeds {e['seeds']}")
    for name, e in r["seeds_by_spread"].items():
        print(f"  seed sd of {name}: {e['seed_sd']:.4f} -> {e['t_seeds_needed']} seeds for a t interval of "
              f"±{HALF_WIDTH_TARGET} over seeds; image-only half-width {e['image_only_half_width']:.4f}")
    for name, entry in r["seeds_needed"].items():
        print(f"  seeds for {name}: " + ", ".join(f"{k}: ±{w:.3f}" for k, w in entry["mean_half_width"].items())
              + f" -> {entry['seeds_needed']}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=("roadscene", "synthetic"), action="append")
    args = p.parse_args(argv)
    for study in args.study or ("roadscene", "synthetic"):
        r = report(study)
        write_json(RESULTS / f"quality_v2_rerun_{study}.json", r)
        print_report(r)


if __name__ == "__main__":
    main()
