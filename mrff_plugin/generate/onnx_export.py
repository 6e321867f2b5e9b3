"""A checkpoint's generator -> an ONNX file, checked against PyTorch with ONNX Runtime (`mrff export`).

The network is exported the way `mrff generate` runs it (network.prepare_for_inference):
no dropout; BatchNorm by each image's own statistics (image_norm.ImageStatisticsNorm:
a mean and variance over H x W per image and channel, then BatchNorm's affine --
instance normalisation with the BatchNorm's weights), or with `--norm_stats running`
the running statistics folded into the convolutions; float32.

Graph interface (names in backends.py):
    input   "visible"  float32 (N, input_nc, H, W) in [-1, 1]
    output  "lwir"     float32 (N, output_nc, H, W) in [-1, 1]
    output  "weights"  float32 (N, 4, H, W), w1..w4 per pixel, only with `with_attention`
N is dynamic; H and W are dynamic multiples of the network's size multiple
(32 for unetpp_fusion) unless a fixed size is given.  The file's metadata
carries the size multiple and the activation cost measured in PyTorch, which
`mrff generate --backend onnxruntime` uses to decide tiling.

The exporter is torch.export-based (`torch.onnx.export(..., dynamo=True)`, the
default and recommended path in torch 2.9 and later), which needs the `onnx`
and `onnxscript` packages; the check needs `onnxruntime`.
"""
import contextlib
import io
import os
import tempfile
import warnings

import torch
import torch.nn as nn

from ..durable import fsync_folder, seal
from . import GenerateError
from .backends import (INPUT_NAME, METADATA_BYTES_PER_PIXEL, METADATA_IMAGE_NORM, METADATA_MULTIPLE, METADATA_OUTPUTS,
                       OUTPUT_NAME, WEIGHTS_NAME, TorchBackend, onnx_session, size_multiple)
from .image_norm import image_norm_layers

EXPORT_PACKAGES = ("onnx", "onnxscript", "onnxruntime")  # the `onnx` extra of setup.py
MAX_DIFFERENCE = 1e-3  # limit on max |ONNX Runtime - PyTorch| in output units ([-1, 1]; 1 grey level = 2/255)
CHECK_SIZES = ((1, 1, 2), (2, 3, 5))  # (batch, H / multiple, W / multiple) of the check inputs without a fixed size
# The opset torch.onnx's torch.export-based exporter writes its operators in (TORCHLIB_OPSET in
# torch/onnx/_internal/exporter/_constants.py); other opsets are converted from it by onnxscript, which cannot
# go below it (no adapter for Pad, ...).
EXPORTER_OPSET = 18


def require_export_packages():
    """GenerateError (one sentence) naming what to install when an export package is missing."""
    import importlib.util
    missing = [name for name in EXPORT_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise GenerateError(f"mrff export needs {', '.join(missing)} (not installed); run "
                            f"`pip install mrff-plugin[onnx]` (or `pip install {' '.join(EXPORT_PACKAGES)}`).")


class WithWeights(nn.Module):
    """The generator with its four per-pixel feature weights as a second output (`forward(x, with_weights=True)`)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x, with_weights=True)  # (image (N, C, H, W), weights (N, 4, H, W))


def exportable(net, with_attention):
    """The module to export: `net`, or WithWeights(net); GenerateError when `net` has no weights to give."""
    if not with_attention:
        return net
    import inspect
    if "with_weights" not in inspect.signature(net.forward).parameters:
        raise GenerateError(f"--with_attention needs a generator with attention maps (--netG unetpp_fusion); "
                            f"this checkpoint holds a {type(net).__name__}.")
    return WithWeights(net)


def check_inputs(input_nc, multiple, size=None, seed=0):
    """A few float32 inputs in [-1, 1]: smooth random images at CHECK_SIZES (or batches 1 and 2 at `size`)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = ([(n, size[1], size[0]) for n in (1, 2)] if size else
              [(n, h * multiple, w * multiple) for n, h, w in CHECK_SIZES])
    inputs = []
    for n, height, width in shapes:
        coarse = torch.rand(n, input_nc, max(1, height // 8), max(1, width // 8), generator=generator)
        inputs.append(nn.functional.interpolate(coarse, size=(height, width), mode="bilinear") * 2 - 1)
    return inputs


def as_tuple(outputs):
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def max_difference(module, session, inputs):
    """max |ONNX Runtime - PyTorch| over all outputs of all `inputs`, and the shape where it occurred."""
    worst, where = -1.0, None
    for x in inputs:
        with torch.inference_mode():
            expected = as_tuple(module(x))
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        for e, g in zip(expected, got):
            if tuple(e.shape) != tuple(g.shape):
                return float("inf"), tuple(x.shape)
            diff = float((e.float() - torch.from_numpy(g)).abs().max())
            if diff >= worst:
                worst, where = diff, tuple(x.shape)
    return worst, where


def export_onnx(net, out, input_nc, opset=None, size=None, with_attention=False, limit=MAX_DIFFERENCE,
                metadata=None):
    """Export `net` (prepared for inference, on the CPU) to `out` and check it; return the report dict.

    size: (W, H) fixed spatial size, or None for dynamic multiples of the size multiple.
    The file is written to a temporary name and renamed only after the check passes, so a failed export
    leaves nothing under `out`.  GenerateError (one sentence) on a size that does not fit or a failed check.
    """
    require_export_packages()
    check_opset(opset)
    multiple = size_multiple(net)
    if size and (size[0] % multiple or size[1] % multiple):
        raise GenerateError(f"--size {size[0]}x{size[1]} must have sides that are multiples of {multiple} "
                            f"for this network (e.g. {multiple * 8}x{multiple * 8}).")
    net = net.cpu().to(memory_format=torch.contiguous_format).float().eval()
    module = exportable(net, with_attention)
    example = check_inputs(input_nc, multiple, size)[-1]
    batch = torch.export.Dim("batch", min=1)
    spatial = {} if size else {2: multiple * torch.export.Dim("height_blocks", min=1),
                               3: multiple * torch.export.Dim("width_blocks", min=1)}
    names = [OUTPUT_NAME, WEIGHTS_NAME] if with_attention else [OUTPUT_NAME]
    out = os.path.abspath(os.path.expanduser(out))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".mrff_tmp_", suffix=".onnx", dir=os.path.dirname(out))  # writable?
    os.close(fd)
    try:
        program = _export(module, example, names, opset, {0: batch, **spatial}, type(net).__name__)
        cost = TorchBackend(net, _float32(), input_nc).cost
        program.model.metadata_props.update({
            METADATA_MULTIPLE: str(multiple), METADATA_BYTES_PER_PIXEL: f"{cost.bytes_per_pixel:.1f}",
            METADATA_OUTPUTS: ",".join(names), METADATA_IMAGE_NORM: str(len(image_norm_layers(net))),
            **{f"mrff.{k}": str(v) for k, v in (metadata or {}).items()}})
        program.save(temp, external_data=False)
        written = _opset(temp)
        if opset is not None and written != opset:
            raise GenerateError(f"torch.onnx.export wrote opset {written} where --opset {opset} was asked for, so "
                                f"nothing was written; pass --opset {written}, or leave --opset out.")
    except BaseException:
        os.remove(temp)
        raise
    difference = check_and_place(temp, out, module, input_nc, multiple, size, limit)
    return {"out": out, "max_difference": difference, "limit": limit, "multiple": multiple,
            "outputs": names, "dynamic": not size, "bytes": os.path.getsize(out), "opset": _opset(out)}


def supported_opsets():
    """(lowest, highest) --opset the exporter can write here: EXPORTER_OPSET up to the newest the installed onnx
    package defines (onnxscript converts the graph up to it)."""
    import onnx
    return EXPORTER_OPSET, onnx.defs.onnx_opset_version()


def check_opset(opset):
    """GenerateError (one sentence naming the supported range) for an --opset the exporter cannot write."""
    lowest, highest = supported_opsets()
    if opset is not None and not lowest <= opset <= highest:
        raise GenerateError(f"--opset {opset} cannot be written by torch.onnx.export here; pass an --opset from "
                            f"{lowest} to {highest}, or leave it out for the exporter's default.")


@contextlib.contextmanager
def _quiet_converter():
    """onnxscript's version converter logs a warning when it hands a conversion to onnx's C API: not the user's
    business, as the written opset is checked (export_onnx)."""
    import logging
    logger = logging.getLogger("onnxscript")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _export(module, example, names, opset, dims, label):
    """torch.onnx.export (torch.export-based) of `module` traced at `example`, input dims `dims` dynamic."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet_converter():
        warnings.simplefilter("ignore")  # display attributes set in forward, exporter deprecation notes
        try:
            return torch.onnx.export(module, (example,), dynamo=True, input_names=[INPUT_NAME], output_names=names,
                                     opset_version=opset, dynamic_shapes={next(iter(_forward_args(module))): dims})
        except Exception as exc:  # the exporter's own error types
            raise GenerateError(f"torch.onnx.export could not export {label} ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:200]}); try another --opset or a fixed --size.") from None


def check_and_place(temp, out, module, input_nc, multiple, size=None, limit=MAX_DIFFERENCE):
    """Run the ONNX file `temp` with ONNX Runtime on check_inputs, compare with `module`; rename it to `out`
    when the max abs difference is within `limit` (returned), else remove it and raise GenerateError.  Placed as
    every output is (durable.py): the mode the umask gives, fsynced, renamed, the folder fsynced."""
    try:
        difference, where = max_difference(module, onnx_session(temp, torch.get_num_threads()),
                                           check_inputs(input_nc, multiple, size, seed=1))
        if not difference <= limit:
            raise GenerateError(f"the exported model differs from PyTorch by {difference:.2e} (limit {limit:.0e}) "
                                f"on a {where[3]}x{where[2]} batch of {where[0]}, so {out} was not written; try "
                                f"another --opset, or report it with your torch and onnxruntime versions.")
        with open(temp, "rb") as written:
            seal(written)
        os.replace(temp, out)
        fsync_folder(os.path.dirname(os.path.abspath(out)))
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return difference


def _forward_args(module):
    import inspect
    return inspect.signature(module.forward).parameters


def _float32():
    from ..training.precision import Precision
    return Precision("none", "cpu")


def _opset(path):
    import onnx
    model = onnx.load(path, load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
