"""Every flag of `mrff generate` is honoured on both backends or refused in one sentence.

FLAGS is the table: one row per flag the command's parser declares (a flag added without a row fails
`test_every_declared_flag_has_a_row`) and per backend (torch, onnxruntime).  A row either compares a run
with the flag against the reference run of its backend (the images or the folder's record change as the
flag's help says) or expects the one-sentence refusal.  The network is tests/tiny_generator.py's checkpoint
(ngf 8); the ONNX file is exported once from it with `--norm_stats running`; the inputs are two 64x64 PNGs;
runs are in-process calls of `mrff_plugin.cli.main`.
"""
import contextlib
import io
import json
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from flag_table import declared_flags
from mrff_plugin import cli
from mrff_plugin.commands import generate as command
from mrff_plugin.generate.files import RUN_RECORD
from tiny_generator import write_images


def refusal(capsys, argv):
    """(exit code, the one line printed) of `mrff ARGV` in this process; argparse's own exit counts too."""
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    lines = capsys.readouterr().err.strip().splitlines()
    return code, lines[-1] if lines else ""


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_batch_size_below_one_is_refused_by_the_parser(capsys, tmp_path, value):
    code, line = refusal(capsys, ["generate", "--checkpoint", str(tmp_path), "--input", str(tmp_path),
                                  "--output", str(tmp_path / "out"), "--batch_size", value])
    assert code == 2
    assert f"argument --batch_size: {value} is not a positive count" in line
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the table

HOST = os.path.join(os.path.dirname(__file__), "..", "third_party", "pix2pix_toolkit")
IMAGES = {"a.png": (64, 64), "b.png": (128, 96)}
BACKENDS = ("torch", "onnxruntime")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_checkpoint):
    """The run folder, an ONNX file exported from it with --norm_stats running, the input folder."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    tmp = tmp_path_factory.mktemp("generate_flags")
    run = tmp / "run"
    shutil.copytree(tiny_checkpoint().parent, run)
    model = tmp / "model.onnx"
    assert cli.main(["export", "--checkpoint", str(run), "--out", str(model), "--norm_stats", "running"]) == 0
    source = write_images(tmp / "in", IMAGES)
    bad = write_images(tmp / "with_bad", IMAGES)
    (bad / "broken.png").write_bytes(b"not an image")
    return {"run": run, "model": model, "input": source, "bad_input": bad, "tmp": tmp}


def network_args(setup, backend):
    return (["--checkpoint", setup["run"]] if backend == "torch" else
            ["--backend", "onnxruntime", "--model", setup["model"]])


def generate(setup, backend, argv, output):
    """{'code', 'line', 'pngs': {relative path: array}, 'record': dict} of `mrff generate` in this process."""
    argv = [str(a) for a in argv]
    given = set(argv)
    args = [] if "--input" in given else ["--input", str(setup["input"])]
    args += [] if given & {"--checkpoint", "--model"} else [str(a) for a in network_args(setup, backend)]
    args += [] if "--backend" in given or backend == "torch" else ["--backend", "onnxruntime"]
    args += [] if "--output" in given else ["--output", str(output)]
    args += ["--workers", "0"] if "--workers" not in given else []
    args += ["--quiet"] if "--quiet" not in given else []
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["generate", *args, *argv])
    except SystemExit as exit_:
        code = exit_.code
    lines = err.getvalue().strip().splitlines()
    out = output if "--output" not in given else argv[argv.index("--output") + 1]
    pngs = {os.path.relpath(os.path.join(d, n), out): np.asarray(Image.open(os.path.join(d, n))).astype(int)
            for d, _, names in os.walk(out) for n in names if n.endswith(".png")} if os.path.isdir(out) else {}
    record_path = os.path.join(out, RUN_RECORD)
    record = json.load(open(record_path)) if os.path.isfile(record_path) else {}
    return {"code": code, "line": lines[-1] if lines else "", "pngs": pngs, "record": record, "stderr": err.getvalue()}


@pytest.fixture(scope="module")
def references(setup):
    refs = {backend: generate(setup, backend, [], setup["tmp"] / f"reference_{backend}") for backend in BACKENDS}
    for backend, ref in refs.items():
        assert ref["code"] == 0, (backend, ref["stderr"])
        assert sorted(ref["pngs"]) == sorted(IMAGES)
    return refs


def same(result, ref, setup):
    assert sorted(result["pngs"]) == sorted(ref["pngs"])
    for name, image in ref["pngs"].items():
        assert np.abs(result["pngs"][name] - image).max() <= 1, name


def tiled(result, ref, setup):
    """b.png (128x96) in 64x64 tiles, a.png (64x64, one tile) as a whole: a.png is the reference's, b.png is
    another (seams: the network sees each tile alone), most of whose pixels keep to it."""
    assert np.abs(result["pngs"]["a.png"] - ref["pngs"]["a.png"]).max() <= 1
    difference = np.abs(result["pngs"]["b.png"] - ref["pngs"]["b.png"])
    assert difference.max() > 2 and np.median(difference) <= 1


def differs(result, ref, setup):
    assert any(np.abs(result["pngs"][n] - ref["pngs"][n]).max() > 2 for n in ref["pngs"])


def recorded(flag, value):
    def check(result, ref, setup):
        assert result["record"][flag] == value, result["record"]
    return check


def all_of(*checks):
    def check(result, ref, setup):
        for one in checks:
            assert one(result, ref, setup) in (None, True), one
    return check


def shapes(expected):
    def check(result, ref, setup):
        assert {n: a.shape for n, a in result["pngs"].items()} == expected
    return check


def only_a(result, ref, setup):
    assert sorted(result["pngs"]) == ["a.png"]
    assert np.abs(result["pngs"]["a.png"] - ref["pngs"]["a.png"]).max() <= 1


def palette_of(result, ref, setup):
    for name in ref["pngs"]:
        assert result["pngs"][name].ndim == 3 and result["pngs"][name].shape[2] == 3


def grey_beside(result, ref, setup):
    palette_of({"pngs": {n: result["pngs"][n] for n in ref["pngs"]}}, ref, setup)
    for name, image in ref["pngs"].items():
        assert np.array_equal(result["pngs"][name[:-4] + "_grey.png"], image), name


def attention_maps(result, ref, setup):
    same({"pngs": {n: result["pngs"][n] for n in ref["pngs"]}}, ref, setup)
    assert sorted(result["pngs"]) == sorted([*ref["pngs"], *(f"{n[:-4]}_attention_{k}.png" for n in ref["pngs"]
                                                              for k in range(1, 5))])


def running_statistics(result, ref, setup):
    """--norm_stats running on torch is what the ONNX file exported with running statistics gives."""
    onnx_ref = generate(setup, "onnxruntime", [], setup["tmp"] / "onnx_for_running")
    for name, image in onnx_ref["pngs"].items():
        assert np.abs(result["pngs"][name] - image).max() <= 1, name
    differs(result, ref, setup)


def r(kind, argv, check):
    return (kind, argv, check)


def ort_providers():
    try:
        import onnxruntime
    except ImportError:
        return []
    return onnxruntime.get_available_providers()


TORCH_ONLY_REFUSAL = "applies to --backend torch only"
# flag -> {backend: [(kind, argv, check)]}; kind "run": check(result, reference of the backend, setup);
# "refused": exit 2 and one line holding `check` (a str), nothing written.  argv: a list, or a function of setup.
FLAGS = {
    "--checkpoint": {"torch": [r("run", lambda s: ["--checkpoint", s["run"] / "latest_net_G.pth"], same),
                               r("refused", lambda s: ["--checkpoint", s["run"] / "none_net_G.pth"], "does not exist")],
                     "onnxruntime": [r("refused", lambda s: ["--checkpoint", s["run"]], TORCH_ONLY_REFUSAL)]},
    "--epoch": {"torch": [r("run", ["--epoch", "latest"], same),
                          r("refused", lambda s: ["--checkpoint", s["run"] / "latest_net_G.pth", "--epoch", "5"],
                            "--epoch 5 picks a checkpoint in a run folder")],
                "onnxruntime": [r("refused", ["--epoch", "latest"], TORCH_ONLY_REFUSAL)]},
    "--input": {b: [r("run", lambda s: ["--input", write_images(s["tmp"] / "only_a", {"a.png": (64, 64)})], only_a),
                    r("refused", lambda s: ["--input", s["tmp"] / "nowhere"], "is not a folder")] for b in BACKENDS},
    "--output": {b: [r("run", lambda s, b=b: ["--output", s["tmp"] / f"deep_{b}" / "out"], same),
                     r("refused", lambda s: ["--output", s["input"]], "is the --input folder")] for b in BACKENDS},
    "--size": {b: [r("run", ["--size", "32x64"], shapes({"a.png": (64, 32), "b.png": (64, 32)})),
                   r("refused", ["--size", "0x5"], "--size")] for b in BACKENDS},
    "--batch_size": {b: [r("run", ["--batch_size", "1"], same),
                         r("refused", ["--batch_size", "0"], "--batch_size: 0 is not a positive count")]
                     for b in BACKENDS},
    "--workers": {b: [r("run", ["--workers", "1"], same),
                      r("refused", ["--workers", "-1"], "--workers: -1 is not a number of processes")]
                  for b in BACKENDS},
    "--amp": {"torch": [r("run", ["--amp", "none"], same),
                        r("refused", ["--amp", "fp16", "--device", "cpu"], "--amp fp16 needs a CUDA device")],
              "onnxruntime": [r("refused", ["--amp", "bf16"], "--amp bf16 applies to --backend torch only")]},
    "--device": {"torch": [r("run", ["--device", "cpu"], same)] +
                 [r("run", ["--device", "cuda"], same) if torch.cuda.is_available() else
                  r("refused", ["--device", "cuda"], "--device cuda was given but no CUDA device is available")],
                 "onnxruntime": [r("run", ["--device", "cpu"], same)] +
                 [r("run", ["--device", "cuda"], same) if "CUDAExecutionProvider" in ort_providers() else
                  r("refused", ["--device", "cuda"], "--device cuda: this ONNX Runtime has no CUDA provider")]},
    "--output_nc": {b: [r("run", ["--output_nc", "3"],
                          lambda res, ref, s: all(np.array_equal(res["pngs"][n][..., k], img) for n, img in
                                                  ref["pngs"].items() for k in range(3))),
                        r("refused", ["--output_nc", "2"], "argument --output_nc: invalid choice")] for b in BACKENDS},
    "--skip_bad": {b: [r("run", lambda s: ["--input", s["bad_input"], "--skip_bad"], same),
                       r("refused", lambda s: ["--input", s["bad_input"]], "broken.png cannot be read as an image")]
                   for b in BACKENDS},
    "--palette": {b: [r("run", ["--palette", "ironbow"], palette_of),
                      r("refused", ["--palette", "nope"], "argument --palette: invalid choice")] for b in BACKENDS},
    "--also_grey": {b: [r("run", ["--palette", "ironbow", "--also_grey"], grey_beside)] for b in BACKENDS},
    "--norm_stats": {"torch": [r("run", ["--norm_stats", "running"],
                                 all_of(running_statistics, recorded("--norm_stats", "running"))),
                               r("run", ["--norm_stats", "image"], all_of(same, recorded("--norm_stats", "image")))],
                     "onnxruntime": [r("run", ["--norm_stats", "running"],
                                       all_of(same, recorded("--norm_stats", "running"))),
                                     r("refused", ["--norm_stats", "image"],
                                       "was exported with --norm_stats running, which ONNX Runtime runs as it is")]},
    "--backend": {"torch": [r("refused", ["--backend", "tensorrt"], "argument --backend: invalid choice")],
                  "onnxruntime": [r("run", lambda s: ["--backend", "onnxruntime", "--model", s["model"]], same)]},
    "--model": {"torch": [r("refused", lambda s: ["--checkpoint", s["run"], "--model", s["model"]],
                            "is run by --backend onnxruntime only")],
                "onnxruntime": [r("refused", lambda s: ["--model", s["tmp"] / "none.onnx"],
                                  "none.onnx does not exist")]},
    "--tile": {b: [r("run", ["--tile", "64", "--overlap", "0"], tiled),
                   r("refused", ["--tile", "50"], "--tile")] for b in BACKENDS},
    "--overlap": {b: [r("run", ["--tile", "64", "--overlap", "0"], tiled),
                      r("refused", ["--overlap", "50"], "--overlap 50 must be a multiple of 32")] for b in BACKENDS},
    "--max_memory": {b: [r("run", ["--max_memory", "1G"], same),
                         r("refused", ["--max_memory", "inf"], "--max_memory inf must be a positive")]
                     for b in BACKENDS},
    "--save_attention": {"torch": [r("run", ["--save_attention"], attention_maps)],
                         "onnxruntime": [r("refused", ["--save_attention"], "--save_attention needs --backend torch")]},
    "--host": {"torch": [r("run", ["--host", HOST], same)],
               "onnxruntime": [r("refused", ["--host", HOST], TORCH_ONLY_REFUSAL)]},
    "--quiet": {b: [r("run", ["--quiet"], all_of(same, lambda res, ref, s: res["stderr"] == ""))]
                for b in BACKENDS},   # no progress bar on stderr
    "--direction": {"torch": [r("run", ["--direction", "AtoB"], same)],
                    "onnxruntime": [r("refused", ["--direction", "AtoB"], TORCH_ONLY_REFUSAL)]},
    "--lwir_out": {b: [r("refused", ["--lwir_out", "counts"], "--lwir_out needs a run trained with --lwir_range")]
                   for b in BACKENDS},
    "--calibration": {b: [r("refused", ["--calibration", "x.json"], "--calibration converts --lwir_out")]
                      for b in BACKENDS},
}
# the network flags: the saved value is accepted (the same network), another one refused, naming the flag;
# on onnxruntime every one is refused
for flag, saved, other in [("--netG", "unetpp_fusion", "unet_128"), ("--norm", "batch", "instance"),
                           ("--ngf", "8", "16"), ("--input_nc", "3", "1"), ("--no_dropout", None, None),
                           ("--mrff_arch", "paper", "released"), ("--mrff_fusion", "nested", "average"),
                           ("--mrff_channels", "32", "16"), ("--mrff_released_width", "64", "16")]:
    given = [flag] if saved is None else [flag, saved]
    FLAGS[flag] = {"torch": ([r("run", given, same), r("refused", [flag, other], flag)] if saved else
                             [r("refused", given, flag)]),   # the tiny run was trained with dropout
                   "onnxruntime": [r("refused", given, f"{flag} applies to --backend torch only")]}




def test_every_declared_flag_has_a_row_for_each_backend():
    assert declared_flags(command) == set(FLAGS)
    assert all(set(rows) == set(BACKENDS) for rows in FLAGS.values())


def rows(kind):
    return [pytest.param(flag, backend, argv, check, id=f"{flag}-{backend}-{k}") for flag, table in FLAGS.items()
            for backend in BACKENDS for k, (row_kind, argv, check) in enumerate(table[backend]) if row_kind == kind]


@pytest.mark.parametrize("flag, backend, argv, check", rows("run"))
def test_a_flag_changes_the_output_as_its_help_says(setup, references, tmp_path, flag, backend, argv, check):
    result = generate(setup, backend, argv(setup) if callable(argv) else argv, tmp_path / "out")
    assert result["code"] == 0, (flag, backend, result["stderr"][-2000:])
    outcome = check(result, references[backend], setup)
    assert outcome is None or outcome, (flag, backend)


@pytest.mark.parametrize("flag, backend, argv, expected", rows("refused"))
def test_a_flag_that_cannot_be_honoured_is_refused_in_one_sentence(setup, tmp_path, flag, backend, argv, expected):
    result = generate(setup, backend, argv(setup) if callable(argv) else argv, tmp_path / "out")
    assert result["code"] == 2, (flag, backend, result["stderr"][-2000:])
    assert expected in result["line"], (flag, backend, result["line"])
    assert "Traceback" not in result["stderr"]
    assert not (tmp_path / "out").exists()


def test_the_onnxruntime_record_says_the_statistics_its_file_runs(setup, references):
    """The file was exported with running statistics: with no --norm_stats the record says running, not the
    torch backend's default."""
    assert references["onnxruntime"]["record"]["--norm_stats"] == "running"
    assert references["torch"]["record"]["--norm_stats"] == "image"
