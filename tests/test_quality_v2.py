"""The quality study, version 2: its code carries out the committed protocol, and its statistics are sound.

The protocol (benchmarks/protocols/quality_v2.md) was committed before any run; these tests hold the
code's constants to it, check the compute matching it promises, the training crops, the three ways
of scoring, and the hierarchical bootstrap against what it must do on data of known structure.
"""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.quality import v2 as study
from benchmarks.quality.data import CropStream, pair_to_tensors
from benchmarks.quality.score import MODES, pair_scores, whole_outputs
from benchmarks.quality.stats import hierarchical_ci, paired

ROOT = Path(__file__).resolve().parents[1]

PROTOCOL = (ROOT / study.PROTOCOL).read_text()


def test_the_codes_constants_are_the_protocols():
    assert f"{study.ITERS} iterations" in PROTOCOL and f"constant for {study.ITERS - study.DECAY_ITERS}" in PROTOCOL
    assert f"ndf {study.NDF}" in PROTOCOL and f"random {study.CROP}x{study.CROP} crop" in PROTOCOL
    assert f"the {study.TEST_COUNT} highest frame numbers" in PROTOCOL
    assert f"a gap of {study.FRAME_GAP} frame" in PROTOCOL
    assert f"multiple of {study.PAD_MULTIPLE}" in PROTOCOL and f"every {study.EVAL_EVERY} iterations" in PROTOCOL
    assert f"every {study.TRAIN_SCORED_EVERY}th of the" in PROTOCOL
    for label, options in study.MODELS.items():
        row = next(line for line in PROTOCOL.splitlines() if line.startswith(f"| `{label}` |"))
        if options["netG"] in row and options.get("mrff_arch") != "released":
            assert f"ngf {options['ngf']}" in row, (label, row)
        else:   # a variant of the row above it: its flag is named
            assert ("average" in row and options.get("mrff_fusion") == "average") or "released" in row, (label, row)
    headline_seeds = {seed for label, seed in study.run_order("roadscene") if label in study.HEADLINE}
    assert headline_seeds == set(range(5)) and "Seeds 0-4" in PROTOCOL


def test_the_matched_unet_is_within_ten_percent_of_fusions_macs():
    from benchmarks.pix2pix_step import Pix2PixStep
    from benchmarks.speed import count_flops

    def macs(label):
        options = study.MODELS[label]
        G = Pix2PixStep(options["netG"], ngf=options["ngf"], ndf=study.NDF,
                        mrff_arch=options.get("mrff_arch", "paper")).G.eval()
        with torch.no_grad():
            return count_flops(lambda: G(torch.zeros(1, 3, study.CROP, study.CROP))) / 2
    fusion, matched, plain = macs("fusion paper"), macs("unet matched"), macs("unet")
    assert abs(matched / fusion - 1) <= 0.10, (matched, fusion)
    assert fusion / plain > 4   # the study's U-Net has a fraction of fusion's compute: why the matched one exists


def test_training_crops_come_from_the_native_image_the_same_for_both_halves():
    rng = np.random.default_rng(0)
    visible = rng.integers(0, 256, (161, 597, 3), dtype=np.uint8)   # RoadScene's widest crop, FLIR_06974
    lwir = visible[..., 0].copy()                                    # a pixel-wise partner
    stream = CropStream([(visible, lwir)], seed=3, size=study.CROP)
    again = CropStream([(visible, lwir)], seed=3, size=study.CROP)
    for _ in range(4):
        a, b = stream.next()
        assert a.shape == (1, 3, 128, 128) and b.shape == (1, 1, 128, 128)
        assert torch.equal(a[:, :1], b)                               # the same crop and flip of both
        assert torch.equal(a, again.next()[0])                        # the seed fixes crops and flips


def test_whole_images_are_scored_at_their_own_size_and_test_py_scoring_leaves_the_model_unchanged():
    from benchmarks.pix2pix_step import Pix2PixStep
    G = Pix2PixStep("unet_128", ngf=8, ndf=8).G
    rng = np.random.default_rng(1)
    pairs = [(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 256, (h, w), dtype=np.uint8))
             for h, w in ((161, 200), (130, 140))]
    before = {k: v.clone() for k, v in G.state_dict().items()}

    def outputs(chosen, mode):
        return whole_outputs(G, chosen, mode, torch.device("cpu"), study.PAD_MULTIPLE)
    for mode in MODES:
        fakes = outputs(pairs, mode)
        assert [tuple(f.shape) for f in fakes] == [(1, 1, 161, 200), (1, 1, 130, 140)]
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())   # running statistics put back
    assert G.training
    generate = outputs(pairs[:1], "generate")[0]
    running = outputs(pairs[:1], "running")[0]
    assert (generate - running).abs().max() > 1e-3   # the two BatchNorm statistics differ for this network
    scores = pair_scores([generate], pairs[:1])
    assert set(scores) == {"ssim", "psnr", "scc", "ssim_released", "psnr_released"} and len(scores["ssim"]) == 1


def test_the_studys_fast_scores_equal_the_projects_metrics_on_fixed_images():
    from mrff_plugin.metrics import scores_released_u8, tensor_detail, tensor_scores, tensor_to_u8
    rng = np.random.default_rng(2021)
    lwir = np.asarray(torch.nn.functional.interpolate(torch.rand(1, 1, 20, 30), size=(161, 237), mode="bilinear")[0, 0]
                      * 255, dtype=np.uint8)
    fake = torch.from_numpy((lwir.astype(np.float32) + rng.normal(0, 25, lwir.shape)).clip(0, 255))
    fake = (fake / 127.5 - 1)[None, None].float()
    pairs = [(np.zeros((161, 237, 3), np.uint8), lwir)]
    ours = pair_scores([fake], pairs)
    real = pair_to_tensors(pairs[0][0], lwir)[1]
    ssim, psnr = tensor_scores(fake, real)
    rgb = lambda t: tensor_to_u8(t).expand(-1, 3, -1, -1)  # noqa: E731
    ssim_released, psnr_released = scores_released_u8(rgb(fake), rgb(real))
    assert ours["ssim"][0] == pytest.approx(float(ssim[0]), abs=1e-6) and 0.1 < ours["ssim"][0] < 0.95
    assert ours["psnr"][0] == pytest.approx(float(psnr[0]), abs=1e-6)
    assert ours["scc"][0] == pytest.approx(float(tensor_detail(fake, real)[0]), abs=1e-9)
    assert ours["ssim_released"][0] == pytest.approx(float(ssim_released[0]), abs=1e-6)
    assert ours["psnr_released"][0] == pytest.approx(float(psnr_released[0]), abs=1e-6)
    assert ours["ssim_released"][0] != pytest.approx(ours["ssim"][0], abs=1e-3)   # two protocols, two values


def test_hierarchical_interval_of_constant_differences_is_that_constant():
    assert hierarchical_ci(np.full((5, 34), 0.02), resamples=200) == pytest.approx([0.02, 0.02])


def test_hierarchical_interval_covers_the_truth_where_the_image_only_interval_does_not():
    """Differences = a seed effect (sd 0.03) + an image effect (sd 0.01), true mean 0, 5 seeds x 34 images:
    the hierarchical interval must cover 0 about 95% of the time; the image-only one, blind to seeds, far less."""
    rng = np.random.default_rng(7)
    covered = {"hierarchical": 0, "images only": 0}
    trials = 60
    for _ in range(trials):
        d = rng.normal(0, 0.03, (5, 1)) + rng.normal(0, 0.01, (5, 34))
        low, high = hierarchical_ci(d, resamples=1000, seed=int(rng.integers(1 << 30)))
        covered["hierarchical"] += low <= 0 <= high
        per_image = d.mean(axis=0)
        boot = [rng.choice(per_image, 34).mean() for _ in range(1000)]
        low, high = np.percentile(boot, [2.5, 97.5])
        covered["images only"] += low <= 0 <= high
    assert covered["hierarchical"] / trials >= 0.75, covered
    assert covered["images only"] / trials <= 0.5, covered


def test_paired_differences_use_only_the_seeds_both_models_have():
    def record(seed, values):
        return {"seed": seed, "final": {"generate": {"ssim": values}}}
    a = [record(0, [0.5, 0.6]), record(1, [0.4, 0.4]), record(2, [0.9, 0.9])]
    b = [record(0, [0.4, 0.4]), record(1, [0.4, 0.5])]
    result = paired(a, b, "generate", "ssim")
    assert result["seeds"] == [0, 1] and result["images"] == 2
    assert result["per_seed"] == pytest.approx([0.15, -0.05])
    assert result["mean"] == pytest.approx(0.05)


def test_the_protocols_summary_of_run_records_finds_a_constant_difference():
    """v2.summarise: the analysis of a dict of run records, as the results file's summary holds it."""
    def record(model, seed, level):
        scores = {m: [level + 0.01 * k for k in range(3)] for m in ("ssim", "psnr", "scc", "ssim_released",
                                                                    "psnr_released")}
        curve = [{"iter": it, "ssim_mean": level, "psnr_mean": level, "scc_mean": level} for it in (1, 2)]
        return {"model": model, "seed": seed, "params": 1, "seconds_per_iter": 1.0, "curve": curve,
                "final": {**{mode: scores for mode in MODES}, "train_generate": scores}}
    runs = {f"{m}/seed{s}": record(m, s, level) for m, level in (("unet", 0.5), ("fusion paper", 0.6)) for s in (0, 1)}
    summary = study.summarise(runs)
    assert set(summary["models"]) == {"unet", "fusion paper"}
    assert list(summary["comparisons"]) == ["fusion paper - unet"]     # only pairs with both models' runs
    for key, result in summary["comparisons"]["fusion paper - unet"].items():
        assert result["mean"] == pytest.approx(0.1) and result["ci95_hierarchical"] == pytest.approx([0.1, 0.1]), key
        assert result["shown"] and result["seeds"] == [0, 1] and result["images"] == 3
    assert summary["baseline_flat"] == {"last_step": 0.0, "seed_std": 0.0, "flat": False}


def test_the_protocol_was_committed_before_any_result():
    import subprocess
    log = subprocess.run(["git", "log", "--format=%H", "--", study.PROTOCOL,
                          "benchmarks/results/quality_v2_roadscene.json"], cwd=ROOT, capture_output=True,
                         text=True).stdout.split()
    if not log:
        pytest.skip("not a git checkout with the study's history")
    first_protocol = subprocess.run(["git", "log", "--reverse", "--format=%H", "--", study.PROTOCOL], cwd=ROOT,
                                    capture_output=True, text=True).stdout.split()[0]
    results = subprocess.run(["git", "log", "--reverse", "--format=%H", "--",
                              "benchmarks/results/quality_v2_roadscene.json"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    if results:
        ancestry = subprocess.run(["git", "merge-base", "--is-ancestor", first_protocol, results[0]], cwd=ROOT)
        assert ancestry.returncode == 0 and first_protocol != results[0]
    assert re.search(r"Fixed on \d{4}-\d\d-\d\d, before any comparison run", PROTOCOL)
