"""Resuming `mrff generate` completes what an interruption left, and never mixes two runs in one folder.

A crash of another tool (or a full disk, a copy that stopped) can leave an empty or cut PNG under an output's
name; --save_attention's maps are written in a second pass that an interruption can miss; and a resume with
another network or other options would add differently made images to the same folder.
"""
import json
import os
import threading

import pytest

from tiny_generator import make_checkpoint, mrff, write_images
from test_reliability_generate import refused
from mrff_plugin.generate import GenerateError
from mrff_plugin.generate.files import RUN_RECORD, claim_output, finished_png


@pytest.fixture(scope="module")
def weights(tiny_checkpoint):
    return tiny_checkpoint()


def generate(weights, source, out, *extra):
    return mrff("generate", "--checkpoint", weights, "--input", source, "--output", out, "--workers", "0",
                "--quiet", *extra, timeout=120)


def summary(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_an_empty_or_cut_output_is_generated_again_on_resume(weights, tmp_path):
    source = write_images(tmp_path / "in", {"a.png": (64, 64), "b.png": (64, 64), "c.png": (64, 64)})
    out = tmp_path / "out"
    summary(generate(weights, source, out))
    whole = (out / "b.png").read_bytes()
    (out / "a.png").write_bytes(b"")                 # a zero-length file left by a crash
    (out / "b.png").write_bytes(whole[: len(whole) // 2])   # a truncated one
    assert not finished_png(out / "a.png") and not finished_png(out / "b.png") and finished_png(out / "c.png")
    line = summary(generate(weights, source, out))
    assert line.startswith("mrff generate: wrote 2 images") and "skipped 1 already done" in line, line
    assert (out / "b.png").read_bytes() == whole
    assert finished_png(out / "a.png")


def test_attention_maps_missing_after_an_interruption_are_completed(weights, tmp_path):
    source = write_images(tmp_path / "in", {"a.png": (64, 64), "b.png": (64, 64)})
    out = tmp_path / "out"
    summary(generate(weights, source, out, "--save_attention"))
    map_b = (out / "b_attention_3.png").read_bytes()
    (out / "b_attention_3.png").unlink()
    (out / "b_attention_4.png").unlink()
    line = summary(generate(weights, source, out, "--save_attention"))
    assert line.startswith("mrff generate: wrote 1 images") and "skipped 1 already done" in line, line
    assert (out / "b_attention_3.png").read_bytes() == map_b
    assert finished_png(out / "b_attention_4.png")


@pytest.mark.parametrize("flag, first, second", [("--palette", "grey", "ironbow"), ("--size", None, "64x32"),
                                                 ("--norm_stats", "image", "running"), ("--output_nc", None, "3")])
def test_a_resume_with_other_options_is_refused_naming_the_option_and_both_values(weights, tmp_path, flag, first,
                                                                                   second):
    source = write_images(tmp_path / "in", {"a.png": (64, 64), "b.png": (64, 64)})
    out = tmp_path / "out"
    summary(generate(weights, source, out, *([flag, first] if first else [])))
    (out / "b.png").unlink()
    recorded = json.loads((out / RUN_RECORD).read_text())
    line = refused(generate(weights, source, out, flag, second))
    shown = {"--size": "64x32"}.get(flag, second)
    assert line == (f"mrff generate: --output {out} holds images generated with {flag} {recorded[flag]}, and this "
                    f"run has {flag} {shown}; pass another --output, or delete {out} to start again with these "
                    f"options.")
    assert sorted(os.listdir(out)) == [RUN_RECORD, "a.png"]   # nothing written, nothing lost


def test_a_resume_with_another_checkpoint_is_refused(weights, tmp_path):
    other = make_checkpoint(tmp_path / "other", output_gain=2.0)   # same path shape, other weights
    source = write_images(tmp_path / "in", {"a.png": (64, 64)})
    out = tmp_path / "out"
    summary(generate(weights, source, out))
    line = refused(generate(other, source, out))
    assert line.startswith(f"mrff generate: --output {out} holds images generated with --checkpoint "
                           f"{os.path.realpath(weights)} (sha256 "), line
    assert f"and this run has --checkpoint {os.path.realpath(other)} (sha256 " in line
    assert line.endswith(f"; pass another --output, or delete {out} to start again with these options.")


def test_processes_sharing_an_output_folder_agree_on_one_record(tmp_path):
    """torchrun's K processes claim the folder at once: the same options all pass, other ones are refused."""
    options = {"--checkpoint": "/r/latest_net_G.pth (sha256 00)", "--palette": "grey", "--output_nc": 1}
    errors, barrier = [], threading.Barrier(8)

    def claim(opts):
        barrier.wait()
        try:
            claim_output(tmp_path / "out", opts)
        except GenerateError as exc:
            errors.append(str(exc))
    threads = [threading.Thread(target=claim, args=(options,)) for _ in range(8)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert errors == []
    assert json.loads((tmp_path / "out" / RUN_RECORD).read_text()) == options
    assert os.listdir(tmp_path / "out") == [RUN_RECORD]   # no temporary file left behind
    with pytest.raises(GenerateError, match="--palette grey, and this run has --palette inferno;"):
        claim_output(tmp_path / "out", dict(options, **{"--palette": "inferno"}))
