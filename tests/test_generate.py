"""`mrff generate`: folder trees in, PNGs out, at each image's size, resumable, shardable.

One tiny fusion generator (ngf 8, batch norm, 1-channel output) is built and
saved with the host's own checkpoint functions in a subprocess; that subprocess
also records the generator's output for one image, computed plainly (float32, the
host's tensor2im) both ways: BatchNorm by the image's own statistics as test.py runs
it (the default) and by the running statistics as test.py --eval; the command's
files must match each.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, host_env, mrff_in_process
from mrff_plugin.generate.files import RUN_RECORD

SIZES = {"a/x.png": (64, 64), "a/b/odd.jpg": (70, 50), "top.png": (64, 64), "c/wide.bmp": (96, 32)}

MAKE_CHECKPOINT = textwrap.dedent("""
    import argparse, sys
    import numpy as np, torch
    sys.path.insert(0, sys.argv[1])
    import mrff_plugin
    mrff_plugin.register()
    from models import networks
    from util import checkpoint
    from util.util import tensor2im
    from PIL import Image
    torch.manual_seed(0)
    torch.set_num_threads(1)
    opt = argparse.Namespace(netG="unetpp_fusion", norm="batch", ngf=8, input_nc=3, output_nc=1, no_dropout=False,
                             mrff_fusion="nested", mrff_channels=32, init_type="normal", init_gain=0.02)
    net = networks.define_G(3, 1, 8, "unetpp_fusion", "batch", True, "normal", 0.02, [])
    with torch.no_grad():  # give BatchNorm running statistics that are not the identity
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
    checkpoint.save_network(net, checkpoint.network_path(sys.argv[2], "latest", "G"))
    checkpoint.save_state(checkpoint.state_path(sys.argv[2], "latest"), opt, 1, 10, [], [])
    image = np.asarray(Image.open(sys.argv[3]).convert("RGB"), dtype=np.float32)
    x = torch.from_numpy(image).permute(2, 0, 1)[None] / 127.5 - 1.0
    with torch.no_grad():
        np.save(sys.argv[4] + "_running.npy", tensor2im(net.eval()(x))[:, :, 0])   # as test.py --eval
        for m in net.modules():   # as test.py: BatchNorm by the image's own statistics (batch 1); dropout off
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
        np.save(sys.argv[4] + "_image.npy", tensor2im(net(x))[:, :, 0])
""")


def write_tree(root, sizes=SIZES, seed=0):
    """Smooth random RGB images at `sizes` (relative path -> (w, h)), plus a non-image file."""
    rng = np.random.default_rng(seed)
    for rel, (w, h) in sizes.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
        Image.fromarray(small).resize((w, h), Image.BILINEAR).save(path)
    (Path(root) / "notes.txt").write_text("not an image")
    return Path(root)


def mrff(*args, env_extra=None, timeout=120):
    """`mrff ARGS...` in this process (what these tests check is the files and the messages, not the process);
    with env_extra, a process of its own with that environment."""
    if env_extra is None:
        return mrff_in_process(*args)
    env = dict(host_env(), **env_extra)
    env.pop("RANK", None)
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """{'ckpt': .../latest_net_G.pth, 'input': tree, 'expected': G(a/x.png) as (64, 64) uint8}."""
    tmp = tmp_path_factory.mktemp("generate")
    tree = write_tree(tmp / "in")
    run = tmp / "run"
    run.mkdir()
    result = subprocess.run([sys.executable, "-c", MAKE_CHECKPOINT, str(HOST_DIR), str(run),
                             str(tree / "a" / "x.png"), str(tmp / "expected")],
                            env=host_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {"ckpt": run / "latest_net_G.pth", "input": tree, "expected": np.load(tmp / "expected_image.npy"),
            "expected_running": np.load(tmp / "expected_running.npy")}


def generate(setup, out, *extra, **kwargs):
    result = mrff("generate", "--checkpoint", setup["ckpt"], "--input", setup["input"], "--output", out,
                  "--workers", "0", "--quiet", *extra, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def grey(path):
    return np.asarray(Image.open(path)).astype(np.int16)


@pytest.fixture(scope="module")
def fp32_out(setup, tmp_path_factory):
    """The tree generated once in float32, batches of 3 (mixing sizes is the engine's job to avoid)."""
    out = tmp_path_factory.mktemp("fp32") / "out"
    generate(setup, out, "--batch_size", "3")
    return out


def test_outputs_mirror_the_tree_at_each_images_own_size(fp32_out):
    written = sorted(str(p.relative_to(fp32_out)) for p in fp32_out.rglob("*")
                     if p.is_file() and p.name != RUN_RECORD)
    assert written == sorted(str(Path(rel).with_suffix(".png")) for rel in SIZES)  # notes.txt skipped
    for rel, size in SIZES.items():
        image = Image.open(fp32_out / Path(rel).with_suffix(".png"))
        assert image.size == size
        assert image.mode == "L"  # the network's 1 output channel, 8 bit
        assert np.std(np.asarray(image, dtype=float)) > 0


def test_output_equals_the_generator_applied_in_process(setup, fp32_out):
    written = grey(fp32_out / "a" / "x.png")
    assert written.shape == setup["expected"].shape == (64, 64)
    assert np.abs(written - setup["expected"]).max() <= 1


def test_an_images_output_does_not_depend_on_its_batch_neighbours(setup, fp32_out, tmp_path):
    """Each image is normalised by its own statistics: batches of 1 give the same PNGs as batches of 3."""
    generate(setup, tmp_path / "one", "--batch_size", "1")
    for rel in SIZES:
        name = Path(rel).with_suffix(".png")
        assert np.abs(grey(fp32_out / name) - grey(tmp_path / "one" / name)).max() <= 1, rel


def test_running_statistics_give_the_eval_mode_output(setup, tmp_path):
    generate(setup, tmp_path / "out", "--norm_stats", "running")
    written = grey(tmp_path / "out" / "a" / "x.png")
    assert np.abs(written - setup["expected_running"]).max() <= 1
    # the two ways differ for this network (non-identity running statistics), so the check above can fail
    assert np.abs(setup["expected_running"] - setup["expected"]).mean() > 5


def test_three_channel_output_repeats_the_grey_result(setup, tmp_path):
    generate(setup, tmp_path / "out", "--output_nc", "3")
    rgb = np.asarray(Image.open(tmp_path / "out" / "a" / "x.png"))
    assert rgb.shape == (64, 64, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    assert np.abs(rgb[..., 0].astype(np.int16) - setup["expected"]).max() <= 1


def test_size_flag_resizes_every_input(setup, tmp_path):
    generate(setup, tmp_path / "out", "--size", "32x64")
    for rel in SIZES:
        assert Image.open(tmp_path / "out" / Path(rel).with_suffix(".png")).size == (32, 64)


def test_second_run_resumes_skipping_finished_files(setup, tmp_path):
    out = tmp_path / "out"
    generate(setup, out)
    kept = out / "a" / "x.png"
    os.utime(kept, (1_000_000, 1_000_000))  # an old, recognisable mtime
    (out / "top.png").unlink()  # as if the first run had stopped before this one
    result = generate(setup, out)
    assert kept.stat().st_mtime == 1_000_000
    assert (out / "top.png").is_file()
    assert "wrote 1 images" in result.stdout and f"skipped {len(SIZES) - 1} already done" in result.stdout


def test_bf16_is_within_one_grey_level_of_fp32(setup, fp32_out, tmp_path):
    generate(setup, tmp_path / "bf16", "--amp", "bf16")
    for rel in SIZES:
        name = Path(rel).with_suffix(".png")
        mad = np.abs(grey(fp32_out / name) - grey(tmp_path / "bf16" / name)).mean()
        assert mad <= 1.0, (rel, mad)


def test_two_shards_write_every_file_exactly_once(setup, tmp_path):
    """Two processes as torchrun would start them (RANK/WORLD_SIZE), run at the same time."""
    out = tmp_path / "out"
    env = dict(host_env(), WORLD_SIZE="2")
    base = [sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", str(setup["ckpt"]),
            "--input", str(setup["input"]), "--output", str(out), "--workers", "0", "--quiet"]
    procs = [subprocess.Popen(base, env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outputs]
    counts = [int(stdout.split("wrote ")[1].split()[0]) for stdout, _ in outputs]
    assert counts == [2, 2]  # 4 files: ranks take sorted indices 0,2 and 1,3; together exactly once each
    assert len([p for p in out.rglob("*") if p.is_file() and p.name != RUN_RECORD]) == len(SIZES)


def test_missing_checkpoint_is_one_clear_line(setup, tmp_path):
    result = mrff("generate", "--checkpoint", tmp_path / "nowhere" / "latest_net_G.pth",
                  "--input", setup["input"], "--output", tmp_path / "out")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere/latest_net_G.pth does not exist" in lines[0]
    assert not (tmp_path / "out").exists()


def test_checkpoint_without_saved_options_asks_for_the_flags(setup, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "5_net_G.pth").write_bytes(setup["ckpt"].read_bytes())
    result = mrff("generate", "--checkpoint", alone, "--epoch", "5", "--input", setup["input"],
                  "--output", tmp_path / "out")
    assert result.returncode != 0
    assert "pass the training flags --netG, --norm" in result.stderr
    generate({**setup, "ckpt": alone / "5_net_G.pth"}, tmp_path / "out", "--netG", "unetpp_fusion",
             "--norm", "batch", "--ngf", "8", "--output_nc", "1")
    assert np.abs(grey(tmp_path / "out" / "a" / "x.png") - setup["expected"]).max() <= 1


def test_unreadable_image_is_named_or_skipped(setup, tmp_path):
    tree = write_tree(tmp_path / "in", {"good.png": (64, 64)})
    (tree / "broken.png").write_bytes(b"not a png at all")
    args = ("generate", "--checkpoint", setup["ckpt"], "--input", tree, "--workers", "0", "--quiet")
    result = mrff(*args, "--output", tmp_path / "out")
    assert result.returncode != 0 and "broken.png cannot be read as an image" in result.stderr
    assert "--skip_bad" in result.stderr
    result = mrff(*args, "--output", tmp_path / "out", "--skip_bad")
    assert result.returncode == 0, result.stderr
    assert "wrote 1 images" in result.stdout and "1 unreadable" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [RUN_RECORD, "good.png"]


def test_empty_input_folder_is_refused(setup, tmp_path):
    (tmp_path / "empty").mkdir()
    result = mrff("generate", "--checkpoint", setup["ckpt"], "--input", tmp_path / "empty",
                  "--output", tmp_path / "out")
    assert result.returncode != 0 and "holds no image files" in result.stderr


def test_an_interrupted_write_leaves_no_partial_image(tmp_path, monkeypatch):
    """write_png failing half-way (e.g. Ctrl-C during encoding) leaves neither the target nor a temp file."""
    from mrff_plugin.generate import files

    def explode(self, handle, *args, **kwargs):
        handle.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        files.write_png(np.zeros((8, 8), np.uint8), str(tmp_path / "x.png"))
    assert list(tmp_path.iterdir()) == []


def truncated_jpeg(png, path):
    """`png` saved as a JPEG, of which only the first half is written."""
    from PIL import Image
    import io
    buffer = io.BytesIO()
    Image.open(png).convert("RGB").save(buffer, format="JPEG", quality=95)
    path.write_bytes(buffer.getvalue()[:len(buffer.getvalue()) // 2])


def test_a_run_refused_before_its_first_image_leaves_no_record_behind(setup, tmp_path):
    """A JPEG cut short (an interrupted copy) has a readable header: it is found only when decoded, after the run
    recorded its options in --output.  Refused, the run takes the record (and the folder it made) back, so the
    corrected run may use other options."""
    tree = write_tree(tmp_path / "in", {"good.png": (64, 64)})
    truncated_jpeg(tree / "good.png", tree / "a_truncated.jpg")          # sorted first: the first batch fails
    args = ("generate", "--checkpoint", setup["ckpt"], "--input", tree, "--workers", "0", "--quiet",
            "--batch_size", "1")
    result = mrff(*args, "--output", tmp_path / "out")
    assert result.returncode == 2 and "a_truncated.jpg cannot be decoded" in result.stderr
    assert "--skip_bad" in result.stderr
    assert not (tmp_path / "out").exists()
    (tmp_path / "kept").mkdir()                                         # a folder the user made stays
    assert mrff(*args, "--output", tmp_path / "kept").returncode == 2
    assert list((tmp_path / "kept").iterdir()) == []
    result = mrff(*args, "--output", tmp_path / "out", "--skip_bad", "--palette", "inferno")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [RUN_RECORD, "good.png"]


def test_a_run_refused_after_writing_keeps_its_record(setup, tmp_path):
    tree = write_tree(tmp_path / "in", {"good.png": (64, 64)})
    truncated_jpeg(tree / "good.png", tree / "z_truncated.jpg")          # sorted last: good.png is written first
    args = ("generate", "--checkpoint", setup["ckpt"], "--input", tree, "--workers", "0", "--quiet",
            "--batch_size", "1")
    assert mrff(*args, "--output", tmp_path / "out").returncode == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [RUN_RECORD, "good.png"]
    result = mrff(*args, "--output", tmp_path / "out", "--skip_bad", "--palette", "inferno")
    assert result.returncode == 2 and "--palette" in result.stderr        # good.png was made with grey
