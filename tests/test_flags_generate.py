"""Every flag of `mrff generate` is honoured on both backends or refused in one sentence.

FLAGS is the table: one row per flag the command's parser declares (a flag added without a row fails
`test_every_declared_flag_has_a_row`) and per backend (torch, onnxruntime).  A row either compares a run
with the flag against the reference run of its backend (the images or the folder's record change as the
flag's help says) or expects the one-sentence refusal.  The network is tests/tiny_generator.py's checkpoint
(ngf 8); the ONNX file is exported once from it with `--norm_stats running`; the inputs are two 64x64 PNGs;
runs are in-process calls of `mrff_plugin.cli.main`.
"""
import argparse

import pytest

from mrff_plugin import cli


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
