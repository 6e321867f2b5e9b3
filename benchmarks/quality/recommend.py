"""Which generator to train on real LWIR, at each budget: the quality studies' records, read by one fixed rule.

    python -m benchmarks.quality.recommend     # -> results/quality_recommendation.json (then scripts/render_results.py)

The rule is the v3 protocol's section "The recommendation" (benchmarks/protocols/quality_v3.md), fixed before
any v3 run:

* three budgets, each the models within 10% of a reference's MACs per 128x128 image (`unet_128` ngf 16,
  `fusion paper`, `fusion released`), counted as benchmarks/quality/compute.py counts them;
* at each budget one source: version 3's records once every v3 model at that budget has its seeds, else the
  v2 rerun's RoadScene records of the shipped code (never both: they train on 111 and 130 pairs);
* a candidate has at least 5 seeds (3 at 10 G); a model with a run that wrote constant output
  (flat_reference.constant_runs) is listed, not recommended;
* the winner has the highest seed-mean held-out SSIM (`generate` scoring); every other candidate gets the
  winner-minus-it SSIM difference (hierarchical interval) and KID difference (seeds-only interval);
* the flat mid-grey image's scores on the same held-out images stand beside.

scripts/render_results.py turns the JSON into docs/recommendation.md and the preset options/real_lwir.txt.
"""
import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, ROADSCENE, commit_of, write_json
from benchmarks.quality import v3
from benchmarks.quality.compute import TOLERANCE, cost
from benchmarks.quality.flat_reference import constant_runs
from benchmarks.quality.stats import excludes_zero, finding, paired, seed_std, set_paired

OUT_FILE = RESULTS / "quality_recommendation.json"
RERUN = RESULTS / "quality_v2_rerun" / "roadscene" / "shipped"
V3 = RESULTS / "quality_v3" / "roadscene"
FLAT = "quality-v2-flatreference-roadscene-"
BUDGETS = {                                     # name: the reference model whose MACs define it
    "0.1 G": ("unet", dict(netG="unet_128", ngf=16)),
    "0.6 G": ("fusion paper", v3.MODELS["fusion paper"]),
    "10 G": ("fusion released", v3.MODELS["fusion released"]),
}
MIN_SEEDS = {"0.1 G": 5, "0.6 G": 5, "10 G": 3}
PRESET_BUDGET = "0.6 G"                         # the preset trains this budget's winner
SOURCES = {"v2 rerun": "benchmarks/protocols/quality_v2_rerun.md", "v3": v3.PROTOCOL}


def load(folder):
    """{model: [records]} of a folder of run records (empty where there is none)."""
    models = {}
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        record = json.loads(path.read_text())
        models.setdefault(record["model"], []).append(record)
    return {label: sorted(records, key=lambda r: r["seed"]) for label, records in models.items()}


def budget_of(macs, references):
    """The budget whose reference's MACs are within TOLERANCE of `macs`, else None."""
    return next((name for name, ref in references.items() if abs(macs / ref - 1) <= TOLERANCE), None)


def v3_complete(budget, models, v3_budgets, seeds_of):
    """Whether every model version 3 runs at `budget` has its seeds there (the if-time one only where run);
    `v3_budgets`: {label: its budget} of every v3 model."""
    planned = [label for label in v3.PRIMARY + v3.SECONDARY + v3.EXPENSIVE if v3_budgets[label] == budget]
    planned += [label for label in v3.IF_TIME if label in models and v3_budgets[label] == budget]
    wanted = seeds_of(budget)
    return bool(planned) and wanted is not None and all(
        len({r["seed"] for r in models.get(label, [])} & set(range(wanted))) == wanted for label in planned)


def v3_seeds(budget):
    """Seeds every v3 model at `budget` must have: the protocol's count (None while the rerun cannot fix it)."""
    if budget == "10 G":
        return v3.EXPENSIVE_SEEDS
    try:
        return v3.seeds_needed()[0]
    except SystemExit:
        return None


def row(label, records, macs, params):
    """One model's line: seeds, means, spreads, set metrics, collapsed runs."""
    ssim = [float(np.mean(r["final"]["generate"]["ssim"])) for r in records]
    psnr = [float(np.mean(r["final"]["generate"]["psnr"])) for r in records]
    sets = [r["final"].get("set_generate") or {} for r in records]
    kid = [s["kid_mean"] for s in sets if "kid_mean" in s]
    fid = [s["fid"] for s in sets if "fid" in s]
    collapsed = constant_runs({f"{label}/seed{r['seed']}": r for r in records})
    return {"model": label, "options": records[0]["options"], "macs": macs, "params": params,
            "seeds": [r["seed"] for r in records], "ssim_mean": float(np.mean(ssim)), "ssim_seed_std": seed_std(ssim),
            "psnr_mean": float(np.mean(psnr)),
            "kid_mean": float(np.mean(kid)) if len(kid) == len(records) else None,
            "fid_mean": float(np.mean(fid)) if len(fid) == len(records) else None,
            "collapsed_runs": [c["run"] for c in collapsed]}


def decide(budget, source, models, costs):
    """The budget's table, winner and comparisons from one source's records."""
    rows = [row(label, records, *costs[label]) for label, records in models.items()]
    rows.sort(key=lambda r: -r["ssim_mean"])
    candidates = [r for r in rows if len(r["seeds"]) >= MIN_SEEDS[budget]]
    eligible = [r for r in candidates if not r["collapsed_runs"]]
    out = {"source": source, "protocol": SOURCES[source], "min_seeds": MIN_SEEDS[budget], "models": rows,
           "winner": None, "comparisons": []}
    if not eligible:
        out["why_none"] = ("no model has %d seeds yet" % MIN_SEEDS[budget] if not candidates else
                           "every candidate had a run that wrote constant output")
        return out
    winner = eligible[0]["model"]
    out["winner"] = winner
    for other in candidates:
        if other["model"] == winner:
            continue
        d = paired(models[winner], models[other["model"]], "generate", "ssim")
        d["shown"] = excludes_zero(*d["ci95_hierarchical"])
        kid = set_paired(models[winner], models[other["model"]], "kid_mean")
        out["comparisons"].append({
            "against": other["model"], "seeds": d["seeds"], "images": d["images"],
            "ssim": {"mean": d["mean"], "ci95_hierarchical": d["ci95_hierarchical"], "finding": finding(d)},
            "kid": kid and {k: kid[k] for k in ("seeds", "mean", "ci95_seeds")} | {"finding": finding(kid)}})
    return out


def flat_reference():
    """Mid-grey's scores on the held-out images (the newest flat-reference file), with its file name."""
    path = sorted(RESULTS.glob(FLAT + "*.json"))[-1]
    mid = json.loads(path.read_text())["mid_grey"]
    return {"file": path.name, **{k: mid[k] for k in ("ssim", "psnr", "fid", "kid_mean") if k in mid}}


def preset_schedule(data=ROADSCENE):
    """The preset's epochs: about the studies' 2000 iterations on the training pairs of RoadScene's frame split
    (v2's and the rerun's training set), half constant, half decaying, as the studies' schedule."""
    from mrff_plugin.datasets.frame_split import split_by_frame_number
    ids = sorted(path.stem for path in (Path(data) / "cropinfrared").glob("FLIR_*"))
    if not ids:
        raise SystemExit(f"quality recommendation: no RoadScene pairs in {data}; pass --data <the RoadScene folder> "
                         f"(the preset's epochs are counted on its training split).")
    train, _ = split_by_frame_number(ids, v3.TEST_COUNT, v3.FRAME_GAP)
    half = max(1, round(v3.ITERS / len(train) / 2))
    return {"train_pairs": len(train), "study_iterations": v3.ITERS, "n_epochs": half, "n_epochs_decay": half,
            "iterations": 2 * half * len(train), "crop": v3.CROP, "ndf": v3.NDF}


def recommend(rerun=RERUN, v3_records=V3, seeds_of=v3_seeds, data=ROADSCENE):
    """The rule applied to the records as they are now."""
    references = {name: cost(options)["macs"] for name, (_, options) in BUDGETS.items()}
    sources = {"v2 rerun": load(rerun), "v3": load(v3_records)}
    costs, by_budget = {}, {name: {} for name in BUDGETS}
    for source, models in sources.items():
        for label, records in models.items():
            c = cost(records[0]["options"])
            costs[(source, label)] = (c["macs"], c["params"])
            budget = budget_of(c["macs"], references)
            if budget:
                by_budget[budget].setdefault(source, {})[label] = records
    v3_budgets = {label: budget_of(cost(options)["macs"], references) for label, options in v3.MODELS.items()}
    budgets = {}
    for name, (reference, _) in BUDGETS.items():
        source = "v3" if v3_complete(name, sources["v3"], v3_budgets, seeds_of) else "v2 rerun"
        models = by_budget[name].get(source, {})
        budgets[name] = {"reference": reference, "reference_macs": references[name],
                         **decide(name, source, models, {label: costs[(source, label)] for label in models})}
    return {"rule": v3.PROTOCOL + ', "The recommendation"', "rule_commit": commit_of(v3.PROTOCOL),
            "tolerance": TOLERANCE, "budgets": budgets, "preset_budget": PRESET_BUDGET,
            "preset_schedule": preset_schedule(data),
            "flat_mid_grey": flat_reference()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=OUT_FILE)
    p.add_argument("--data", type=Path, default=ROADSCENE, help="RoadScene (the preset's epochs are counted on it)")
    args = p.parse_args(argv)
    report = recommend(data=args.data)
    for name, b in report["budgets"].items():
        print(f"{name} ({b['source']}): " + (f"{b['winner']}" if b["winner"] else f"none ({b['why_none']})"))
        for r in b["models"]:
            print(f"    {r['model']:<24} {r['macs'] / 1e9:6.3f} G  seeds {len(r['seeds']):2d}  SSIM {r['ssim_mean']:.4f}"
                  + (f"  KID {r['kid_mean']:.4f}" if r["kid_mean"] is not None else "")
                  + (f"  collapsed: {', '.join(r['collapsed_runs'])}" if r["collapsed_runs"] else ""))
        for c in b["comparisons"]:
            low, high = c["ssim"]["ci95_hierarchical"]
            print(f"    {b['winner']} - {c['against']}: SSIM {c['ssim']['mean']:+.4f} [{low:+.4f}, {high:+.4f}] "
                  f"({c['ssim']['finding']})")
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
