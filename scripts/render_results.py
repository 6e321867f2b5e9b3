"""Write docs/results.md from the measurements in benchmarks/results/*.json.

    .venv/bin/python scripts/render_results.py           # rewrite docs/results.md and README's results table
    .venv/bin/python scripts/render_results.py --check   # exit 1 if either is stale

Every figure on that page comes from a results file; nothing is typed in by hand.  Files are
named `<benchmark>-<what>-<size>-<precision>-<cpu>-pt<torch>-<date>[-<run>].json`
(benchmarks/results/MANIFEST.md), so the page groups them by name and shows the newest first.
Standard library only, so the page renders without the project's environment.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
RECOMMENDATION = ROOT / "docs" / "recommendation.md"    # benchmarks/quality/recommend.py's JSON, as a page
PRESET = ROOT / "options" / "real_lwir.txt"               # ... and its 0.6 G winner as a preset
BEGIN, END = "<!-- results:begin", "<!-- results:end -->"   # README's headline block, between these lines
LINK = "../benchmarks/results/"          # from docs/ to the results folder

CPU_NAMES = {
    "avx2": "2-core AMD EPYC, AVX2 only (bf16 emulated)",
    "avx512bf16": "2-core AMD EPYC, AVX-512 with native bf16 (no AMX)",
    "amx": "2-core Intel Xeon with AMX (bf16 matrix units)",
}


def load(name):
    return json.loads((RESULTS / name).read_text())


def files(prefix):
    """Result files whose names start with `prefix`, newest first (date, then run number)."""
    def key(path):
        parts = path.stem.split("-")
        dated = [i for i, p in enumerate(parts) if p.isdigit() and len(p) == 8]
        date = parts[dated[-1]] if dated else ""
        run = int(parts[-1]) if dated and dated[-1] < len(parts) - 1 else 0
        return date, run
    return sorted(RESULTS.glob(prefix + "*.json"), key=key, reverse=True)


def cpu_of(name):
    return next(cpu for cpu in CPU_NAMES if ("-%s-" % cpu) in name)


def link(name):
    return "[`%s`](%s%s)" % (name, LINK, name)


def num(x, digits=3):
    return "-" if x is None else ("%.*f" % (digits, x))


def signed(x, digits=3):
    return "%+.*f" % (digits, x)


def table(header, rows):
    """A Markdown table; a first cell that repeats the row above it is left blank."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = [[("" if i and row[0] == rows[i - 1][0] else row[0])] + list(row[1:]) for i, row in enumerate(rows)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


# ---------------------------------------------------------------------------------- quality

def quality_v2(name, title):
    d = load(name)
    s, settings = d["summary"], d["settings"]
    lines = ["### " + title, "",
             "%s; protocol [`%s`](../%s). %d iterations (linear decay over the last %d), "
             "%dx%d crops, %d held-out images; machine: %s, torch %s, %d thread(s)." % (
                 link(name), d["protocol"], d["protocol"], settings["iters"], settings["decay_iters"],
                 settings["crop"], settings["crop"], len(d["held_out_ids"]),
                 "AVX-512 BF16" if d["machine"]["avx512_bf16"] else "AVX2", d["machine"]["torch"],
                 d["machine"]["threads"]), "",
             "Held-out scores, mean over seeds (± the seeds' standard deviation), scored three ways: "
             "as `mrff generate` ships (each image's own BatchNorm statistics, no dropout), as the "
             "host's `test.py` runs, and with the running statistics.", ""]
    rows = []
    for model, m in s["models"].items():
        g = m["generate"]
        rows.append(["`%s`" % model, "%.2f M" % (m["params"] / 1e6), len(m["seeds"]),
                     "%.3f ± %.3f" % (g["ssim"]["mean"], g["ssim"]["seed_std"]),
                     "%.2f ± %.2f" % (g["psnr"]["mean"], g["psnr"]["seed_std"]),
                     num(m["test.py"]["ssim"]["mean"]), num(m["running"]["ssim"]["mean"]),
                     num(m["seconds_per_iter"], 3)])
    lines += table(["model", "params", "seeds", "SSIM (generate)", "PSNR dB (generate)",
                    "SSIM (test.py)", "SSIM (running)", "s / iteration"], rows)
    lines += ["", "Paired differences (as `mrff generate` ships), with 95% hierarchical bootstrap "
              "intervals over seeds and images:", ""]
    rows = []
    for pair, c in s["comparisons"].items():
        ssim, psnr = c["generate/ssim"], c["generate/psnr"]
        rows.append(["`%s`" % pair, len(ssim["seeds"]),
                     "%s [%s, %s]" % (signed(ssim["mean"]), signed(ssim["ci95_hierarchical"][0]),
                                      signed(ssim["ci95_hierarchical"][1])),
                     "%s [%s, %s]" % (signed(psnr["mean"], 2), signed(psnr["ci95_hierarchical"][0], 2),
                                      signed(psnr["ci95_hierarchical"][1], 2))])
    lines += table(["difference", "seeds", "SSIM", "PSNR dB"], rows)
    stem = name[:-len(".json")]
    figures = [f for f in ("curves", "samples", "attention") if (RESULTS / ("%s_%s.png" % (stem, f))).exists()]
    if figures:
        lines += ["", "Figures: " + ", ".join("[%s](%s%s_%s.png)" % (f, LINK, stem, f) for f in figures) + "."]
    return lines + [""]


def rerun_complete(study, report):
    """True when the rerun report holds every shipped-code seed its protocol runs for each model."""
    shipped = {model: sources.get("shipped", {}) for model, sources in report["per_seed_ssim"].items()}
    return all(len(seeds) >= rerun_seeds(study, model) for model, seeds in shipped.items())


def rerun(study):
    """The v2 rerun of `study` (benchmarks/quality_v2_rerun_report.py): per-seed SSIM, the code change, and FID /
    KID per model and seed with the comparisons' hierarchical intervals."""
    name = "quality_v2_rerun_%s.json" % study
    if not (RESULTS / name).exists():
        return []
    d = load(name)
    lines = ["#### Rerun with the shipped code and more seeds: %s" % study, "",
             "%s; protocol [`%s`](../%s) (v2's training at pinned commits; %s). Generate SSIM on the held-out "
             "images, per seed:" % (link(name), d["protocol"], d["protocol"],
                                    "every run it plans is in" if rerun_complete(study, d) else
                                    "runs still being added: the tables show every run done so far"), ""]
    rows = []
    for model, sources in d["per_seed_ssim"].items():
        for source, seeds in sources.items():
            rows.append(["`%s`" % model, source, len(seeds),
                         " / ".join("%s: %.4f" % (k, v) for k, v in sorted(seeds.items(), key=lambda kv: int(kv[0])))])
    lines += table(["model", "code", "seeds", "SSIM per seed"], rows)
    c = d.get("code_change")
    if c:
        interval = " [%s, %s] (95%%, seeds resampled)" % tuple(signed(v, 4) for v in c["ci95_seeds"]) \
            if c.get("ci95_seeds") else ""
        lines += ["", "`fusion paper`, shipped minus pre-H code, per seed: %s (mean %s%s; seed-to-seed standard "
                  "deviation %s pre-H, %s shipped). The two codes round differently (about 1e-7 per step), which GAN "
                  "training amplifies until the runs part, so each pair is two independent draws of one seed." % (
                      ", ".join(signed(v, 4) for v in c["shipped_minus_pre_h"]), signed(c["mean"], 4), interval,
                      num(c["pre_h_seed_std"], 4), num(c["shipped_seed_std"], 4))]
    shipped = (d.get("summary_shipped") or {}).get("comparisons") or {}
    if shipped:
        lines += ["", "v2's comparisons over the shipped code's seeds (generate scoring, 95% hierarchical interval "
                  "over seeds and images, v2's method):", ""]
        lines += table(["difference", "seeds", "SSIM", "PSNR dB", "SSIM finding"],
                       [["`%s`" % pair, len(c["generate/ssim"]["seeds"]), ci(c["generate/ssim"]),
                         ci(c["generate/psnr"], 2), "shown" if c["generate/ssim"]["shown"] else "not shown"]
                        for pair, c in shipped.items() if c])
    needed = {pair: e for pair, e in (d.get("seeds_needed") or {}).items() if e["mean_half_width"]}
    if needed:
        ks = sorted({int(k) for e in needed.values() for k in e["mean_half_width"]})
        lines += ["", "Seeds needed (the protocol's \"Analysis\"): the mean half-width of the SSIM interval when k of "
                  "the shipped seeds are drawn, against the target of 0.02; the number is the smallest k that reaches "
                  "it, at least 5. With few seeds, resampling them has few distinct draws (2 seeds give 3), so the "
                  "interval at small k understates the seed-to-seed spread: the half-width need not shrink as k "
                  "grows.", ""]
        spread = d.get("seeds_by_spread") or {}
        lines += table(["difference"] + ["k = %d" % k for k in ks] + ["seeds needed", "seed sd", "seeds (t, over seeds)",
                                                                     "image-only half-width"],
                       [["`%s`" % pair] + [num(e["mean_half_width"].get(str(k)), 3) for k in ks]
                        + [str(e["seeds_needed"]) if e["seeds_needed"] else "not reached with %d" % len(e["seeds"])]
                        + ([num(spread[pair]["seed_sd"], 4), str(spread[pair]["t_seeds_needed"]),
                            num(spread[pair]["image_only_half_width"], 4)] if pair in spread else ["-", "-", "-"])
                        for pair, e in needed.items()])
        if spread:
            lines += ["", "The last three columns (the protocol's \"A second look at seeds\", added after seeds 0-4; "
                      "secondary): the seed-to-seed standard deviation of the difference, the seeds a t interval over "
                      "seeds needs for ±0.02, and the image-only half-width, which more seeds cannot lower."]
    sets = d.get("set_metrics") or {}
    for source, title in (("v2", "v2's own runs (each as the rerun that reproduces its SSIM: %s)"),
                          ("shipped", "the shipped code's runs")):
        models = sets.get(source) or {}
        if not models:
            continue
        if source == "v2":
            by = {}
            for key, code in sets["v2_runs_reproduced"].items():
                model, seed = key.rsplit("/seed", 1)
                by.setdefault(code, {}).setdefault(model, []).append(seed)
            title = title % "; ".join("%s code for %s" % (code, ", ".join(
                "`%s` seeds %s" % (model, ", ".join(sorted(seeds, key=int))) for model, seeds in models_.items()))
                for code, models_ in by.items())
        lines += ["", "FID and KID (`mrff evaluate`'s, on the outputs made the `generate` way; lower is better; "
                  "FID at this N is biased, compare it only between these rows) of %s:" % title, ""]
        rows = [["`%s`" % model, len(e["per_seed"]),
                 " / ".join("%s: %.1f" % (k, v["fid"]) for k, v in sorted(e["per_seed"].items(), key=lambda kv: int(kv[0]))),
                 "%.1f ± %s" % (e["fid"]["mean"], num(e["fid"]["seed_std"], 1)),
                 " / ".join("%s: %.4f" % (k, v["kid_mean"]) for k, v in sorted(e["per_seed"].items(), key=lambda kv: int(kv[0]))),
                 "%.4f ± %s" % (e["kid_mean"]["mean"], num(e["kid_mean"]["seed_std"], 4))]
                for model, e in models.items()]
        lines += table(["model", "seeds", "FID per seed", "FID (mean ± seed sd)", "KID per seed",
                        "KID (mean ± seed sd)"], rows)
        comparisons = sets.get(source + "_comparisons") or {}
        if comparisons:
            lines += ["", "Differences, with 95% hierarchical intervals (seeds, then images, FID and KID recomputed "
                      "on each resample):", ""]
            lines += table(["difference", "seeds", "FID", "KID"],
                           [["`%s`" % pair, len(e["fid"]["seeds"]), ci(e["fid"], 1), ci(e["kid"], 4)]
                            for pair, e in comparisons.items()])
    if sets.get("v2_runs_not_reproduced"):
        missing = {}
        for key in sets["v2_runs_not_reproduced"]:
            model, seed = key.rsplit("/seed", 1)
            missing.setdefault(model, []).append(seed)
        lines += ["", "v2 runs no rerun reproduces yet (not run yet, or run and not reproduced): %s." % "; ".join(
            "`%s` seeds %s" % (model, ", ".join(sorted(seeds, key=int))) for model, seeds in missing.items())]
    return lines + [""]


VERSIONS = {   # benchmarks/quality/v3.py's driver: each version's summary of its run records, and its title
    "quality_v3": "Version 3: compute, normalisation or design? (RoadScene)",
    "quality_v4": "Version 4: is the released design's failure its initialisation? (RoadScene)",
}


def summary_of(version):
    return "%s/roadscene_summary.json" % version


def unread_runs():
    """Run records of a v3-driver study that its summary has not read yet ('<study>: <model>/seed<k>'), so
    --check fails until the summary is rewritten."""
    unread = []
    for version in VERSIONS:
        if not (RESULTS / summary_of(version)).exists():
            continue
        recorded = set()
        for path in (RESULTS / version / "roadscene").glob("*.json"):
            r = json.loads(path.read_text())
            recorded.add("%s/seed%d" % (r["model"], r["seed"]))
        unread += ["%s: %s" % (version, run) for run in sorted(recorded - set(load(summary_of(version))["runs"]))]
    return unread


def expensive_decision(decisions):
    """The protocol's gate of the 10 G runs (v3.released_ahead), with the same test without flat runs beside it."""
    test = decisions.get("released_ahead_test")
    if not isinstance(test, dict) or "ci95_hierarchical" not in test:
        return []
    line = ("The 10 G runs: the protocol runs them only if the v2 rerun leaves the released network ahead: `fusion "
            "released` minus the rerun's best 0.57 G model, `%s`, over seeds %s: %s SSIM (hierarchical 95%%), so %s." % (
                test["against"], ", ".join(map(str, test["seeds"])), ci(test, 3),
                "they run" if decisions.get("released_ahead") else "they do not run"))
    without = test.get("without_flat_runs")
    if without:
        line += (" Without the runs that wrote constant output (%s; not the protocol's test, added after seeing "
                 "them): %s over seeds %s." % (", ".join("`%s` seed %s" % tuple(run.rsplit("/seed", 1))
                                                          for run in without["left_out"]),
                                                ci(without, 3), ", ".join(map(str, without["seeds"]))))
    return [line, ""]


def first_point(sched):
    """'<mean SSIM> (iteration k)' of the runs' first curve point, or '-' in a summary written before it was kept."""
    first = sched.get("test_ssim_first_point")
    return "-" if not first else "%s (%d)" % (num(first["mean"], 4), first["iter"])


def flat_file():
    """The name of the newest flat-reference result (quality/flat_reference.py) on RoadScene's held-out frames."""
    return files("quality-v2-flatreference-roadscene-")[0].name


def flat_ssim():
    """The flat mid-grey image's held-out SSIM on RoadScene, as the flat-reference file has it."""
    return "%.3f" % load(flat_file())["mid_grey"]["ssim"]


def quality_version(version):
    """A study run by benchmarks/quality/v3.py's driver (its summary): progress, the per-seed table with each
    model's schedule, the primary and secondary comparisons with their intervals, the rankings, flat runs."""
    name = summary_of(version)
    if not (RESULTS / name).exists():
        return []
    d = load(name)
    s, planned, required = d["summary"], d["planned_seeds"], d["required_seeds"]
    done = len(d["runs"])
    read = sorted({run.rsplit("/seed", 1)[0] for run in d.get("read_runs", [])})
    lines = ["### " + VERSIONS[version], "",
             "%s, from the run records in %s%s; protocol [`%s`](../%s), fixed before "
             "the first run. Every model trains on 111 of RoadScene's pairs (16 more are the validation block), so "
             "these figures compare with each other, not with v2's or the rerun's." % (
                 link(name), ("[`%s/roadscene/`](%s%s/roadscene/)" % (version, LINK, version)
                              if (RESULTS / version / "roadscene").is_dir() else "`%s/roadscene/`" % version),
                 " and version 3's records of %s" % ", ".join("`%s`" % m for m in read) if read else "",
                 d["protocol"], d["protocol"]), ""]
    required_done = d["required_runs_done"]
    if required_done < d["required_runs"]:
        extra = d["planned_runs"] - d["required_runs"]
        lines += ["**Under way: %d of the %d runs the protocol requires are recorded**%s. The tables show every run "
                  "so far; a comparison uses the seeds both models have, and is no finding until both have the seeds "
                  "it needs." % (required_done, d["required_runs"],
                                 " (and %d more if time allows)" % extra if extra else ""), ""]
    elif done < d["planned_runs"]:
        lines += ["Every run the protocol requires is recorded: %d; %d of the %d it plans today, the rest if time "
                  "allows." % (d["required_runs"], done, d["planned_runs"]), ""]
    lines += expensive_decision(d.get("decisions", {}))
    if not s:
        return lines
    flat = {r["run"] for r in s.get("constant_output_runs", [])}
    rows = []
    for model, m in s["models"].items():
        g, sched = m["generate"], m["schedule"]
        kid = (m.get("set_generate") or {}).get("kid_mean")
        best = sched["best_test_iter"]
        per_seed = " / ".join("%s: %.4f%s" % (k, v, " (flat)" if "%s/seed%s" % (model, k) in flat else "")
                              for k, v in g["ssim"]["per_seed"].items())
        rows.append(["`%s`" % model, seeds_of(len(m["seeds"]), planned.get(model), required.get(model)), per_seed,
                     with_spread(g["ssim"]["mean"], g["ssim"]["seed_std"], 4),
                     with_spread(g["psnr"]["mean"], g["psnr"]["seed_std"], 2), num(g["scc"]["mean"], 4),
                     "-" if kid is None else with_spread(kid["mean"], kid["seed_std"], 3),
                     "%d (%d-%d)" % (best["mean"], best["min"], best["max"]),
                     num(sched["test_ssim_at_val_peak"]["mean"], 4),
                     first_point(sched), signed(m["train_minus_held_out_ssim"]["mean"], 3)])
    lines += ["Held-out SSIM as `mrff generate` runs the model (34 images, each seed's mean), mean over seeds ± their "
              "standard deviation; KID of the same outputs (lower is better); the iteration of each run's best "
              "held-out SSIM (mean, range over seeds), and the held-out SSIM where each run's validation score "
              "peaks (what stopping there would give), beside the held-out SSIM at the first curve point: a run "
              "whose output has barely left its almost flat start scores close to a flat grey image there "
              "(%s on these images; \"An image with no content\" above), so a peak that early is a peak of "
              "that score:" % flat_ssim(), ""]
    lines += table(["model", "seeds", "SSIM per seed", "SSIM", "PSNR dB", "SCC", "KID", "best iteration",
                    "SSIM at validation peak", "SSIM at the first point", "train - held-out SSIM"], rows)
    if flat:
        lines += ["", "(flat): the run wrote one grey level for every input (SCC 0 on every held-out image at every "
                  "curve point), a failed training; its SSIM is the flat image's (see \"An image with no content\" "
                  "above), not a result of the design."]
    rows = []
    for pair, c in s["comparisons"].items():
        g, kid, peak = c.get("generate/ssim"), c.get("set/kid_mean"), c.get("val_peak/ssim")
        if not g:
            continue
        failed = ["`%s` %s" % (model, seeds_named(bad)) for model in pair.split(" - ")
                  for bad in [[k for k in g["seeds"] if "%s/seed%d" % (model, k) in flat]] if bad]
        ours = [model for model in pair.split(" - ") if model in planned]     # not another version's records
        wanted = min(planned[model] for model in ours)                        # a comparison pairs shared seeds
        needed = min(required[model] for model in ours)
        finding = "pending (%d of %d seeds)" % (len(g["seeds"]), needed) if len(g["seeds"]) < needed else \
            ("shown" if g["shown"] else "not shown") + (
                " (%d of %d planned seeds; the extra ones if time allows)" % (len(g["seeds"]), wanted)
                if len(g["seeds"]) < wanted else "")
        rows.append(["`%s`" % pair, "primary" if pair in s["primary"] else "secondary", len(g["seeds"]),
                     ci(g, 4), "[%s, %s]" % tuple(signed(v, 4) for v in g["ci95_images_only"]),
                     finding + (" (over flat runs: %s)" % ", ".join(failed) if failed else ""),
                     "-" if not kid else ci(kid, 3, "ci95_seeds"), "-" if not peak else ci(peak, 4)])
    if rows:
        lines += ["", "Differences (SSIM, `generate` scoring; 95% hierarchical bootstrap over seeds and images, the "
                  "one to read, with the image-only interval beside it; KID's interval resamples seeds; the last "
                  "column compares each run at its own validation peak). With five primary comparisons at 95%, "
                  "where no factor mattered about one set in five would still show one difference.", ""]
        lines += table(["difference", "", "seeds", "SSIM", "images only", "SSIM finding", "KID",
                        "SSIM at validation peaks"], rows)
    sched = s.get("schedule")
    if sched:
        changed = sched["comparisons_whose_finding_changes"]

        def flat_note(model):
            seeds = [int(run.rsplit("seed", 1)[1]) for run in flat if run.startswith(model + "/")]
            return " (flat: %s)" % seeds_named(seeds) if seeds else ""

        def ranked(models):
            return " > ".join("`%s`%s" % (m, flat_note(m)) for m in models)
        lines += ["", "Ranking by final held-out SSIM: %s. At each run's validation peak: %s. Comparisons whose "
                  "finding (shown or not, and its sign) changes when each run stops at its validation peak: %s." % (
                      ranked(sched["ranking_final"]), ranked(sched["ranking_at_val_peak"]),
                      ", ".join("`%s`" % c for c in changed) if changed else "none")]
    return lines + [""]


def seeds_named(seeds):
    """'seed 3', or 'seeds 0, 2, 3'."""
    seeds = sorted(seeds)
    return "seed%s %s" % ("s" if len(seeds) > 1 else "", ", ".join(str(k) for k in seeds))


def seeds_of(done, planned, required):
    """A study model's seeds cell: 'done of planned', the required ones first where the rest run if time allows;
    a model another version's records give (planned None) is marked so."""
    if planned is None:
        return "%d (version 3's)" % done
    return "%d of %d" % (done, planned) if required == planned else \
        "%d of %d (%d more if time allows)" % (done, required, planned - required)


def init_signal():
    """benchmarks/quality/init_signal.py (exploratory): each study model's output spread and first-layer gradient
    before training, under pix2pix's N(0, 0.02) and the host's kaiming initialisation, beside its flat runs."""
    found = files("quality-initsignal-")
    if not found:
        return []
    name = found[0].name
    d = load(name)
    lines = ["#### Signal at initialisation (exploratory)", "",
             "%s (`python -m benchmarks.quality.init_signal`; outside every protocol, measured after two runs of the "
             "released design had written one flat image from their first curve point on). Each model built as the "
             "studies build it, seeds 0-%d, in training mode, on %d of v3's training crops: the spread of its output "
             "over a crop's pixels (0 is a flat image; the LWIR crops' own: %.3f), and the gradient of the L1 loss on "
             "its first convolution, relative to that layer's weights; under pix2pix's N(0, 0.02) initialisation (what "
             "the studies and `train.py` use) and the host's `--init_type kaiming`. Beside them, the RoadScene runs "
             "that wrote constant output, of the v2 rerun (which reproduces each of v2's runs, with v2's code or "
             "the shipped one: every run is one draw) and of v3." % (
                 link(name), d["seeds"] - 1, d["crops"], d["lwir_std"]), ""]
    rows = []
    for model, m in d["models"].items():
        normal, kaiming = m["mean"]["normal"], m["mean"]["kaiming"]
        flat = d["flat_runs"].get(model)
        rows.append(["`%s`" % model, "%.1e" % normal["output_std"], "%.1e" % normal["first_layer_grad_ratio"],
                     "%.1e" % kaiming["output_std"], "%.1e" % kaiming["first_layer_grad_ratio"],
                     "-" if not flat else "%d of %d" % (len(flat["constant_output"]), flat["runs"])])
    lines += table(["model", "output spread, N(0, 0.02)", "first-layer gradient, N(0, 0.02)", "output spread, kaiming",
                    "first-layer gradient, kaiming", "flat runs (of RoadScene runs)"], rows)
    return lines + [""]


def early_spread():
    """benchmarks/quality/early_spread.py (exploratory): each `--norm none` model's and its BatchNorm twin's
    output contrast at the first curve point (the run replayed) and at the end (its kept weights)."""
    found = files("quality-earlyspread-")
    if not found:
        return []
    name = found[0].name
    d = load(name)

    def cell(rows, key, digits):
        values = [r[key] for r in rows if key in r]
        return "-" if not values else "%.*f (%.*f to %.*f)" % (digits, mean(values), digits, min(values),
                                                               digits, max(values))
    lines = ["#### Output contrast at the first curve point (exploratory)", "",
             "%s (`python -m benchmarks.quality.early_spread`; outside every protocol, measured after the `--norm none` "
             "models' early validation peaks had been seen). Each run of seeds %s replayed as version 3 trains it to "
             "its first curve point (iteration %d), checked against its record (the held-out images' SSIM equal, "
             "image by image), and its outputs on the %d held-out images measured: the standard deviation of each "
             "output's pixels over its real LWIR frame's (1 is the real frame's contrast, 0 a flat image), mean over "
             "images; then the same from the run's kept weights at the end. Mean over seeds, with their range." % (
                 link(name), ", ".join(str(k) for k in d["seeds"]),
                 next(iter(next(iter(d["models"].values())).values()))["first_point"], d["held_out_images"]), ""]
    rows = []
    for model, per_seed in d["models"].items():
        runs = list(per_seed.values())
        rows.append(["`%s`" % model, "%d of %d" % (sum(r["replayed"] for r in runs), len(runs)),
                     ", ".join(str(r["val_peak_iter"]) for r in runs), cell(runs, "ssim_first_point", 3),
                     cell(runs, "output_spread_first_point", 3), cell(runs, "ssim_final", 3),
                     cell(runs, "output_spread_final", 3)])
    lines += table(["model", "replayed exactly", "validation peaks", "SSIM at the first point",
                    "output contrast at the first point", "SSIM at the end", "output contrast at the end"], rows)
    return lines + [""]


def rank_said(c):
    """A rank correlation of output contrast with SSIM (final_contrast.py's), in words."""
    rho, p = c["spearman_rho"], c["p_value"]
    return "%+.2f (p = %.2g, %d runs; %s)" % (rho, p, c["runs"], "no rank relation shown at 5%" if p >= 0.05
                                            else "the less contrast, the higher the SSIM" if rho < 0
                                            else "the more contrast, the higher the SSIM")


def contrast_caution():
    """The recommendation page's sentence on output contrast against SSIM, from the newest final_contrast file."""
    found = files("quality-finalcontrast-")
    c = (load(found[0].name).get("contrast_against_ssim") or {}).get("without constant output") if found else None
    if not c:
        return ""
    return (" Over version 3's finished runs measured for it, without the flat ones, the rank correlation of a run's "
            "output contrast with its SSIM is %s ([results](results.md#output-contrast-at-the-end-exploratory))." %
            rank_said(c))


def final_contrast():
    """benchmarks/quality/final_contrast.py (exploratory): every finished version 3 run's output contrast, from its
    kept weights, beside its held-out SSIM."""
    found = files("quality-finalcontrast-")
    if not found:
        return []
    name = found[0].name
    d = load(name)
    recorded = {}
    for path in (RESULTS / "quality_v3" / "roadscene").glob("*.json"):
        model = json.loads(path.read_text())["model"]
        recorded[model] = recorded.get(model, 0) + 1
    lines = ["#### Output contrast at the end (exploratory)", "",
             "%s (`python -m benchmarks.quality.final_contrast`; outside every protocol, measured after `fusion "
             "released` seed 1 had ended with SSIM near the flat image's and SCC near 0 without meeting the flat-run "
             "test). Each finished run whose generator is kept on the machine that measured it (sha256 checked "
             "against its record) generates its %d held-out images whole, as `mrff generate` runs it; their SSIM "
             "is the record's (largest difference over every image: %.1e); each output's contrast is measured as "
             "above (the standard deviation of its pixels over its real LWIR frame's: 1 the real frame's, 0 a flat "
             "image), mean over images. The runs recorded on other machines kept their weights there and are not "
             "measured." % (link(name), d["held_out_images"], max(
                 r["max_ssim_difference_from_record"] for m in d["models"].values() for r in m.values())), ""]
    rows = []
    for model, per_seed in d["models"].items():
        runs = sorted(per_seed.items(), key=lambda kv: int(kv[0]))
        contrast = [r["output_contrast"] for _, r in runs]
        low_seed, low = min(runs, key=lambda kv: kv[1]["output_contrast"])
        rows.append(["`%s`" % model, "%d of %d" % (len(runs), recorded.get(model, len(runs))),
                     ", ".join(seed for seed, _ in runs), "%.3f" % mean([r["ssim"] for _, r in runs]),
                     "%.3f (%.3f to %.3f)" % (mean(contrast), min(contrast), max(contrast)),
                     "seed %s: %.3f (SSIM %.4f)" % (low_seed, low["output_contrast"], low["ssim"])])
    lines += table(["model", "runs measured", "seeds", "their held-out SSIM", "output contrast at the end (lowest to "
                    "highest run)", "the run with the least contrast"], rows)
    c = d.get("contrast_against_ssim") or {}
    if c:
        lines += ["", "Spearman's rank correlation of a run's output contrast with its held-out SSIM, the models "
                  "pooled: " + "; ".join("%s %s" % (k, rank_said(c[k])) for k in c) + "."]
    return lines + [""]


def rerun_set_range(study, leave_out=()):
    """('lo to hi' of FID, 'lo to hi' of KID) over the per-seed figures of v2's runs as the rerun reproduces them,
    but for the runs in `leave_out` ('<model>/seed<k>')."""
    path = RESULTS / ("quality_v2_rerun_%s.json" % study)
    models = (load(path.name).get("set_metrics") or {}).get("v2") or {} if path.exists() else {}
    values = [v for model, e in models.items() for seed, v in e["per_seed"].items()
              if "%s/seed%s" % (model, seed) not in leave_out]
    if not values:
        return "(none scored yet)", "(none scored yet)", None
    fid, kid = [v["fid"] for v in values], [v["kid_mean"] for v in values]
    return "%.1f to %.1f" % (min(fid), max(fid)), "%.4f to %.4f" % (min(kid), max(kid)), (max(fid), max(kid))


def flat_rank(mid):
    """How many of v2's RoadScene models score a mean SSIM below the flat image's, in words."""
    models = load("quality_v2_roadscene.json")["summary"]["models"]
    below = [name for name, m in models.items() if m["generate"]["ssim"]["mean"] < mid["ssim"]]
    return "%d of v2's %d models have a lower mean SSIM" % (len(below), len(models))


def flat_reference():
    name = flat_file()
    d = load(name)
    mid, best = d["mid_grey"], d["best_flat"]
    lines = ["#### An image with no content", "",
             "%s (`python -m benchmarks.quality.flat_reference`): one flat grey level for every held-out "
             "image, scored exactly as a model's output. Mid-grey scores SSIM %.4f, PSNR %.2f dB on the %d "
             "held-out frames (the best flat level, %+.3f, SSIM %.4f): %s in the table above, because much "
             "of a thermal frame is smooth. Read SSIM on this set beside the detail score (SCC), which is 0 "
             "for a flat image." % (link(name), mid["ssim"], mid["psnr"], d["images"], best["level"], best["ssim"],
                                    flat_rank(mid)), ""]
    if "fid" in mid:
        flat_runs = [r["run"].split(" ", 1)[1] for r in d["constant_output_runs"] if r["run"].startswith("v2 ")]
        fid_range, kid_range, worst = rerun_set_range("roadscene", flat_runs)
        models = load("quality_v2_roadscene.json")["summary"]["models"].values()
        ssim_first = all(m["generate"]["ssim"]["mean"] < mid["ssim"] for m in models)
        verdict = ("The set metrics rank it last%s" % (", where SSIM ranks it first" if ssim_first else "")
                   if worst and worst[0] < mid["fid"] and worst[1] < mid["kid_mean"] else "Compare the set metrics")
        lines += ["%s: mid-grey's FID is %.1f and its KID %.4f against the same real frames, where v2's runs that "
                  "learned (all but the flat ones listed below) score FID %s and KID %s (the rerun's records of v2's "
                  "runs, below; FID at 34 images is biased, but alike for every row)." % (
                      verdict, mid["fid"], mid["kid_mean"], fid_range, kid_range), ""]
    runs = d["constant_output_runs"]
    if runs:
        lines += ["Runs whose outputs had no detail at all (SCC 0 on every held-out image at every point of "
                  "the curve): a generator that stopped learning and writes one grey level:", ""]
        lines += table(["run", "SSIM", "PSNR dB"], [[r["run"], "%.4f" % r["ssim"], "%.2f" % r["psnr"]] for r in runs])
    return lines + [""]


def quality_v1():
    name = "quality.json"
    d = load(name)
    st, s = d["study"], d["summary"]
    lines = ["### Version 1: synthetic scenes, five models", "",
             "%s; %d iterations (linear decay over the last %d), %dx%d, ngf %d, %d training and %d "
             "held-out pairs, seeds %s, scored as the host's `test.py` runs; machine: %s, torch %s. "
             "Its intervals are over images only, and its baseline has a fraction of fusion's "
             "compute: version 2 above replaces it." % (
                 link(name), st["iters"], st["decay_iters"], st["size"], st["size"], st["ngf"],
                 st["train_pairs"], st["test_pairs"], st["seeds"],
                 "AVX-512 BF16" if d["machine"]["avx512_bf16"] else "AVX2", d["machine"]["torch"]), ""]
    rows = []
    for model, m in s["models"].items():
        f = m["final"]
        rows.append(["`%s`" % model, "%.2f M" % (m["params"] / 1e6),
                     "%.3f ± %.3f" % (f["ssim_mean"], f["ssim_std"]),
                     "%.2f ± %.2f" % (f["psnr_mean"], f["psnr_std"]), num(f["scc_mean"]),
                     num(m["seconds_per_iter"])])
    lines += table(["model", "params", "SSIM", "PSNR dB", "SCC", "s / iteration"], rows)
    lines += ["", "Differences from `%s`, 95%% bootstrap intervals over images:" % d["baseline"], ""]
    rows = []
    for model, c in s["vs_baseline"].items():
        rows.append(["`%s`" % model] + ["%s [%s, %s]" % (signed(c[k]["mean"], digits), signed(c[k]["ci95"][0], digits),
                                                          signed(c[k]["ci95"][1], digits))
                                        for k, digits in (("ssim", 3), ("psnr", 2), ("scc", 3))])
    lines += table(["model", "SSIM", "PSNR dB", "SCC"], rows)
    lines += ["", "Ceiling (the scene maker's own LWIR without its random parts): " + "; ".join(
        "%s SSIM %.3f" % (k, v["ssim_mean"]) for k, v in d["ceiling"].items()) + "."]
    lines += ["", "Figures: [curves](%squality_curves.png), [samples](%squality_samples.png), "
              "[attention](%squality_attention.png)." % (LINK, LINK, LINK)]
    for path in files("quality-v1-"):
        lines += ["", "The same study with a constant learning rate: %s." % link(path.name)]
    return lines + [""]


# ------------------------------------------------------------------------------------- demo

def demo():
    lines = ["## `mrff demo`", ""]
    for path in files("demo-schedule-"):
        d = load(path.name)
        after, before = d["configurations"]["after"], d["configurations"]["before"]
        diff = d["after_minus_before"]
        lines += ["%s (`benchmarks/demo_schedule.py`; %s, torch %s):" % (
            link(path.name), CPU_NAMES[cpu_of(path.name)], d["machine"]["torch"]), ""]
        lines += table(["configuration", "whole `mrff demo`", "SSIM", "PSNR dB"],
                       [[c["what"], "%.1f min" % (c["seconds"] / 60), "%.3f ± %.3f" % (c["ssim_mean"], c["ssim_std"]),
                         "%.2f" % c["psnr_mean"]] for c in (after, before)])
        lines += ["", "The demo as shipped minus the wider network at the same training time, over %d "
                  "held-out pairs: SSIM %s [95%% CI %s, %s], PSNR %s dB [%s, %s]; one pix2pix step "
                  "%.2f s at ngf 32, %.2f s at ngf 64." % (
                      diff["ssim"]["pairs"], signed(diff["ssim"]["mean"]), signed(diff["ssim"]["ci95"][0]),
                      signed(diff["ssim"]["ci95"][1]), signed(diff["psnr"]["mean"], 2),
                      signed(diff["psnr"]["ci95"][0], 2), signed(diff["psnr"]["ci95"][1], 2),
                      d["step_seconds"]["32"], d["step_seconds"]["64"]), ""]
    return lines


def norm_paths():
    found = files("normpaths-")
    lines = ["## Normalisation paths on `mrff demo`'s held-out pairs", "",
             "`benchmarks/norm_paths.py`: `mrff demo`, then `mrff generate` both ways on the gallery's "
             "`real_A` images, everything scored against `real_B`. Newest first.", ""]
    rows = []
    for path in found:
        d = load(path.name)
        for what, p in d["paths"].items():
            rows.append([link(path.name), "`%s`" % what, p["n"], "%.4f" % p["ssim_mean"], "%.2f" % p["psnr_mean"]])
    lines += table(["file", "path", "images", "SSIM", "PSNR dB"], rows)
    return lines + [""]


# ------------------------------------------------------------------------------------ speed

GENERATE_COLUMNS = [
    ("host test.py", "`test.py`"),
    ("mrff generate --amp none", "generate fp32"),
    ("mrff generate --amp bf16", "generate bf16"),
    ("mrff generate --amp none --norm_stats running", "fp32, running stats"),
    ("mrff generate --amp bf16 --norm_stats running", "bf16, running stats"),
    ("mrff generate --backend onnxruntime", "ONNX Runtime"),
]


def speed_generate():
    lines = ["## Inference speed: `mrff generate` against the host's `test.py`", "",
             "`python -m benchmarks.speed --images N --skip train,rss` (whole commands on the same images and "
             "checkpoint: 256x256, ngf 64, fusion `paper`). Images per second; in brackets the share of "
             "the command's own bare forward pass. Files from before per-image statistics became "
             "`mrff generate`'s default (2026-12-04) ran with the running statistics. Newest first.", ""]
    rows = []
    for path in files("speed-generate-"):
        d = load(path.name)
        inf, runs = d["inference"], d["inference"]["runs"]
        row = [link(path.name), cpu_of(path.name), inf["images"], inf["batch_size"],
               "%.0f / %.0f" % (d["matmul_peak_gflops"]["fp32"], d["matmul_peak_gflops"]["bf16"])]
        for key, _ in GENERATE_COLUMNS:
            r = runs.get(key)
            row.append("-" if r is None else "%.2f (%.0f%%)" % (r["images_per_s"], 100 * r["vs_own_forward_only"]))
        rows.append(row)
    lines += table(["file", "CPU", "images", "batch", "matmul peak fp32 / bf16 GFLOP/s"]
                   + [title for _, title in GENERATE_COLUMNS], rows)
    lines += ["", "CPUs: " + "; ".join("`%s` %s" % item for item in CPU_NAMES.items()) + "."]
    png = [(p.name, load(p.name)["png_encoding"]) for p in files("speed-generate-") if "png_encoding" in load(p.name)]
    if png:
        name, e = png[0]
        lines += ["", "PNG encoding (%s, %d images of %dx%d): Pillow's default %.2f ms and %.1f kB per image, "
                  "`mrff generate`'s %.2f ms and %.1f kB (%.1fx as fast)." % (
                      link(name), e["images"], e["size"], e["size"], e["pillow default"]["encode_ms_per_image"],
                      e["pillow default"]["kilobytes_per_image"], e["mrff generate"]["encode_ms_per_image"],
                      e["mrff generate"]["kilobytes_per_image"], e["encode_speedup"])]
    return lines + [""]


def speed_train():
    lines = ["## Training step and generator costs", "",
             "`python -m benchmarks.speed --skip rss,png,inference --sizes 256 --batches 1 --layouts channels_last`: "
             "the pix2pix G + D step (Adam fused), median of 5 alternated rounds, with the counted FLOPs "
             "as a share of the matching matmul peak. Newest first; runs of one day alternate the code "
             "before and after a change ([MANIFEST.md](../benchmarks/results/MANIFEST.md) says which).", ""]
    rows = []
    for path in files("speed-trainstep-"):
        d = load(path.name)
        for s in d["training_steps"]:
            rows.append([link(path.name), cpu_of(path.name), "`%s`" % s["netG"], s["size"], s["batch"],
                         "fp32" if s["amp"] == "none" else s["amp"], s["layout"],
                         "%.3f s" % s["seconds_per_step"], "%.0f" % s["gflop_per_step"],
                         "%.0f%%" % (100 * s["fraction_of_peak"])])
    lines += table(["file", "CPU", "netG", "size", "batch", "precision", "layout", "s / step",
                    "GFLOP / step", "of peak"], rows)
    newest = files("speed-generate-")[0]
    gens = load(newest.name)["generators"]
    lines += ["", "Generators (%s, counted with `torch.utils.flop_counter`):" % link(newest.name), ""]
    lines += table(["netG", "size", "parameters", "MACs / image"],
                   [["`%s`" % g, size, "{:,}".format(v["params"]), "%.2f G" % (v["macs_per_image"] / 1e9)]
                    for size, by_name in gens.items() for g, v in by_name.items()])
    return lines + [""]


# ----------------------------------------------------------------------------------- tiling

def tiling():
    lines = ["## Tiled generation", ""]
    for path in files("tiling-receptivefield-"):
        d = load(path.name)
        lines += ["Receptive field of one output pixel (%s, `python -m benchmarks.tiling --skip rss`):"
                  % link(path.name), ""]
        lines += table(["network", "support (px)", "radius of 90% / 95% / 99% / 99.9%"],
                       [[k, "x".join(map(str, v["support_px"])),
                         " / ".join(str(v["radius_px"][q]) for q in ("0.9", "0.95", "0.99", "0.999"))]
                        for k, v in d["receptive_field"].items()])
        lines += [""]
    for path in files("tiling-normstats-"):
        d = load(path.name)
        t = d["tiled_vs_untiled"]
        lines += ["Tiled against untiled, %dx%d, trained ngf-%d network, per-image statistics "
                  "(%s, `python -m benchmarks.tiling --skip rf,memory,rss`); `statistics` is the size of the "
                  "copy whose statistics the tiles use (1.0: the whole image; `own`: each tile its own). "
                  "Grey levels of 255; the untiled image's standard deviation is %.1f." % (
                      t["size"][0], t["size"][1], d["trained_network"]["ngf"], link(path.name),
                      t["untiled_std_grey_levels"]), ""]
        rows = []
        for key in ("tiled_vs_untiled", "tiled_vs_untiled_running_statistics"):
            for r in d[key]["runs"]:
                rows.append([d[key]["norm_stats"], r["tile"], r["overlap"], r["statistics"], r["refinements"],
                             "%.2f" % r["mean_abs_diff"], "%.2f" % r["mean_abs_diff_away_from_borders"],
                             r["max_abs_diff"], "%.2f" % r["seam_worst_border_step"],
                             "%.2f" % r["seam_untiled_same_lines"]])
        lines += table(["norm stats", "tile", "overlap", "statistics", "refinements", "mean abs diff",
                        "away from borders", "max", "border step", "untiled there"], rows)
        lines += [""]
    memory = [p for p in files("tiling-rss-") if "activation_memory_256" in load(p.name)]
    if memory:
        d = load(memory[0].name)
        lines += ["Activation memory per pixel, ngf 64, 256x256 (%s): " % link(memory[0].name) + "; ".join(
            "%s estimate %.0f bytes, exact peak %.0f (%.2fx)" % (
                "fp32" if amp == "none" else amp, v["estimate_bytes_per_pixel"], v["exact_peak_bytes_per_pixel"],
                v["estimate_over_exact"]) for amp, v in d["activation_memory_256"].items()) + ".", ""]
    lines += ["A 4000x3000 photo through `mrff generate` at the default `--max_memory`, tiled automatically "
              "(`python -m benchmarks.tiling --skip rf,memory,tiles`). Newest first:", ""]
    rows = []
    for path in files("tiling-rss-"):
        d = load(path.name)
        for b in d["big_photo"]:
            rows.append([link(path.name), cpu_of(path.name), d["threads"], "%.1f" % d["load_average"][0],
                         "fp32" if b["amp"] == "none" else b["amp"], "%.0f s" % b["wall_seconds"],
                         "%.0f MB" % b["peak_rss_mb_main"], "%.0f MB" % b["peak_pss_mb_with_workers"]])
    lines += table(["file", "CPU", "threads", "load at start", "precision", "wall", "peak RSS",
                    "peak PSS with workers"], rows)
    return lines + [""]


# ------------------------------------------------------------------------------ radiometric

def mean(values):
    return sum(values) / len(values)


def kelvin(interval, per_image=None):
    """'mean [low, high]' of a (mean, 2.5th, 97.5th percentile) triple; its mean must be the per-image values' mean."""
    if per_image is not None and abs(mean(per_image) - interval[0]) > 1e-9:
        raise SystemExit("a radiometric results file's mean differs from the mean of its per-image values")
    return "%.2f [%.2f, %.2f]" % tuple(interval)


def radiometric_label(run):
    network = "fusion" if run["netG"] == "unetpp_fusion" else "U-Net (`%s`)" % run["netG"]
    if run["bits"] == 16:
        return "%s, 16-bit counts" % network
    if run["agc_range"] == "own":
        return "%s, 8-bit frames, mapped back through each test frame's own AGC range" % network
    return "%s, 8-bit frames, mapped back through the training frames' mean AGC range (%.0f to %.0f counts)" % (
        network, run["agc_range"][0], run["agc_range"][1])


def radiometric():
    lines = ["## Radiometric: temperature error of `mrff generate`", "",
             "`OMP_NUM_THREADS=1 nice python -m benchmarks.radiometric` ([radiometric.md](radiometric.md), "
             "[benchmarks/README.md](../benchmarks/README.md)): `mrff synth --lwir_bits 16`, `mrff train` at the "
             "demo's scale, then `mrff generate`; the kelvin output against the synthetic scene's temperature. "
             "Newest first.", ""]
    for path in files("radiometric-"):
        d = load(path.name)
        runs = d["runs"]
        lines += ["%s: %d pairs (%d of them test pairs), %s; %s, torch %s, %d thread(s). Mean over the %d test "
                  "images, 95%% bootstrap interval:" % (
                      link(path.name), d["pairs"], d["test_pairs"], d["size"], CPU_NAMES[cpu_of(path.name)],
                      d["machine"]["torch"], d["machine"]["threads"], d["test_pairs"]), ""]
        rows = [[radiometric_label(r), kelvin(r["mae_k"], r["per_image_mae_k"]), kelvin(r["mae_k_offset_removed"]),
                 "%.0f s" % r["train_seconds"]] for r in runs.values()]
        rows.append(["the camera's own counts (floor: blur, NETD, fixed pattern)",
                     kelvin(d["camera_floor_k"], d["camera_floor"]), "", ""])
        lines += table(["model", "temperature MAE (K)", "with each frame's mean offset removed (K)", "training"], rows)
        sixteen = runs["fusion_16bit"]["per_image_mae_k"]
        lost = d["fusion_8bit_training_agc_minus_16bit_k"]
        gained = d["fusion_8bit_minus_16bit_k"]
        for key in ("fusion_8bit_training_agc", "fusion_8bit"):
            kelvin(d[key + "_minus_16bit_k"], [a - b for a, b in zip(runs[key]["per_image_mae_k"], sixteen)])
        unet = mean([a - b for a, b in zip(sixteen, runs["unet_16bit"]["per_image_mae_k"])])
        lines += ["", "Paired, per image: 8-bit training mapped back as a real 8-bit set allows (no AGC range "
                  "recorded per frame) minus 16-bit training, %+.2f K [%+.2f, %+.2f]; handed each test frame's "
                  "own AGC range, which no real 8-bit set records, %+.2f K [%+.2f, %+.2f]: that range carries the "
                  "frame's absolute level (air temperature, sun), which the visible image hardly shows. Fusion "
                  "minus the U-Net on the 16-bit counts, %+.2f K (no interval recorded). One training each, "
                  "%s." % (lost[0], lost[1], lost[2], gained[0], gained[1], gained[2], unet,
                           "flags `%s`" % " ".join(d["flags"]))]
        lines += [""]
    return lines


# ---------------------------------------------------------------------------- evaluate speed

def speed_evaluate():
    lines = ["## `mrff evaluate` speed: FID and KID against the Inception network's bare pass", "",
             "`nice python -m benchmarks.fid_speed --images N` or `--roadscene DIR` ([metrics.md](metrics.md#speed)): the whole "
             "`mrff evaluate --fake --real` command (SSIM, PSNR, FID, KID; start-up included) against the "
             "Inception network's bare forward pass over the same images (fakes + reals), alternated bare / "
             "evaluate / bare; fp32. CPU time (user + system) is less sensitive than wall time to the other "
             "processes' load; older files record wall time only. Newest first.", ""]
    rows = []
    for path in files("speed-evaluate-fid-"):
        d = load(path.name)
        for r in d.get("rounds") or [dict(d, evaluate_over_bare_cpu=None, bare_cpu_seconds=None)]:
            pairs = ("%d RoadScene, whole (%d sizes)" % (d["images"], len(d["sizes"])) if d.get("data") == "roadscene"
                     else "%dx%d" % (d["images"], d["size"]) if "size" in d else "%d, %s" % (d["images"], d["sizes"][0]))
            rows.append([link(path.name), cpu_of(path.name), d["machine"]["threads"], pairs,
                         d["inception_images"], d["batch"],
                         " / ".join("%.0f s" % s for s in r["bare_seconds"]),
                         "%.0f s" % r["evaluate_seconds"], "%.0f%%" % (100 * r["evaluate_over_bare"]),
                         "-" if r["bare_cpu_seconds"] is None else " / ".join("%.0f s" % s for s in r["bare_cpu_seconds"]),
                         "-" if r["evaluate_over_bare_cpu"] is None else "%.0f s" % r["evaluate_cpu_seconds"],
                         "-" if r["evaluate_over_bare_cpu"] is None else "%.0f%%" % (100 * r["evaluate_over_bare_cpu"]),
                         "%.0f%%" % (100 * d["target"]),
                         " to ".join("%.1f" % x for x in (d["load_average_start"][0], d["load_average_end"][0]))])
    lines += table(["file", "CPU", "threads", "pairs", "Inception images", "batch", "bare wall (before / after)",
                    "evaluate wall", "speed, share of bare (wall)", "bare CPU (before / after)", "evaluate CPU",
                    "speed, share of bare (CPU)", "target", "load (1 min)"], rows)
    newest = next(d for d in (load(p.name) for p in files("speed-evaluate-fid-")) if d.get("data") != "roadscene")
    lines += ["", "RoadScene's rows score its visible images (made grey) as the fakes against its LWIR: a timing set "
              "at the images' own sizes, not a quality figure.",
              "", "The scores of the synthetic runs (two independent synthetic sets of one distribution, N = %d): KID "
              "%.4f ± %.4f (unbiased: about 0), FID %.1f, the bias of FID at small N "
              "([metrics.md](metrics.md#fid-is-biased-by-the-set-size-read-kid-for-small-sets))." % (
                  newest["n"], newest["kid_mean"], newest["kid_std"], newest["fid"])]
    return lines + [""]

# ---------------------------------------------------------------------------------- README

def ci(c, digits=3, interval="ci95_hierarchical"):
    return "%s [%s, %s]" % (signed(c["mean"], digits), signed(c[interval][0], digits), signed(c[interval][1], digits))


RERUN_SEEDS = {"roadscene": 10, "synthetic": 5}            # the rerun protocol's seeds per headline model
RERUN_RELEASED_SEEDS = {"roadscene": 5, "synthetic": 3}    # ... and for the released network


def rerun_seeds(study, name):
    """The shipped-code seeds the rerun protocol runs for a model, or for both sides of a comparison `name`."""
    return RERUN_RELEASED_SEEDS[study] if "released" in name else RERUN_SEEDS[study]


def settled(study, v2, name):
    """(comparison, which study gave it, its KID difference or None): the v2 rerun's, over the shipped code's
    seeds, once it has every seed its protocol runs for both models; v2's until then (KID from the rerun's
    records of v2's runs)."""
    path = RESULTS / ("quality_v2_rerun_%s.json" % study)
    report = load(path.name) if path.exists() else {}
    shipped = (report.get("summary_shipped") or {}).get("comparisons", {})
    sets = report.get("set_metrics") or {}
    c = shipped.get(name)
    wanted = rerun_seeds(study, name)
    if c and len(c["generate/ssim"]["seeds"]) >= wanted:
        kid = (sets.get("shipped_comparisons") or {}).get(name)
        return c, "shipped code, v2 rerun", kid and kid["kid"]
    kid = (sets.get("v2_comparisons") or {}).get(name)
    covered = kid and kid["kid"]["seeds"] == v2[name]["generate/ssim"]["seeds"]   # every v2 seed has its KID
    return v2[name], "v2; its rerun with more seeds is under way", kid["kid"] if covered else None


def headline():
    """README's table: the few figures a newcomer asks for first, each linking its section."""
    road = load("quality_v2_roadscene.json")["summary"]["comparisons"]
    synth = load("quality_v2_synthetic.json")["summary"]["comparisons"]
    flat = load(flat_file())
    constant = [r["run"].split(" ", 1)[1] for r in flat["constant_output_runs"] if r["run"].startswith("v2 ")]
    released = "RoadScene: the authors' released network minus `unet_128`"
    if any(run.startswith("fusion released/") for run in constant):
        released += " (%s wrote one flat grey image for every input: SSIM of no content)" % ", ".join(
            "seed " + run.rsplit("seed", 1)[1] for run in constant if run.startswith("fusion released/"))
    rows = []
    for label, (c, source, kid) in (
            ("RoadScene (real LWIR): fusion `paper` minus pix2pix `unet_128`", settled("roadscene", road, "fusion paper - unet")),
            ("RoadScene: fusion `paper` minus a U-Net of the same compute",
             settled("roadscene", road, "fusion paper - unet matched")),
            ("RoadScene: nested attention minus plain averaging of the branches",
             settled("roadscene", road, "fusion paper - paper average")),
            (released, settled("roadscene", road, "fusion released - unet")),
            ("synthetic scenes: fusion `paper` minus a U-Net of the same compute",
             settled("synthetic", synth, "fusion paper - unet matched"))):
        n = len(c["generate/ssim"]["seeds"])
        rows.append([label, "SSIM %s, PSNR %s dB%s" % (ci(c["generate/ssim"]), ci(c["generate/psnr"], 2),
                                                        ", KID %s" % ci(kid, 3) if kid else ""),
                     "%d seeds (%s), 95%% interval over seeds and images" % (n, source),
                     "[quality](docs/results.md#quality-does-fusion-beat-pix2pix)"])
    mid = flat["mid_grey"]
    rows.append(["RoadScene: a flat mid-grey image, no network (the bar a model must clear)",
                 "SSIM %.3f, PSNR %.2f dB%s (%s)" % (mid["ssim"], mid["psnr"], ", KID %.3f" % mid["kid_mean"]
                                                     if "kid_mean" in mid else "", flat_rank(mid)),
                 "the %d held-out images, scored as the models' outputs" % flat["images"],
                 "[quality](docs/results.md#quality-does-fusion-beat-pix2pix)"])
    demo_file = files("demo-schedule-")[0].name
    after = load(demo_file)["configurations"]["after"]
    rows.append(["`mrff demo`", "SSIM %.3f, PSNR %.2f dB in %.1f min" % (after["ssim_mean"], after["psnr_mean"], after["seconds"] / 60),
                 CPU_NAMES[cpu_of(demo_file)], "[demo](docs/results.md#mrff-demo)"])
    full = [p for p in files("speed-generate-") if "mrff generate --amp none" in load(p.name)["inference"]["runs"]][0]
    runs = load(full.name)["inference"]["runs"]
    rows.append(["`mrff generate`, 256x256, ngf 64", "%.2f images/s fp32, %.2f bf16; `test.py` %.2f" % (
        runs["mrff generate --amp none"]["images_per_s"], runs["mrff generate --amp bf16"]["images_per_s"],
        runs["host test.py"]["images_per_s"]), CPU_NAMES[cpu_of(full.name)],
        "[speed](docs/results.md#inference-speed-mrff-generate-against-the-hosts-testpy)"])
    big = files("tiling-rss-")[0]
    peaks = {b["amp"]: b["peak_rss_mb_main"] for b in load(big.name)["big_photo"]}
    rows.append(["a 4000x3000 photo through `mrff generate` (tiled)", "peak RSS %.2f GB fp32, %.2f GB bf16" % (
        peaks["none"] / 1000, peaks["bf16"] / 1000), CPU_NAMES[cpu_of(big.name)], "[tiling](docs/results.md#tiled-generation)"])
    return table(["what", "figure", "measured with", "more"], rows)


# ----------------------------------------------------------------------------- recommendation

def generator_flags(options):
    """A study model's generator as the host's flags."""
    flags = ["--netG", options["netG"], "--ngf", str(options["ngf"])]
    if options["netG"] == "unetpp_fusion":
        flags += ["--mrff_arch", options.get("mrff_arch", "paper"), "--mrff_fusion", options.get("mrff_fusion", "nested")]
    for key in ("mrff_released_width", "mrff_channels"):
        if key in options:
            flags += ["--" + key, str(options[key])]
    if options.get("norm", "batch") != "batch":
        flags += ["--norm", options["norm"]]
    if options.get("no_dropout"):
        flags.append("--no_dropout")
    return flags


def with_spread(mean, std, digits=3):
    return num(mean, digits) + ("" if std is None else " ± " + num(std, digits))


def recommendation_page():
    rec = load("quality_recommendation.json")
    flat = rec["flat_mid_grey"]
    lines = ["# Which generator to train on real LWIR", "",
             "<!-- Generated by scripts/render_results.py from benchmarks/results/quality_recommendation.json "
             "(python -m benchmarks.quality.recommend): do not edit. -->", "",
             "Read from the quality studies' run records on real RoadScene visible/LWIR pairs by the rule fixed "
             "before the figures it reads ([v3 protocol, \"The recommendation\"](../benchmarks/protocols/"
             "quality_v3.md#the-recommendation-added-on-2026-12-06-before-any-v3-run); figures: %s). A budget is "
             "the compute of one forward pass, in multiply-accumulates per 128x128 image (within %d%% of the "
             "reference model's). Scores are the 34 held-out frames' SSIM as `mrff generate` runs the model, "
             "mean over seeds ± their standard deviation, and KID (lower is better)." % (
                 link("quality_recommendation.json"), round(rec["tolerance"] * 100)), ""]
    rows = []
    for name, b in rec["budgets"].items():
        if b["winner"]:
            w = next(r for r in b["models"] if r["model"] == b["winner"])
            against = "; ".join("%s SSIM %s (%s)" % (c["against"], ci(c["ssim"]),
                                "no difference shown" if c["ssim"]["finding"] == "not shown" else "shown")
                                for c in b["comparisons"]) or "the only candidate"
            rows.append([name, "`%s`" % b["winner"], "`%s`" % " ".join(generator_flags(w["options"])),
                         "%s (%d seeds)" % (with_spread(w["ssim_mean"], w["ssim_seed_std"]), len(w["seeds"])),
                         num(w["kid_mean"], 3), "%s; winner minus %s" % (b["source"], against)
                         if b["comparisons"] else "%s; %s" % (b["source"], against)])
        else:
            rows.append([name, "none yet", "", "", "", "%s: %s" % (b["source"], b["why_none"])])
    lines += table(["budget", "train", "generator flags", "held-out SSIM", "KID", "evidence"], rows)
    lines += ["", "Differences are the winner minus each other candidate, with the 95%% interval over seeds "
              "and images; a difference is shown when the interval excludes 0. A flat mid-grey image, no "
              "network at all, scores SSIM %.3f and KID %.3f on the same frames (%s): much of a thermal frame "
              "is smooth, so SSIM alone rewards blur; read it beside KID.%s" % (
                  flat["ssim"], flat.get("kid_mean", float("nan")), link(flat["file"]), contrast_caution()), ""]
    for name, b in rec["budgets"].items():
        lines += ["## About %s MACs per 128x128 image" % name, "",
                  "Models within %d%% of `%s`'s %.3f G; source: %s ([protocol](../%s)); a candidate has at least "
                  "%d seeds." % (round(rec["tolerance"] * 100), b["reference"], b["reference_macs"] / 1e9,
                                 b["source"], b["protocol"], b["min_seeds"]), ""]
        if b["models"]:
            lines += table(["model", "MACs (G)", "seeds", "SSIM", "PSNR dB", "KID", "FID", "runs with constant output"],
                           [[r["model"] + (" (winner)" if r["model"] == b["winner"] else ""),
                             "%.3f" % (r["macs"] / 1e9), len(r["seeds"]), with_spread(r["ssim_mean"], r["ssim_seed_std"]),
                             num(r["psnr_mean"], 2), num(r["kid_mean"], 3), num(r["fid_mean"], 1),
                             ", ".join(r["collapsed_runs"]) or "none"] for r in b["models"]])
            lines.append("")
        else:
            lines += ["No records at this budget yet.", ""]
        if b["comparisons"]:
            lines += table(["winner minus", "seeds", "SSIM, 95% interval", "", "KID, 95% interval over seeds", ""],
                           [[c["against"], len(c["seeds"]),
                             ci(c["ssim"]), c["ssim"]["finding"],
                             ci(c["kid"], interval="ci95_seeds") if c["kid"] else "-",
                             c["kid"]["finding"] if c["kid"] else ""] for c in b["comparisons"]])
            lines.append("")
        if not b["winner"]:
            lines += ["No recommendation at this budget: %s." % b["why_none"], ""]
    schedule = rec["preset_schedule"]
    lines += ["## The preset", "",
              "`options/real_lwir.txt` trains the %s winner as the studies trained it (written from the same "
              "file):" % rec["preset_budget"], "", "```",
              "python -m mrff_plugin.datasets.frame_split --dataroot /data/RoadScene --test_count 34 --gap 100 --out lists",
              "mrff train @real_lwir --dataroot /data/RoadScene --name real_lwir --pairs_list lists/train.txt",
              "mrff test @real_lwir --dataroot /data/RoadScene --name real_lwir --pairs_list lists/test.txt "
              "--preprocess pad --eval --num_test 34", "```", "",
              "%d + %d epochs are %d iterations on the split's %d training pairs (the studies: %d); on another "
              "set, pass `--n_epochs` and `--n_epochs_decay` of about %d / (2 x its pairs) each." % (
                  schedule["n_epochs"], schedule["n_epochs_decay"], schedule["iterations"], schedule["train_pairs"],
                  schedule["study_iterations"], schedule["study_iterations"]), "",
              "## What this scale cannot tell", "",
              "The studies train at ngf 16 (the 0.6 G models), on random %dx%d crops, for %d iterations, on 111-130 "
              "real pairs, on a 2-core CPU. The paper trains at ngf 64 on 256x256 KAIST images for 60k (fusion) to "
              "140k (pix2pix) iterations. A ranking here is a ranking at this scale: whether it holds at the "
              "paper's, with more data and 30-70x the iterations, is not tested." % (
                  schedule["crop"], schedule["crop"], schedule["study_iterations"]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def real_lwir_preset():
    rec = load("quality_recommendation.json")
    b, schedule = rec["budgets"][rec["preset_budget"]], rec["preset_schedule"]
    if not b["winner"]:
        raise SystemExit("quality_recommendation.json has no %s winner (%s); the real_lwir preset needs one."
                         % (rec["preset_budget"], b["why_none"]))
    w = next(r for r in b["models"] if r["model"] == b["winner"])
    flags = generator_flags(w["options"])
    lines = ["# Generated by scripts/render_results.py from benchmarks/results/quality_recommendation.json: do not edit.",
             "# Real LWIR at about %s MACs per 128x128 image: `%s`, the quality studies' pick" % (
                 rec["preset_budget"], b["winner"]),
             "# (docs/recommendation.md, source: %s), trained as the studies trained it." % b["source"],
             "# RoadScene split by frame number (docs/datasets.md):",
             "#   mrff train @real_lwir --dataroot /data/RoadScene --name real_lwir --pairs_list lists/train.txt",
             "#   mrff test @real_lwir --dataroot /data/RoadScene --name real_lwir --pairs_list lists/test.txt "
             "--preprocess pad --eval",
             "--model mrff_pix2pix            # pix2pix with attention maps as visuals, validation, curves",
             "%-32s # the generator" % " ".join(flags)]
    if "--norm" in flags:
        lines.append("# note: the host's --norm sets the discriminator's normalisation too; the studies kept batch "
                     "norm in the discriminator")
    lines += ["--netD basic --ndf %d            # PatchGAN, the studies' discriminator" % schedule["ndf"],
              "--gan_mode vanilla --lambda_L1 100",
              "--dataset_mode kaist_aligned",
              "--input_nc 3 --output_nc 1       # visible RGB -> single-channel LWIR",
              "--preprocess crop --crop_size %d # random crops at native resolution, flipped at random" % schedule["crop"],
              "--batch_size 1",
              "--lr 0.0002 --beta1 0.5",
              "--n_epochs %d --n_epochs_decay %d # %d iterations on the split's %d training pairs (the studies: %d)" % (
                  schedule["n_epochs"], schedule["n_epochs_decay"], schedule["iterations"], schedule["train_pairs"],
                  schedule["study_iterations"])]
    return "\n".join(lines) + "\n"


def readme(text):
    """README.md's text with its headline block rewritten."""
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise SystemExit("README.md has no %s ... %s block" % (BEGIN, END))
    first_line, _, _ = rest.partition("\n")
    tail = rest.split(END, 1)[1]
    return head + BEGIN + first_line + "\n" + "\n".join(headline()) + "\n" + END + tail


# ------------------------------------------------------------------------------------- page

def render():
    lines = ["# Results", "",
             "<!-- Generated by scripts/render_results.py from benchmarks/results/*.json: do not edit; "
             "run `python scripts/render_results.py` after adding a results file. -->", "",
             "Every figure below is read from a file in [`benchmarks/results/`](../benchmarks/results/); "
             "[MANIFEST.md](../benchmarks/results/MANIFEST.md) says what each file holds. How each "
             "benchmark is run: [development.md](development.md) and "
             "[benchmarks/README.md](../benchmarks/README.md).", "",
             "## Quality: does fusion beat pix2pix?", ""]
    lines += quality_v2("quality_v2_roadscene.json", "Version 2: real LWIR (RoadScene)")
    lines += flat_reference()
    lines += rerun("roadscene")
    lines += quality_version("quality_v3")
    lines += init_signal()
    lines += early_spread()
    lines += final_contrast()
    lines += quality_version("quality_v4")
    lines += quality_v2("quality_v2_synthetic.json", "Version 2: synthetic scenes")
    lines += rerun("synthetic")
    lines += quality_v1()
    lines += demo()
    lines += norm_paths()
    lines += speed_generate()
    lines += speed_train()
    lines += tiling()
    lines += radiometric()
    lines += speed_evaluate()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/results.md differs from what the JSON gives")
    args = parser.parse_args(argv)
    pages = {PAGE: render(), README: readme(README.read_text()), RECOMMENDATION: recommendation_page(),
             PRESET: real_lwir_preset()}
    stale = [path for path, text in pages.items() if not path.exists() or path.read_text() != text]
    unread = unread_runs()
    if unread:
        print("a study summary has not read the run records %s; run: python -m benchmarks.quality.<v3 or v4> "
              "--summary_only, then this script" % ", ".join(unread), file=sys.stderr)
        if not args.check:
            return 1
    if args.check:
        for path in stale:
            print("%s is stale; run: python scripts/render_results.py" % path.relative_to(ROOT), file=sys.stderr)
        return 1 if stale or unread else 0
    PAGE.parent.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(pages[path])
        print("wrote %s" % path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
