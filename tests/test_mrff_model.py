"""--model mrff_pix2pix: attention/branch visuals, validation with best_net_G.pth, curves.png, gallery scores."""
import json
import re
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import inverse_colour_map, run_host
from mrff_plugin import inception, metrics
from mrff_plugin.synth import write_dataset
from mrff_plugin.training.visuals import branch_map, colour_map, plot_curves, read_loss_log

ATTENTION = ("attention_1", "attention_2", "attention_3", "attention_4")   # Fig. 13-14 (c)-(f)
MAPS = ATTENTION + ("f1", "f2", "f3", "f4")
TINY = ["--model", "mrff_pix2pix", "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64",
        "--gpu_ids", "-1", "--num_threads", "0"]
TRAIN = ["--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "1", "--display_freq", "1", "--display_id", "0"]


@pytest.fixture(scope="module")
def kaist_root(tmp_path_factory):
    """A synthetic KAIST-layout set of 64x64 pairs: 4 train (set00-02), 2 test (set06-07)."""
    root = tmp_path_factory.mktemp("kaist")
    write_dataset(str(root / "data"), 4, size=(64, 64), test_pairs=2)
    return root / "data"


@pytest.fixture(scope="module")
def trained(kaist_root, tmp_path_factory):
    """One tiny training run with validation every 2 iterations on 2 held-out pairs: (result, checkpoints)."""
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    result = run_host("train.py", "--dataroot", kaist_root, "--name", "run", "--checkpoints_dir", checkpoints,
                      *TINY, *TRAIN, "--val_freq", "2", "--val_size", "2")
    return result, checkpoints


# ---------------------------------------------------------------- visuals (in-process)

def test_colour_map_spans_the_colormap_and_resizes_to_the_output():
    from matplotlib import colormaps
    maps = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2).expand(3, 1, 2, 2)          # (3, 1, 2, 2)
    rgb = colour_map(maps, (8, 8))
    assert rgb.shape == (3, 3, 8, 8) and rgb.min() >= -1 and rgb.max() <= 1
    low, high = colormaps["inferno"](0.0)[:3], colormaps["inferno"](1.0)[:3]
    # an 8-bit table (the one `mrff generate --palette inferno` uses): within half a grey level
    assert torch.allclose((rgb[0, :, 0, 0] + 1) / 2, torch.tensor(low, dtype=torch.float32), atol=0.5 / 255 + 1e-6)
    assert torch.allclose((rgb[0, :, 0, -1] + 1) / 2, torch.tensor(high, dtype=torch.float32), atol=0.5 / 255 + 1e-6)


def test_branch_map_scales_each_image_to_the_full_range():
    features = torch.zeros(2, 4, 4, 4)
    features[0, :, 0, 0] = 5.0    # image 0: one strong pixel
    features[1] = -3.0            # image 1: constant (no contrast) -> all at the low end
    features[1, :, 3, 3] = -1.0
    rgb = branch_map(features, (4, 4))
    expected = colour_map(torch.tensor([[[[1.0]]], [[[0.0]]]]), (1, 1))
    assert torch.allclose(rgb[0, :, 0, 0], expected[0, :, 0, 0])     # the strongest pixel is the top colour
    assert torch.allclose(rgb[1, :, 3, 3], expected[1, :, 0, 0])     # |-1| < |-3|: the weakest colour


def test_loss_log_is_parsed_and_plotted(tmp_path):
    log = tmp_path / "loss_log.txt"
    log.write_text("================ Training Loss (now) ================\n"
                   "(epoch: 1, iters: 1, time: 0.2, data: 0.0) G_GAN: 0.697 G_L1: 41.895 D_real: 0.667 D_fake: 0.777\n"
                   "(epoch: 1, iters: 2, time: 0.2, data: 0.0) G_GAN: 0.700 G_L1: 30.500 D_real: 0.600 D_fake: 0.700\n")
    rows = read_loss_log(str(log))
    assert rows == [{"G_GAN": 0.697, "G_L1": 41.895, "D_real": 0.667, "D_fake": 0.777},
                    {"G_GAN": 0.7, "G_L1": 30.5, "D_real": 0.6, "D_fake": 0.7}]
    png = plot_curves(str(tmp_path / "curves.png"), rows, [(2, 0.31, 12.5), (4, 0.35, 13.0)])
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 2 * image.height   # three panels side by side


# ---------------------------------------------------------------- training and test through the host

def test_training_shows_maps_validates_keeps_best_and_plots(trained):
    result, checkpoints = trained
    assert result.returncode == 0, result.stderr[-3000:]
    run = checkpoints / "run"
    # validation after iterations 2 and 4 of the 4 training pairs, on the 2 held-out pairs
    lines = (run / "val_log.txt").read_text().splitlines()
    sets = r" FID (\S+) KID (\S+)" if inception.find_file() else ""   # FID / KID where the Inception file is
    found = [re.match(r"\(iters: (\d+)\) validation on (\d+) pairs: SSIM (\S+) PSNR (\S+) dB" + sets, l) for l in lines]
    assert [(m.group(1), m.group(2)) for m in found] == [("2", "2"), ("4", "2")]
    ssim = [float(m.group(3)) for m in found]
    assert all(-1 <= s <= 1 for s in ssim)
    assert not sets or all(float(m.group(5)) >= 0 for m in found)   # FID of the 2 held-out pairs
    # best_net_G.pth: the generator only, loadable into the same architecture as latest_net_G.pth
    best = torch.load(run / "best_net_G.pth", weights_only=True)
    latest = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert best.keys() == latest.keys() and not (run / "best_net_D.pth").exists()
    same = [torch.equal(best[k], latest[k]) for k in best]
    if ssim[1] > ssim[0]:    # the last validation (after the last step) improved: best is the final G
        assert all(same)
    elif ssim[1] < ssim[0]:  # best is the G of iteration 2, not the final one (equal when rounded: either)
        assert not all(same)
    # both Adam optimizers ran through the fused kernel (saved in the resumable state)
    state = torch.load(run / "latest_state.pth", weights_only=True)
    assert [group["fused"] for o in state["optimizers"] for group in o["param_groups"]] == [True, True]
    # curves next to loss_log.txt
    with Image.open(run / "curves.png") as image:
        assert image.format == "PNG" and image.width > 2 * image.height
    # the training page shows the attention maps and branches
    page = (run / "web" / "index.html").read_text()
    for name in MAPS:
        assert f"epoch001_{name}.png" in page
        with Image.open(run / "web" / "images" / f"epoch001_{name}.png") as image:
            assert image.size == (64, 64) and image.mode == "RGB"


def test_test_gallery_captions_equal_scores_of_the_saved_files(kaist_root, trained, tmp_path):
    assert trained[0].returncode == 0
    result = run_host("test.py", "--dataroot", kaist_root, "--name", "run", "--checkpoints_dir", trained[1],
                      "--results_dir", tmp_path / "results", *TINY, "--eval")
    assert result.returncode == 0, result.stderr[-3000:]
    gallery = tmp_path / "results" / "run" / "test_latest"
    page = (gallery / "index.html").read_text()
    captions = re.findall(r"fake_B: SSIM (\S+), PSNR (\S+) dB", page)
    stems = re.findall(r"<h3>([^<]+)</h3>", page)
    assert len(captions) == len(stems) == 2
    for stem, (ssim, psnr) in zip(stems, captions):
        fake, real = gallery / "images" / f"{stem}_fake_B.png", gallery / "images" / f"{stem}_real_B.png"
        assert float(ssim) == pytest.approx(metrics.ssim(fake, real), abs=1e-4)
        assert float(psnr) == pytest.approx(metrics.psnr(fake, real), abs=1e-2)
        for name in MAPS:
            assert (gallery / "images" / f"{stem}_{name}.png").is_file()
        # the four maps are on one fixed 0..1 scale: read back through the colormap they sum to 1 per pixel
        weights = [inverse_colour_map(gallery / "images" / f"{stem}_{name}.png") for name in ATTENTION]
        assert np.abs(sum(weights) - 1).max() <= 4 * 1.5 / 255   # 8-bit colours, nearest of 256 levels
    scale = re.search(r'<div id="mrff-attention-scale"[^>]*>(.*?)</div>', page, re.S)
    assert scale and "one scale: " in scale.group(1) and "linear-gradient(to right, #000004" in scale.group(1)
    assert page.index("mrff-summary") < page.index("mrff-attention-scale") < page.index("<h3>")
    summary = re.search(r'<p id="mrff-summary"[^>]*>fake_B vs real_B over 2 images[^<]*SSIM (\S+) ± (\S+), '
                        r'PSNR (\S+) ± (\S+) dB', page)
    assert summary and page.index("mrff-summary") < page.index("<h3>")
    assert float(summary.group(1)) == pytest.approx(np.mean([float(s) for s, _ in captions]), abs=1e-4)
    assert float(summary.group(2)) == pytest.approx(np.std([float(s) for s, _ in captions], ddof=1), abs=2e-4)
    # FID and KID of the page's fake_B set against its real_B set: mrff evaluate's figures on the saved files
    from mrff_plugin import inception
    from mrff_plugin.metrics_fid import fid, kid
    if inception.find_file() is None:   # without the Inception file, the line says why they are left out
        assert re.search(r'<p id="mrff-summary"[^>]*>[^<]*dB\. FID and KID left out: ', page)
        return
    network = inception.load()
    fake, real = (inception.features(network, torch.from_numpy(np.stack(
        [metrics.grey_u8(gallery / "images" / f"{stem}_{label}.png") for stem in stems]))) for label in ("fake_B", "real_B"))
    sets = re.search(r'<p id="mrff-summary"[^>]*>[^<]*dB, FID (\S+), KID (\S+) ± (\S+)\. FID is biased at N = 2', page)
    assert sets, page[:600]
    assert float(sets.group(1)) == pytest.approx(fid(fake, real), abs=0.01)
    assert float(sets.group(2)) == pytest.approx(kid(fake, real)[0], abs=1e-4)


REPLICAS = textwrap.dedent("""
    import copy, json, torch
    import mrff_plugin
    mrff_plugin.register('.')
    from models.mrff_pix2pix_model import MrffPix2PixModel
    from mrff_plugin.networks.unetpp_fusion import unetpp_fusion

    class Replicas(torch.nn.DataParallel):
        # DataParallel on CPU: each call runs fresh copies of the module on halves of the batch, then
        # gathers the outputs along dim 0 -- attributes the copies set are lost, as on several GPUs.
        def __init__(self, module):
            torch.nn.Module.__init__(self)
            self.module, self.device_ids = module, [0, 1]

        def forward(self, x, **kwargs):
            outputs = [copy.deepcopy(self.module)(part, **kwargs) for part in x.chunk(2)]
            if isinstance(outputs[0], tuple):
                return tuple(torch.cat(parts) for parts in zip(*outputs))
            return torch.cat(outputs)

    torch.manual_seed(0)
    result = {}
    for arch in ("paper", "released"):
        model = MrffPix2PixModel.__new__(MrffPix2PixModel)
        model.netG = Replicas(unetpp_fusion(3, 1, ngf=4, mrff_arch=arch))
        model.real_A = torch.randn(2, 3, 32, 32)
        model.base_visual_names = ["real_A", "fake_B", "real_B"]
        with torch.no_grad():
            model.forward()
            model.compute_visuals()
        weights = model.feature_weights
        result[arch] = {"names": model.visual_names, "shape": list(weights.shape),
                        "sum_error": float((weights.sum(1) - 1).abs().max()),
                        "on_module": len(model.netG.module.feature_weights),
                        "visual": list(model.attention_4.shape)}
    print(json.dumps(result))
""")


def test_attention_visuals_survive_dataparallel_replicas_for_both_architectures():
    result = run_host("-c", REPLICAS)
    assert result.returncode == 0, result.stderr[-3000:]
    for arch, seen in json.loads(result.stdout.strip().splitlines()[-1]).items():
        assert seen["on_module"] == 0, arch                # the wrapped module itself never ran
        assert seen["shape"] == [2, 4, 32, 32] and seen["sum_error"] < 1e-5, arch   # gathered from both halves
        assert seen["names"] == ["real_A", "fake_B", "real_B", *ATTENTION], arch    # f1..f4: not from replicas
        assert seen["visual"] == [2, 3, 32, 32], arch


def test_unusable_validation_set_is_one_sentence_before_training(kaist_root, tmp_path):
    result = run_host("train.py", "--dataroot", kaist_root, "--name", "run", "--checkpoints_dir", tmp_path,
                      *TINY, *TRAIN, "--val_freq", "2", "--val_dataroot", tmp_path / "nowhere")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "nowhere" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "latest_net_G.pth").exists()


def test_bf16_training_runs_and_fp16_is_refused(kaist_root, tmp_path):
    result = run_host("train.py", "--dataroot", kaist_root, "--name", "bf16", "--checkpoints_dir", tmp_path,
                      *TINY, *TRAIN, "--amp", "bf16", "--max_dataset_size", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    losses = read_loss_log(str(tmp_path / "bf16" / "loss_log.txt"))
    assert len(losses) == 2 and all(np.isfinite(list(row.values())).all() for row in losses)
    refused = run_host("train.py", "--dataroot", kaist_root, "--name", "fp16", "--checkpoints_dir", tmp_path,
                       *TINY, *TRAIN, "--amp", "fp16")
    assert refused.returncode == 2 and "--amp" in refused.stderr and "Traceback" not in refused.stderr


# ---------------------------------------------------------------- upstream hosts (static)

# What the plugin's host-side modules may import from the host unguarded: names that both eras of the
# upstream toolkit have (docs/architecture.md, "The host contract"). Anything else must sit in `try/except ImportError`.
CONTRACT_IMPORTS = {"data": {"find_dataset_using_name"}, "models.pix2pix_model": {"Pix2PixModel"},
                    "data.base_dataset": {"BaseDataset", "get_params", "get_transform"}}
HOST_PACKAGES = ("data", "models", "options", "util")


def test_host_side_modules_import_only_the_contract_from_the_host_unguarded():
    import ast
    from pathlib import Path

    import mrff_plugin
    root = Path(mrff_plugin.__file__).parent
    for path in (root / "training" / "mrff_pix2pix.py", root / "datasets" / "kaist_aligned.py"):
        tree = ast.parse(path.read_text())
        guarded = {id(node) for trial in ast.walk(tree) if isinstance(trial, ast.Try)
                   and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in trial.handlers)
                   for statement in trial.body for node in ast.walk(statement)}
        host_imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0
                        and node.module.split(".")[0] in HOST_PACKAGES]
        assert host_imports, path   # the check sees the host imports at all
        for node in host_imports:
            if id(node) not in guarded:
                names = {alias.name for alias in node.names}
                assert names <= CONTRACT_IMPORTS.get(node.module, set()), (path.name, node.module, names)
    assert "_bare" not in (root / "training" / "mrff_pix2pix.py").read_text()   # a bundled-host-only helper
