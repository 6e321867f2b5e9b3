"""No command writes over a file it reads, compared by real paths (links and `..` seen through).

`mrff export --out` onto the checkpoint, its state file, its options file, its LWIR map or another checkpoint of
its run folder, or named like the map it writes beside the ONNX file, is refused before anything is written,
and the file is byte-identical afterwards.  `mrff generate` never writes an output over an input image or the network file, and never takes the images of an earlier
run's --output (a folder holding its `.mrff_generate.json`) for inputs.  ONNX files are written as every other
output is: atomically, with the mode the umask gives.
"""
import hashlib
import os
import shutil

import pytest

from mrff_plugin import cli
from mrff_plugin.generate.files import RUN_RECORD
from tiny_generator import write_images


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def refused(capsys, argv):
    """The one line `mrff ARGV` printed, asserting exit 2 (in this process)."""
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, (code, err)
    return err[0]


@pytest.fixture
def run_folder(tmp_path, tiny_checkpoint):
    """A copy of the tiny checkpoint's run folder (weights, state, train_opt.txt, an earlier epoch's weights)."""
    folder = tmp_path / "run"
    shutil.copytree(tiny_checkpoint().parent, folder)
    (folder / "train_opt.txt").write_text("----------------- Options ---------------\n    netG: unetpp_fusion\n")
    (folder / "lwir_range.json").write_text("{}")   # read by export, which copies it beside the ONNX file
    shutil.copy(folder / "latest_net_G.pth", folder / "5_net_G.pth")
    return folder


def out_paths(run, tmp_path):
    """(name, --out) pairs that all reach a file of the run folder."""
    os.symlink(run / "latest_net_G.pth", tmp_path / "link.onnx")
    os.symlink(run, tmp_path / "run_link")
    return [("the checkpoint", run / "latest_net_G.pth"),
            ("through ..", run / ".." / "run" / "latest_net_G.pth"),
            ("a link to it", tmp_path / "link.onnx"),
            ("through a folder link", tmp_path / "run_link" / "latest_net_G.pth"),
            ("its state file", run / "latest_state.pth"),
            ("its options file", run / "train_opt.txt"),
            ("its LWIR map", run / "lwir_range.json"),
            ("another checkpoint of the run", run / "5_net_G.pth")]


def test_export_onto_a_file_it_reads_is_refused_and_the_file_is_unchanged(capsys, run_folder, tmp_path):
    before = {p.name: sha256(p) for p in run_folder.iterdir()}
    for what, out in out_paths(run_folder, tmp_path):
        line = refused(capsys, ["export", "--checkpoint", run_folder, "--out", out])
        assert line.startswith(f"mrff export: --out {out} would write over "), (what, line)
        assert "pass another --out" in line, line
        assert {p.name: sha256(p) for p in run_folder.iterdir()} == before, what
    line = refused(capsys, ["export", "--checkpoint", run_folder / "5_net_G.pth", "--out",
                            run_folder / "latest_net_G.pth"])
    assert "would write over" in line
    assert {p.name: sha256(p) for p in run_folder.iterdir()} == before
    elsewhere = tmp_path / "onnx" / "lwir_range.json"   # where export would put the map beside that ONNX file
    line = refused(capsys, ["export", "--checkpoint", run_folder, "--out", elsewhere])
    assert line == (f"mrff export: --out {elsewhere} is named like the LWIR map that export writes beside the ONNX "
                    f"file (and `mrff generate --backend onnxruntime` reads there); pass another --out, e.g. "
                    f"{elsewhere.parent / 'model.onnx'}.")
    assert not elsewhere.parent.exists()


def test_an_onnx_file_is_written_atomically_with_the_mode_the_umask_gives(tmp_path):
    import torch

    from mrff_plugin.generate.onnx_export import export_onnx
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3, padding=1), torch.nn.Tanh())
    old = os.umask(0o022)
    try:
        export_onnx(net, str(tmp_path / "a.onnx"), 3)
        os.umask(0o027)
        export_onnx(net, str(tmp_path / "b.onnx"), 3)
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "a.onnx").st_mode & 0o777) == oct(0o644)
    assert oct(os.stat(tmp_path / "b.onnx").st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]   # no temporary file left


def test_generate_never_reads_an_earlier_runs_output_folder_inside_its_input(capsys, tiny_checkpoint, tmp_path):
    source = write_images(tmp_path / "in", {"a.png": (64, 64), "b.png": (64, 64)})
    common = ["generate", "--checkpoint", tiny_checkpoint(), "--input", source, "--workers", "0", "--quiet"]
    assert cli.main([str(a) for a in common + ["--output", source / "first"]]) == 0
    assert cli.main([str(a) for a in common + ["--output", tmp_path / "second"]]) == 0
    written = sorted(str(p.relative_to(tmp_path / "second")) for p in (tmp_path / "second").rglob("*.png"))
    assert written == ["a.png", "b.png"]          # not first/a.png, first/b.png
    assert (source / "first" / RUN_RECORD).is_file()
    # a third run into the first folder again resumes it: nothing is taken for input, nothing rewritten
    capsys.readouterr()
    assert cli.main([str(a) for a in common + ["--output", source / "first"]]) == 0
    assert "wrote 0 images" in capsys.readouterr().out


def test_generate_never_writes_an_output_over_an_input_reached_through_a_link(capsys, tiny_checkpoint, tmp_path):
    source = write_images(tmp_path / "in", {"a.png": (64, 64)})
    write_images(source / "sub", {"a.png": (64, 64)}, seed=1)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(source, out / "sub")          # in/sub/a.png -> out/sub/a.png, which is in/a.png
    before = sha256(source / "a.png")
    line = refused(capsys, ["generate", "--checkpoint", tiny_checkpoint(), "--input", source, "--output", out,
                            "--workers", "0", "--quiet"])
    assert line == (f"mrff generate: the output {out / 'sub' / 'a.png'} would be written over {source / 'a.png'}, "
                    f"which this run reads (through a link); pass an --output outside the folders it reads.")
    assert sha256(source / "a.png") == before and sorted(os.listdir(out)) == ["sub"]


def test_evaluate_never_writes_its_json_over_the_map_or_calibration_it_reads(capsys, tmp_path):
    fake = write_images(tmp_path / "fake", {"a.png": (32, 32), "b.png": (32, 32)})
    real = write_images(tmp_path / "real", {"a.png": (32, 32), "b.png": (32, 32)}, seed=1)
    run = tmp_path / "run"
    run.mkdir()
    (run / "lwir_range.json").write_text('{"low": 7000, "high": 9000}')   # read by --lwir_range RUN
    (tmp_path / "camera.json").write_text('{"kind": "planck"}')          # read by --calibration
    os.symlink(run, tmp_path / "run_link")
    before = {p: sha256(p) for p in (run / "lwir_range.json", tmp_path / "camera.json")}
    common = ["evaluate", "--fake", fake, "--real", real]
    for flags, prefix, read, what in [
            (["--lwir_range", run], run / "lwir_range", run / "lwir_range.json", "the run's LWIR map, from --lwir_range"),
            (["--lwir_range", run], tmp_path / "run_link" / "lwir_range", run / "lwir_range.json",
             "the run's LWIR map, from --lwir_range"),
            (["--lwir_range", "7000", "9000", "--calibration", tmp_path / "camera.json"], tmp_path / "camera",
             tmp_path / "camera.json", "--calibration")]:
        line = refused(capsys, common + flags + ["--out", prefix])
        assert line == (f"mrff evaluate: --out {prefix} would write {prefix}.json over {read} ({what}), which mrff "
                        f"evaluate reads; pass another --out."), line
    assert {p: sha256(p) for p in before} == before
    assert sorted(p.name for p in fake.iterdir()) == ["a.png", "b.png"]   # nothing written
