"""The recommendation (benchmarks/quality/recommend.py) applies the v3 protocol's rule to run records of known
shape: budgets by MACs, the winner by seed-mean SSIM, collapsed and short models left out, v3 taking over a
budget only when complete; and the page and preset are written from its file."""
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.quality import recommend, v3

ROOT = Path(__file__).resolve().parents[1]
IMAGES = 6
OPTIONS = {"unet": dict(netG="unet_128", ngf=16), "unet matched": dict(netG="unet_128", ngf=40),
           "fusion paper": v3.MODELS["fusion paper"], "paper average": v3.MODELS["paper average"],
           "fusion released": v3.MODELS["fusion released"]}


def record(model, seed, ssim, kid=0.3, flat=False, options=None):
    rng = np.random.default_rng(seed)
    scores = list(ssim + rng.normal(0, 0.01, IMAGES))
    scc = [0.0] * IMAGES if flat else list(0.1 + rng.normal(0, 0.01, IMAGES))
    return {"model": model, "seed": seed, "options": options or OPTIONS[model],
            "final": {"generate": {"ssim": scores, "psnr": [14.0] * IMAGES, "scc": scc},
                      "set_generate": {"fid": 300.0 + seed, "kid_mean": kid + 0.001 * seed}},
            "curve": [{"iter": 200, "scc_mean": 0.0 if flat else 0.1}]}


def write(folder, records):
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        (folder / f"{r['model'].replace(' ', '_')}_seed{r['seed']}.json").write_text(json.dumps(r))
    return folder


@pytest.fixture
def roadscene(tmp_path):
    """File names only: the preset's epochs come from the frame split of RoadScene's ids."""
    folder = tmp_path / "roadscene" / "cropinfrared"
    folder.mkdir(parents=True)
    for n in range(168):
        (folder / f"FLIR_{n * 50:05d}.jpg").write_bytes(b"")
    return folder.parent


def test_the_winner_is_the_best_eligible_candidate_and_the_others_are_compared(tmp_path, roadscene):
    rerun = write(tmp_path / "rerun", [
        *(record("unet", s, 0.34) for s in range(5)),
        *(record("fusion paper", s, 0.38, kid=0.35) for s in range(5)),
        *(record("paper average", s, 0.40, kid=0.40) for s in range(5)),
        *(record("unet matched", s, 0.45, flat=(s == 3)) for s in range(5)),      # best SSIM, one run collapsed
        *(record("fusion released", s, 0.50) for s in range(2))])                  # 2 seeds: short of 3
    rec = recommend.recommend(rerun, tmp_path / "no_v3", seeds_of=lambda budget: None, data=roadscene)
    b = rec["budgets"]
    assert b["0.1 G"]["winner"] == "unet" and not b["0.1 G"]["comparisons"]
    mid = b["0.6 G"]
    assert [r["model"] for r in mid["models"]] == ["unet matched", "paper average", "fusion paper"]
    assert mid["models"][0]["collapsed_runs"] == ["unet matched/seed3"]
    assert mid["winner"] == "paper average" and mid["source"] == "v2 rerun"
    against = {c["against"]: c for c in mid["comparisons"]}
    assert set(against) == {"unet matched", "fusion paper"}
    assert against["fusion paper"]["ssim"]["mean"] == pytest.approx(0.02, abs=0.01)
    assert against["fusion paper"]["ssim"]["finding"] == "higher"
    assert against["fusion paper"]["kid"]["mean"] == pytest.approx(0.05)
    assert b["10 G"]["winner"] is None and "3 seeds" in b["10 G"]["why_none"]
    schedule = rec["preset_schedule"]
    assert schedule["n_epochs"] == schedule["n_epochs_decay"] == round(2000 / schedule["train_pairs"] / 2)
    assert schedule["iterations"] == 2 * schedule["n_epochs"] * schedule["train_pairs"] and 130 <= schedule[
        "train_pairs"] < 168 - 34


@pytest.mark.skipif(not recommend.ROADSCENE.is_dir(), reason="RoadScene is not in ../shared/data")
def test_the_presets_epochs_are_about_2000_iterations_on_roadscenes_training_split():
    schedule = recommend.preset_schedule()
    assert schedule["train_pairs"] == 130          # docs/datasets.md: 168 - 34 held out - 4 within the gap
    assert (schedule["n_epochs"], schedule["n_epochs_decay"], schedule["iterations"]) == (8, 8, 2080)


def test_every_candidate_collapsed_means_no_recommendation(tmp_path, roadscene):
    rerun = write(tmp_path / "rerun", [record("fusion released", s, 0.54, flat=(s == 0)) for s in range(3)])
    b = recommend.recommend(rerun, tmp_path / "no_v3", seeds_of=lambda budget: None, data=roadscene)["budgets"]
    assert b["10 G"]["winner"] is None and "constant output" in b["10 G"]["why_none"]


def test_version_3_takes_a_budget_only_when_every_model_there_has_its_seeds(tmp_path, roadscene):
    rerun = write(tmp_path / "rerun", [record("fusion paper", s, 0.38) for s in range(5)])
    at_06 = [label for label in v3.PRIMARY + v3.SECONDARY]
    v3_records = [record(label, s, 0.30 + 0.01 * i, options=v3.MODELS[label])
                  for i, label in enumerate(at_06) for s in range(5)]
    folder = write(tmp_path / "v3", v3_records[:-1])                  # the last model is one seed short
    rec = recommend.recommend(rerun, folder, seeds_of=lambda budget: 5, data=roadscene)
    assert rec["budgets"]["0.6 G"]["source"] == "v2 rerun" and rec["budgets"]["0.6 G"]["winner"] == "fusion paper"
    write(folder, v3_records[-1:])
    rec = recommend.recommend(rerun, folder, seeds_of=lambda budget: 5, data=roadscene)
    assert rec["budgets"]["0.6 G"]["source"] == "v3" and rec["budgets"]["0.6 G"]["winner"] == at_06[-1]
    assert rec["budgets"]["10 G"]["source"] == "v2 rerun"             # no 10 G model of v3 has run


def load_renderer(tmp_path, rec):
    spec = importlib.util.spec_from_file_location("render_results_rec", ROOT / "scripts" / "render_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "results")
    (tmp_path / "results" / "quality_recommendation.json").write_text(json.dumps(rec))
    module.RESULTS = tmp_path / "results"
    return module


def test_the_page_and_the_preset_say_what_the_file_holds(tmp_path, roadscene):
    rerun = write(tmp_path / "rerun", [*(record("fusion paper", s, 0.38) for s in range(5)),
                                       *(record("paper average", s, 0.40) for s in range(5))])
    rec = recommend.recommend(rerun, tmp_path / "no_v3", seeds_of=lambda budget: None, data=roadscene)
    render = load_renderer(tmp_path, rec)
    page, preset = render.recommendation_page(), render.real_lwir_preset()
    assert "| 0.6 G | `paper average` | `--netG unetpp_fusion --ngf 16 --mrff_arch paper --mrff_fusion average`" in page
    assert "| 10 G | none yet |" in page
    assert "--mrff_fusion average" in preset and "--n_epochs 8 --n_epochs_decay 8" in preset
    assert "--ndf 16" in preset and "--norm" not in preset
    # a winner without batch norm: the preset says what the host's --norm does to the discriminator
    mid = rec["budgets"]["0.6 G"]
    mid["models"][0]["options"] = dict(mid["models"][0]["options"], norm="none")
    render = load_renderer(tmp_path / "again", rec)
    assert "--norm none" in render.real_lwir_preset() and "discriminator" in render.real_lwir_preset()
    mid["winner"], mid["why_none"] = None, "no model has 5 seeds yet"
    render = load_renderer(tmp_path / "third", rec)
    with pytest.raises(SystemExit, match="no 0.6 G winner"):
        render.real_lwir_preset()
