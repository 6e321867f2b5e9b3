"""Every flag of `mrff export` is honoured or refused in one sentence (export has one path: PyTorch -> ONNX).

FLAGS is the table: one row per flag the command's parser declares and per flag the checkpoint's generator
declares (`--mrff_arch`, ...); a flag without a row fails `test_every_declared_flag_has_a_row`.  A row either
compares a run with the flag against the reference run (`--checkpoint RUN --out model.onnx`), or expects the
one-sentence refusal (exit 2, one line naming the flag, nothing written).  Runs are in-process calls of
`mrff_plugin.cli.main`; all but one stop at `export_onnx`, whose arguments -- the prepared network, opset,
size, outputs, metadata -- are what the flag decides (`spy`), and the one real export (`written`) checks the
file's opset, input size, outputs and metadata.  The network is tests/tiny_generator.py's checkpoint (ngf 8).
"""
import os
import shutil

import pytest
import torch

from mrff_plugin import cli
from mrff_plugin.commands import export as command
from flag_table import declared_flags
from tiny_generator import plain_network

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

HOST = os.path.join(os.path.dirname(__file__), "..", "third_party", "pix2pix_toolkit")


class Stop(Exception):
    """Raised by the spy in place of the export: the run got that far."""


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_checkpoint):
    folder = tmp_path_factory.mktemp("export_flags") / "run"
    shutil.copytree(tiny_checkpoint().parent, folder)
    return folder


def call(argv, capsys):
    """(exit code, last stderr line) of `mrff export ARGV` in this process; argparse's exit counts too."""
    capsys.readouterr()
    try:
        code = cli.main(["export", *map(str, argv)])
    except SystemExit as exit_:
        code = exit_.code
    lines = capsys.readouterr().err.strip().splitlines()
    return code, lines[-1] if lines else ""


def spy(monkeypatch, capsys, argv):
    """The arguments `mrff export ARGV` hands to export_onnx (net, out, input_nc, opset, size, with_attention,
    metadata); the export itself does not run."""
    from mrff_plugin.generate import onnx_export
    seen = {}

    def record(net, out, input_nc, opset=None, size=None, with_attention=False, metadata=None, **kwargs):
        seen.update(net=net, out=out, input_nc=input_nc, opset=opset, size=size, with_attention=with_attention,
                    metadata=metadata)
        raise Stop()
    monkeypatch.setattr(onnx_export, "export_onnx", record)
    capsys.readouterr()
    with pytest.raises(Stop):
        cli.main(["export", *map(str, argv)])
    return seen


def output_of(net, seed=3):
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    with torch.inference_mode():
        return net(x)


# flag -> (kind, extra argv, check); kind: "same" -- export_onnx gets what the reference run gives it, but for
# the fields `check(seen, reference, run)` asserts; "refused" -- exit 2 and one sentence holding `check` (a str);
# "written" -- part of the one real export (WRITTEN), `check(model, reference, run)` on the file.
def same_network(seen, reference, run):
    assert torch.equal(output_of(seen["net"]), output_of(reference["net"]))


FLAGS = {
    "--checkpoint": [("same", lambda run: [run / "latest_net_G.pth"], same_network),
                     ("refused", lambda run: [run / "none_net_G.pth"], "none_net_G.pth does not exist")],
    "--epoch": [("same", lambda run: ["--epoch", "latest"], same_network),
                ("refused", lambda run: ["--epoch", "5"], "5_net_G.pth does not exist"),   # the folder has no epoch 5
                ("refused", lambda run: ["--checkpoint", run / "latest_net_G.pth", "--epoch", "5"],
                 "--epoch 5 picks a checkpoint in a run folder")],
    "--out": [("same", lambda run: ["--out", run.parent / "other.onnx"],
               lambda seen, ref, run: seen["out"] == str(run.parent / "other.onnx")),
              ("refused", lambda run: ["--out", run / "latest_net_G.pth"], "would write over the checkpoint")],
    "--opset": [("written", ["--opset", "19"], lambda model, ref, run: [o.version for o in model.opset_import
                                                                          if o.domain in ("", "ai.onnx")] == [19]),
                ("refused", lambda run: ["--opset", "11"], "--opset 11 cannot be written by torch.onnx.export here; "
                                                          "pass an --opset from 18 to"),
                ("refused", lambda run: ["--opset", "99"], "--opset 99 cannot be written")],
    "--size": [("written", ["--size", "64x96"],
                lambda model, ref, run: [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
                == [3, 96, 64]),
               ("refused", lambda run: ["--size", "50x50"], "--size 50x50 must have sides that are multiples of 32")],
    "--with_attention": [("written", ["--with_attention"],
                          lambda model, ref, run: [o.name for o in model.graph.output] == ["lwir", "weights"])],
    "--norm_stats": [("written", ["--norm_stats", "running"],
                      lambda model, ref, run: {p.key: p.value for p in model.metadata_props}["mrff.norm_stats"]
                      == "running"),
                     ("same", lambda run: ["--norm_stats", "running"], lambda seen, ref, run: torch.allclose(
                         output_of(seen["net"]), output_of(plain_network(run / "latest_net_G.pth", "nested",
                                                                         "running")), atol=1e-4)
                      and not torch.allclose(output_of(seen["net"]), output_of(ref["net"]), atol=1e-2)),
                     ("refused", lambda run: ["--norm_stats", "batch"], "argument --norm_stats: invalid choice")],
    "--host": [("same", lambda run: ["--host", HOST], same_network),
               ("refused", lambda run: ["--host", run / "nowhere"], "nowhere")],
    # the tiny run saved no --direction: either one names its one generator
    "--direction": [("same", lambda run: ["--direction", "AtoB"], same_network),
                    ("same", lambda run: ["--direction", "BtoA"], same_network)],
    "--netG": [("same", lambda run: ["--netG", "unetpp_fusion"], same_network),
               ("refused", lambda run: ["--netG", "unet_128"], "--netG")],
    "--norm": [("same", lambda run: ["--norm", "batch"], same_network),
               ("refused", lambda run: ["--norm", "instance"], "--norm")],
    "--ngf": [("same", lambda run: ["--ngf", "8"], same_network),
              ("refused", lambda run: ["--ngf", "16"], "--ngf")],
    "--input_nc": [("same", lambda run: ["--input_nc", "3"], same_network),
                   ("refused", lambda run: ["--input_nc", "1"], "--input_nc")],
    "--output_nc": [("same", lambda run: ["--output_nc", "1"], same_network),
                    ("refused", lambda run: ["--output_nc", "3"], "--output_nc 3 does not fit")],
    "--no_dropout": [("refused", lambda run: ["--no_dropout"], "--no_dropout")],   # saved: trained with dropout
    # the generator's own flags (registry), given with the checkpoint's saved values and with others
    "--mrff_arch": [("same", lambda run: ["--mrff_arch", "paper"], same_network),
                    ("refused", lambda run: ["--mrff_arch", "released"], "--mrff_arch")],
    "--mrff_fusion": [("same", lambda run: ["--mrff_fusion", "nested"], same_network),
                      ("refused", lambda run: ["--mrff_fusion", "average"], "--mrff_fusion")],
    "--mrff_channels": [("same", lambda run: ["--mrff_channels", "32"], same_network),
                        ("refused", lambda run: ["--mrff_channels", "16"], "--mrff_channels")],
    "--mrff_released_width": [("same", lambda run: ["--mrff_released_width", "64"], same_network),
                              ("refused", lambda run: ["--mrff_released_width", "16"], "--mrff_released_width")],
}
WRITTEN = [arg for rows in FLAGS.values() for kind, argv, _ in rows if kind == "written" for arg in argv]




def test_every_declared_flag_has_a_row():
    assert declared_flags(command) == set(FLAGS)


def rows(kind):
    return [pytest.param(flag, argv, check, id=f"{flag}-{k}") for flag, table in FLAGS.items()
            for k, (row_kind, argv, check) in enumerate(table) if row_kind == kind]


def base(run, argv):
    """The reference run's arguments with `argv` on top (a --checkpoint in argv replaces the run folder)."""
    head = [] if "--checkpoint" in map(str, argv) or (argv and os.path.isabs(str(argv[0])) and str(argv[0]).endswith(
        ".pth")) else ["--checkpoint", run]
    if argv and str(argv[0]).endswith(".pth"):
        head, argv = ["--checkpoint", argv[0]], argv[1:]
    out = [] if "--out" in map(str, argv) else ["--out", run.parent / "model.onnx"]
    return [*head, *argv, *out]


@pytest.fixture(scope="module")
def reference(run):
    mp = pytest.MonkeyPatch()
    try:
        class Capsys:
            def readouterr(self):
                return None
        return spy(mp, Capsys(), base(run, []))
    finally:
        mp.undo()


@pytest.mark.parametrize("flag, argv, check", rows("same"))
def test_a_flag_changes_what_is_exported_as_its_help_says(monkeypatch, capsys, run, reference, flag, argv, check):
    seen = spy(monkeypatch, capsys, base(run, argv(run)))
    result = check(seen, reference, run)
    assert result is None or result, flag
    for field in ("input_nc", "opset", "size", "with_attention"):
        assert seen[field] == reference[field], (flag, field)


@pytest.mark.parametrize("flag, argv, expected", rows("refused"))
def test_a_flag_that_cannot_be_honoured_is_refused_in_one_sentence(capsys, run, flag, argv, expected):
    before = sorted(os.listdir(run.parent))
    code, line = call(base(run, argv(run)), capsys)
    assert code == 2, (flag, line)
    assert expected in line and line.endswith((".", ")")), (flag, line)   # ")": argparse's own sentence
    assert sorted(os.listdir(run.parent)) == before


@pytest.fixture(scope="module")
def written(run):
    out = run.parent / "written.onnx"
    assert cli.main(["export", "--checkpoint", str(run), "--out", str(out), *WRITTEN]) == 0
    return onnx.load(str(out))


@pytest.mark.parametrize("flag, argv, check", rows("written"))
def test_a_flag_shows_in_the_written_file(written, run, flag, argv, check):
    assert check(written, None, run), flag


def test_opset_below_the_exporters_own_is_refused_and_one_in_range_is_written(capsys, tmp_path):
    """--opset 11/17/99 printed a converter traceback, wrote opset 18 and exited 0; 19 must be written as 19."""
    from mrff_plugin.generate import GenerateError
    from mrff_plugin.generate.onnx_export import export_onnx, supported_opsets
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3, padding=1), torch.nn.Tanh())
    lowest, highest = supported_opsets()
    for opset in (11, 17, 99):
        with pytest.raises(GenerateError) as error:
            export_onnx(net, str(tmp_path / f"o{opset}.onnx"), 3, opset)
        assert str(error.value) == (f"--opset {opset} cannot be written by torch.onnx.export here; pass an --opset "
                                    f"from {lowest} to {highest}, or leave it out for the exporter's default.")
    assert list(tmp_path.iterdir()) == []
    for opset in (lowest, 19, highest):
        report = export_onnx(net, str(tmp_path / f"o{opset}.onnx"), 3, opset)
        model = onnx.load(str(tmp_path / f"o{opset}.onnx"))
        assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [opset] == [report["opset"]]
    assert "Traceback" not in capsys.readouterr().err
