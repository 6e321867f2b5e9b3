"""`mrff generate --checkpoint C --input DIR --output DIR`: visible -> LWIR for a whole folder tree.

The network flags (--netG, --norm, --ngf, --input_nc, --output_nc, --no_dropout, and
the generator's own, e.g. --mrff_arch, as it declares them) come from the `<epoch>_state.pth`
(or `train_opt.txt`) beside the checkpoint; pass them only for a checkpoint that has
neither.  Each image is normalised by its own statistics, as the host's `test.py` runs
the generator (`--norm_stats image`, the default; `running` as `test.py --eval`).
Outputs mirror the input tree as 8-bit PNGs at each input's own size;
finished files are skipped, so an interrupted run is resumed by running it again (with the
same options: they are recorded in the --output folder, and other ones are refused).
Under `torchrun --nproc_per_node=K mrff generate ...` the K processes share the
files and none is written twice.  See mrff_plugin/generate/ for the machinery.
`--save_attention` also writes, beside each output `<name>.png`, the four maps of
Fig. 13-14 as `<name>_attention_1.png` .. `_4.png` (the weight of f1..f4, one fixed
0..1 colour scale), in a second forward pass, tiled as the first (generate/attention.py).
"""
import os
import sys

from ..argtypes import positive_count, process_count
from ..generate import NORM_STATS
from ..generate.attention import attention_paths
from ..generate.network import add_network_flags
from ..generate.radiometric_out import add_arguments as add_radiometric_arguments
from ..palettes import PALETTES

DEFAULT_WORKERS = {"cpu": 0, "cuda": 2}  # --workers by device type (docs/performance.md, "Inference")
ACCEPTS_EXTRA = True  # a generator's own network flags (--mrff_arch, ...): generate.network.network_overrides
SKIP_TEARDOWN = True  # the `mrff` executable exits without the interpreter's teardown after a run (cli.console)


def _size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size {text} is not WIDTHxHEIGHT (e.g. 640x512)") from None
    if width < 1 or height < 1:
        raise ValueError(f"--size {text} must be positive")
    return width, height


def add_arguments(parser):
    parser.add_argument("--checkpoint", default=None,
                        help="<run folder>/<epoch>_net_G.pth, or the run folder with --epoch (--backend torch)")
    parser.add_argument("--epoch", default=None, help="checkpoint label when --checkpoint is a folder (default latest)")
    parser.add_argument("--input", required=True, help="folder of visible images (walked recursively)")
    parser.add_argument("--output", required=True, help="folder for the generated PNGs (same relative paths)")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="resize inputs to WxH (default: keep each image's size; padded to the network's "
                             "multiple and cropped back)")
    parser.add_argument("--batch_size", type=positive_count, default=8,
                        help="images per forward pass (same-size images)")
    parser.add_argument("--workers", type=process_count, default=None,
                        help="loader processes decoding images while the network runs (0: decode and encode in "
                             "this process's threads between forward passes); default 0 on CPU, where the "
                             "network's threads already use every core, 2 on GPU (docs/performance.md, "
                             "'Inference')")
    parser.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none",
                        help="autocast precision: bf16 (GPU, or a CPU with AVX-512 BF16 or AMX, where it is "
                             "faster than fp32; emulated and slow on older CPUs: docs/performance.md, "
                             "'Inference') or fp16 (GPU)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when available (cuda:LOCAL_RANK under torchrun)")
    parser.add_argument("--output_nc", type=int, choices=(1, 3), default=None,
                        help="channels of the written PNGs (default: the network's)")
    parser.add_argument("--skip_bad", action="store_true", help="count and skip unreadable images")
    parser.add_argument("--palette", choices=PALETTES, default="grey",
                        help="thermal palette of the PNGs (8-bit RGB through a lookup table; grey: the grey "
                             "image as generated)")
    parser.add_argument("--also_grey", action="store_true",
                        help="with --palette: keep the grey PNG too, as <name>_grey.png beside the palette one")
    parser.add_argument("--norm_stats", choices=NORM_STATS, default=None,
                        help="BatchNorm statistics: image (the default) -- each image's own, as the host's test.py "
                             "runs pix2pix and as every quality figure was scored; running -- the running "
                             "statistics of training, as test.py --eval (networks trained with --norm "
                             "instance|none: no difference). Dropout is off either way. --backend onnxruntime runs "
                             "those the --model was exported with (another value is refused)")
    parser.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                        help="torch: the --checkpoint in PyTorch; onnxruntime: the --model written by `mrff export`")
    parser.add_argument("--model", default=None, help="model.onnx for --backend onnxruntime")
    parser.add_argument("--tile", type=int, default=None, metavar="N",
                        help="generate in NxN tiles (a multiple of 32) blended over --overlap pixels; default: "
                             "only images whose activations exceed --max_memory are tiled, in 512x512 tiles")
    parser.add_argument("--overlap", type=int, default=None, metavar="M",
                        help="tile overlap in pixels, a multiple of 32 (default 96, from the measured receptive "
                             "field: see docs/generate.md, 'Deploying')")
    parser.add_argument("--max_memory", default=None, metavar="SIZE",
                        help="activation memory one forward pass may use, e.g. 4G or 512M (default: a quarter of "
                             "the available RAM, or of the free GPU memory); larger images are tiled")
    parser.add_argument("--save_attention", action="store_true",
                        help="also write the four attention maps (Fig. 13-14) of each image as "
                             "<name>_attention_1..4.png beside it (unetpp_fusion, --backend torch; one more "
                             "forward pass per image, tiled as the first)")
    parser.add_argument("--host", default=None, help="pix2pix/CycleGAN checkout (default: $MRFF_HOST or bundled)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_network_flags(parser)
    add_radiometric_arguments(parser)   # --lwir_out, --calibration (generate/radiometric_out.py)


def choose_device(name):
    """torch.device for --device; under torchrun each process takes cuda:LOCAL_RANK."""
    import os

    import torch
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda was given but no CUDA device is available; use --device cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())


def run(args):
    """Do the work; return the summary dict.  Cheap checks (checkpoint, input tree) come before torch loads."""
    from ..generate.files import claim_output, plan_jobs, shard_from_env, unclaim_output
    from ..generate.network import checkpoint_files
    from ..generate.radiometric_out import radiometric_output, run_folder

    check_backend_flags(args)
    reads = ()   # the network's files: no output may be written over them (files.plan_jobs)
    if args.backend == "torch" and args.checkpoint is not None:
        args.epoch = checkpoint_epoch(args)
        reads = tuple(p for p in checkpoint_files(args.checkpoint, args.epoch, args.direction)[:2] if p)
    elif args.model is not None:
        reads = (args.model,)
    args.radiometric = radiometric_output(args, run_folder(args))   # None unless --lwir_out
    rank, world = shard_from_env()
    jobs, done, bad = plan_jobs(args.input, args.output, rank, world, args.skip_bad, extra_outputs(args), reads)

    from tqdm import tqdm

    from ..generate.allocator import keep_freed_memory
    from ..generate.attention import fusion_net, save_attention_maps
    from ..generate.backends import open_backend
    from ..generate.engine import generate
    from ..generate.network import network_overrides
    from ..generate.options import GenerateOptions
    from ..generate.tiling import DEFAULT_OVERLAP, check_tile, default_max_memory, parse_memory
    device = choose_device(args.device)
    check_tile(args.tile, DEFAULT_OVERLAP if args.overlap is None else args.overlap)  # --overlap alone too
    max_memory = parse_memory(args.max_memory) if args.max_memory else default_max_memory(device)
    overrides = network_overrides(args)
    # --output_nc is the PNG's channels; for a checkpoint without saved options it is also the network's
    keep_freed_memory()  # before the first tensor: loading and every forward pass reuse freed memory
    backend, network_nc = open_backend(args.backend, device, args.amp, args.checkpoint, args.epoch, args.model,
                                       args.host, overrides, {"output_nc": args.output_nc},
                                       norm_stats=args.norm_stats)
    args.norm_stats = getattr(backend, "norm_stats", args.norm_stats)   # what runs: the run's record says it
    options = GenerateOptions(
        output_nc=args.output_nc or network_nc, batch_size=args.batch_size,
        workers=args.workers if args.workers is not None else DEFAULT_WORKERS.get(device.type, 2),
        size=args.size, skip_bad=args.skip_bad, max_memory=max_memory, tile=args.tile, overlap=args.overlap,
        palette=args.palette, also_grey=args.also_grey, radiometric=args.radiometric)
    if args.save_attention:
        fusion_net(backend)  # refuse before the main pass, not after it
    output_existed = os.path.isdir(args.output)
    claimed = claim_output(args.output, run_options(args, options.output_nc))  # a resume with other options: refused
    label = f"rank {rank}/{world}" if world > 1 else "generate"
    try:
        with tqdm(total=len(jobs), desc=label, unit="img", disable=args.quiet) as bar:
            result = generate(backend, jobs, options, progress=bar,
                              log=lambda line: bar.write(f"mrff generate: {line}", file=sys.stderr))
        if args.save_attention:
            save_attention_maps(backend, jobs, options, skip=set(result["bad"]))
    except BaseException:   # refused or stopped before the first image: the folder is left as it was found
        if claimed and world == 1 and not done:
            unclaim_output(args.output, [job.target for job in jobs], remove_folder=not output_existed)
        raise
    result.update(skipped_existing=done, bad=bad + result["bad"], rank=rank, world=world)
    return result


TORCH_ONLY = ("checkpoint", "epoch", "host", "direction", "netG", "norm", "ngf", "input_nc", "no_dropout")


def check_backend_flags(args):
    """GenerateError (one sentence) for a flag the chosen --backend would not use: with onnxruntime the torch
    backend's (TORCH_ONLY, the generator's own flags such as --mrff_arch: the ONNX file holds its network) and
    --device cuda without ONNX Runtime's CUDA provider; with torch --model."""
    from ..generate import GenerateError
    if args.backend == "torch":
        if args.model is not None:
            raise GenerateError(f"--model {args.model} is run by --backend onnxruntime only; pass --backend "
                                f"onnxruntime to run it, or drop --model and pass --checkpoint.")
        return
    given = [f"--{flag}" for flag in TORCH_ONLY if getattr(args, flag, None) not in (None, False)]
    given += [word for word in getattr(args, "extra", None) or () if word.startswith("-")]
    if given:
        raise GenerateError(f"{given[0]} applies to --backend torch only, and --backend onnxruntime runs the "
                            f"network the --model file holds; drop {given[0]}.")
    if args.device == "cuda":
        from ..generate.backends import require_onnxruntime
        if "CUDAExecutionProvider" not in require_onnxruntime("--backend onnxruntime").get_available_providers():
            raise GenerateError("--device cuda: this ONNX Runtime has no CUDA provider, so the --model would run on "
                                "the CPU; install onnxruntime-gpu, or pass --device cpu.")


def checkpoint_epoch(args):
    """The checkpoint label to load: --epoch, else 'latest'; GenerateError when --epoch is given with a
    --checkpoint file of another label (the file decides, so --epoch would not be used)."""
    from ..generate import GenerateError
    if args.epoch is None:
        return "latest"
    path = os.path.expanduser(args.checkpoint or "")
    if not os.path.isdir(path) and os.path.basename(path).split("_net_")[0] != str(args.epoch):
        raise GenerateError(f"--epoch {args.epoch} picks a checkpoint in a run folder, but --checkpoint "
                            f"{args.checkpoint} is one file; pass the run folder as --checkpoint, or drop --epoch.")
    return args.epoch


def run_options(args, output_nc):
    """{flag: value} of what decides the PNGs' pixels, recorded in --output (files.claim_output): the network
    file with its sha256 (a retrained `latest` is another network), --palette, --size, --norm_stats, --output_nc."""
    import hashlib
    import os

    from ..generate.network import checkpoint_files
    flag, path = (("--checkpoint", checkpoint_files(args.checkpoint, args.epoch, args.direction)[0])
                  if args.backend == "torch" else ("--model", args.model))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    size = "each image's own" if args.size is None else "{}x{}".format(*args.size)
    radiometric = getattr(args, "radiometric", None)
    return {flag: f"{os.path.realpath(path)} (sha256 {digest.hexdigest()[:16]})", "--palette": args.palette,
            "--size": size, "--norm_stats": args.norm_stats or "as exported (not recorded in the file)",
            "--output_nc": output_nc,
            **(radiometric.record() if radiometric else {})}


def extra_outputs(args):
    """target -> [(path, flag), ...]: the files the flags write beside each output (files.check_output_names)."""
    from ..palettes import grey_path

    def extra(target):
        grey = [(grey_path(target), "--also_grey")] if args.also_grey and args.palette != "grey" else []
        radiometric = getattr(args, "radiometric", None)
        return (grey + [(path, "--save_attention") for path in (attention_paths(target) if args.save_attention else ())]
                + (radiometric.beside(target) if radiometric else []))
    return extra


def main(args):
    from ..generate import GenerateError
    from ..training.precision import PrecisionError
    try:
        result = run(args)
    except (GenerateError, PrecisionError, ValueError) as exc:
        print(f"mrff generate: {exc}", file=sys.stderr)
        return 2
    seconds = result["seconds"]
    rate = result["written"] / seconds if seconds > 0 else 0.0
    print(f"mrff generate: wrote {result['written']} images ({rate:.2f} images/s), skipped "
          f"{result['skipped_existing']} already done, {len(result['bad'])} unreadable"
          + (f" (rank {result['rank']} of {result['world']})" if result["world"] > 1 else ""))
    for path in result["bad"]:
        print(f"  unreadable: {path}", file=sys.stderr)
    return 0
