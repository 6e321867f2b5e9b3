"""Quality study v2 rerun: tables and intervals from the run records (protocols/quality_v2_rerun.md, "Analysis").

    .venv/bin/python -m benchmarks.quality_v2_rerun_report   # -> results/quality_v2_rerun_<study>.json, tables printed

Reads results/quality_v2_rerun/<study>/<code>/*.json (written by quality_v2_rerun.py) and v2's own
results file; uses v2's statistics (`benchmarks.quality.stats`) unchanged.
"""
import argparse
import json

import numpy as np

from benchmarks.common import RESULTS, write_json
from benchmarks.quality.stats import hierarchical_ci, summarise_v2
from benchmarks.quality.v2 import BASELINE, COMPARISONS, MODELS

RECORDS = RESULTS / "quality_v2_rerun"
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


def report(study):
    shipped, pre = load_runs(study, "shipped"), load_runs(study, "pre-H")
    v2 = json.loads(V2_RESULTS[study].read_text())["runs"] if V2_RESULTS[study].is_file() else {}
    rng = np.random.default_rng(0)
    return {"protocol": "benchmarks/protocols/quality_v2_rerun.md", "study": study,
            "per_seed_ssim": per_seed({"v2": v2, "pre-H": pre, "shipped": shipped}),
            "code_change": code_change(pre, shipped),
            "summary_shipped": summarise_v2(shipped, MODELS, COMPARISONS, BASELINE) if shipped else None,
            "seeds_needed": {f"{a} - {b}": seeds_needed(shipped, a, b, rng) for a, b in COMPARISONS
                             if sum(r["model"] in (a, b) for r in shipped.values()) >= 4}}


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
