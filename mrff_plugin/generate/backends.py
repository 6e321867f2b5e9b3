"""What runs the generator for `mrff generate`: PyTorch (`--backend torch`) or ONNX Runtime (`--backend onnxruntime`).

Both backends take the same batch and give the same result, so the walker,
resume, shards, tiling and atomic writes in engine.py do not know which one runs:

    backend(x)       x: float32 (N, input_nc, H, W) in [-1, 1], H and W multiples of `backend.multiple`
                     -> float32 (N, C_out, H, W) in [-1, 1] (a torch tensor on `backend.device`)
    backend.cost     ActivationCost: bytes one forward pass needs for an N x H x W batch (tiling decisions)

TorchBackend runs a network prepared by network.prepare_for_inference under
`inference_mode` and the chosen autocast.  Tiles of a network that normalises
by each image's statistics (image_norm.py) need the whole image's statistics:
`backend.whole_image_statistics(image, run)` gives them (PyTorch), and
`backend.can_tile` is False where the backend cannot (an ONNX file exported
with `--norm_stats image`: ONNX Runtime computes every tile's own).

OnnxRuntimeBackend runs a file written by `mrff export`; the facts it cannot read from the graph (the size
multiple and the activation cost measured at export) come from the file's
metadata (METADATA_* keys, written by commands/export.py).
"""
import weakref
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.multiprocessing.reductions import StorageWeakRef

from . import GenerateError

# ONNX metadata_props keys written by `mrff export` and read here.
METADATA_MULTIPLE = "mrff.size_multiple"
METADATA_BYTES_PER_PIXEL = "mrff.activation_bytes_per_pixel"
METADATA_OUTPUTS = "mrff.outputs"
METADATA_IMAGE_NORM = "mrff.image_norm_layers"  # how many BatchNorms normalise by each image's statistics
METADATA_NORM_STATS = "mrff.norm_stats"  # the --norm_stats it was exported with (mrff.<option> for every option)
INPUT_NAME, OUTPUT_NAME, WEIGHTS_NAME = "visible", "lwir", "weights"  # graph input/output names


def size_multiple(net):
    """2 ** (number of stride-2 convolutions): input sides must be multiples of this."""
    halvings = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d) and tuple(m.stride) == (2, 2))
    return 2 ** halvings


# ------------------------------------------------------------------ activation memory

@dataclass
class ActivationCost:
    """Bytes of one forward pass: `bytes_per_pixel` * N * H * W.

    Every activation of a fully convolutional generator scales with N * H * W (measure_activation_cost).
    """
    bytes_per_pixel: float

    def __call__(self, pixels):
        return self.bytes_per_pixel * pixels


def measure_activation_cost(run, net, input_nc, multiple, device="cpu"):
    """ActivationCost of `run(x)` (which runs `net`), from one probe forward pass at 2 * multiple square.

    Measured: the peak, over the pass, of the bytes held by the live tensors that enter or leave a layer
    (leaf module) -- activations, the concatenations that feed layers, the output -- in the dtype the
    pass uses (bf16 under autocast); each is followed until its memory is freed.  Temporaries inside a
    layer are not seen: benchmarks/tiling.py compares this with the exact peak of all live tensors
    (docs/results.md, "Tiled generation").  Forward hooks, not a TorchDispatchMode, whose first use
    imports torch._dynamo (seconds of start-up).
    """
    live, state = {}, {"current": 0, "peak": 0}

    def freed(key):
        state["current"] -= live.pop(key, 0)

    def note(module, inputs, output):
        for tensor in torch.utils._pytree.tree_leaves((inputs, output)):
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                key = StorageWeakRef(storage)
                if key not in live:
                    live[key] = storage.nbytes()
                    state["current"] += live[key]
                    weakref.finalize(storage, freed, key)
        state["peak"] = max(state["peak"], state["current"])

    handles = [m.register_forward_hook(note) for m in net.modules() if next(m.children(), None) is None]
    side = 2 * multiple
    try:
        run(torch.zeros(1, input_nc, side, side, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return ActivationCost(state["peak"] / (side * side))


# ------------------------------------------------------------------ backends

class TorchBackend:
    """The PyTorch generator (network.prepare_for_inference: eval, BatchNorm by image or running statistics,
    channels_last)."""

    name = "torch"
    can_tile = True

    def __init__(self, net, precision, input_nc, norm_stats="image"):
        self.net, self.precision, self.input_nc = net, precision, input_nc
        self.norm_stats = norm_stats   # as network.prepare_for_inference prepared `net`
        self.device = next(net.parameters()).device
        self.multiple = size_multiple(net)
        self._cost = None
        from .image_norm import image_norm_layers
        self.per_image_norm = bool(image_norm_layers(net))   # some BatchNorm uses each image's own statistics

    def __call__(self, x):
        with torch.inference_mode(), self.precision.autocast():
            y = self.net(x.contiguous(memory_format=torch.channels_last))
        return y.float()

    @property
    def cost(self):
        """Measured on first use (one tiny forward pass)."""
        if self._cost is None:
            self._cost = measure_activation_cost(self, self.net, self.input_nc, self.multiple, self.device)
        return self._cost

    def whole_image_statistics(self, image, run):
        """Context within which tiles use the normalisation statistics `run(image)` produced (image_norm.py)."""
        from .allocator import returning_freed_memory
        from .image_norm import whole_image_statistics

        def run_returning_memory(copy):   # the one large pass gives its memory back before the tiles run
            with returning_freed_memory():
                run(copy)
        return whole_image_statistics(self.net, run_returning_memory, image)


def require_onnxruntime(command):
    """The onnxruntime module, or GenerateError saying what to install."""
    try:
        import onnxruntime
    except ImportError:
        raise GenerateError(f"{command} needs ONNX Runtime, which is not installed; run `pip install "
                            f"mrff-plugin[onnx]` (or `pip install onnx onnxruntime onnxscript`).") from None
    return onnxruntime


def onnx_session(path, threads=None, device=None):
    """An onnxruntime.InferenceSession for `path` (CUDA provider when `device` is CUDA and it is installed)."""
    import os
    ort = require_onnxruntime("--backend onnxruntime")
    if not os.path.isfile(path):
        raise GenerateError(f"--model {path} does not exist; write it with `mrff export --checkpoint ... "
                            f"--out {os.path.basename(path) or 'model.onnx'}`.")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initialisers etc. are not the user's business
    providers = ["CPUExecutionProvider"]
    if device is not None and torch.device(device).type == "cuda" \
            and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(path, options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise GenerateError(f"--model {path} cannot be loaded by ONNX Runtime ({str(exc).splitlines()[0][:200]}); "
                            f"export it again with `mrff export`.") from None


class OnnxRuntimeBackend:
    """A model written by `mrff export`, run by ONNX Runtime (float32 in and out; CPU, or CUDA when present)."""

    name = "onnxruntime"

    def __init__(self, path, threads=None, device="cpu"):
        self.session = onnx_session(path, threads, device)
        self.device = torch.device("cpu")  # results come back as numpy arrays in host memory
        meta = self.session.get_modelmeta().custom_metadata_map
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        channels = inputs[0].shape[1]
        if not isinstance(channels, int):
            raise GenerateError(f"--model {path} has no fixed number of input channels; export it with `mrff export`.")
        self.input_nc = channels
        self.output_name = self.session.get_outputs()[0].name
        self.multiple = int(meta.get(METADATA_MULTIPLE, 32))
        fixed = [d for d in inputs[0].shape[2:] if isinstance(d, int)]
        self.fixed_size = tuple(inputs[0].shape[2:]) if len(fixed) == 2 else None  # exported with --size
        self.cost = ActivationCost(float(meta[METADATA_BYTES_PER_PIXEL])) if METADATA_BYTES_PER_PIXEL in meta else None
        self.per_image_norm = int(meta.get(METADATA_IMAGE_NORM, 0)) > 0
        self.can_tile = not self.per_image_norm  # ONNX Runtime's per-image norms would see each tile alone
        # the statistics it runs: as exported (files of `mrff export` record it; per-image norms mean 'image')
        self.norm_stats = meta.get(METADATA_NORM_STATS) or ("image" if self.per_image_norm else None)
        self.path = path

    def whole_image_statistics(self, image, run):
        import contextlib
        return contextlib.nullcontext()

    def __call__(self, x):
        if self.fixed_size is not None and tuple(x.shape[2:]) != self.fixed_size:
            height, width = self.fixed_size
            raise GenerateError(f"the ONNX model was exported for {width}x{height} inputs but got "
                                f"{x.shape[3]}x{x.shape[2]}; pass --size {width}x{height} or export without --size.")
        y = self.session.run([self.output_name], {self.input_name: x.detach().cpu().float().numpy()})[0]
        return torch.from_numpy(y)


def open_backend(kind, device, amp="none", checkpoint=None, epoch="latest", model=None, host=None,
                 overrides=None, fallbacks=None, threads=None, norm_stats=None):
    """(backend, the network's output channels) for `--backend kind`: 'torch' loads `checkpoint` (network.py)
    and normalises as `norm_stats` says ('image' when None); 'onnxruntime' opens `model` (an `mrff export` file,
    which runs the --norm_stats it was exported with: another `norm_stats` is refused; --amp does not apply to
    it).  The backend's `norm_stats` says what runs."""
    if kind == "onnxruntime":
        if model is None:
            raise GenerateError("--backend onnxruntime needs --model model.onnx (written by `mrff export`).")
        if amp != "none":
            raise GenerateError(f"--amp {amp} applies to --backend torch only; ONNX Runtime runs the exported "
                                f"float32 model, so drop --amp.")
        backend = OnnxRuntimeBackend(model, threads or torch.get_num_threads(), device)
        if norm_stats is not None and norm_stats != backend.norm_stats:
            exported = (f"was exported with --norm_stats {backend.norm_stats}, which ONNX Runtime runs as it is"
                        if backend.norm_stats else "does not record the --norm_stats it was exported with")
            raise GenerateError(f"--norm_stats {norm_stats}: --model {model} {exported}; drop --norm_stats, or export "
                                f"it again with `mrff export --norm_stats {norm_stats}`.")
        return backend, backend.session.get_outputs()[0].shape[1]
    if checkpoint is None:
        raise GenerateError("--backend torch needs --checkpoint <run folder>/<epoch>_net_G.pth "
                            "(or pass --backend onnxruntime --model model.onnx).")
    from ..training.precision import Precision
    from .network import load_generator, prepare_for_inference
    precision = Precision(amp, device)
    net, options = load_generator(checkpoint, epoch, host, overrides, fallbacks)
    norm_stats = norm_stats or "image"
    return (TorchBackend(prepare_for_inference(net, device, norm_stats), precision, options["input_nc"], norm_stats),
            options["output_nc"])
