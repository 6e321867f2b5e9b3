"""`mrff export --checkpoint C --out model.onnx`: the generator as an ONNX file, checked with ONNX Runtime.

Exported as `mrff generate` runs it (no dropout; BatchNorm by each image's own
statistics as the host's test.py, or `--norm_stats running` folded in),
either architecture and any --mrff_fusion, with a dynamic batch and dynamic
height/width (multiples of 32) unless --size WxH.  After writing, the file is run
by ONNX Runtime on a few inputs and compared with PyTorch; the maximum difference
is printed, and the command fails (exit 2, nothing written) above the limit.
Needs `pip install mrff-plugin[onnx]`.  Machinery: mrff_plugin/generate/onnx_export.py.
"""
import os
import sys

from ..generate import NORM_STATS
from ..generate.network import add_network_flags
from .generate import _size, checkpoint_epoch

ACCEPTS_EXTRA = True  # a generator's own network flags (--mrff_arch, ...): generate.network.network_overrides


def add_arguments(parser):
    parser.add_argument("--checkpoint", required=True,
                        help="<run folder>/<epoch>_net_G.pth, or the run folder with --epoch")
    parser.add_argument("--epoch", default=None, help="checkpoint label when --checkpoint is a folder (default latest)")
    parser.add_argument("--out", default="model.onnx", help="the ONNX file to write (default model.onnx)")
    parser.add_argument("--opset", type=int, default=None,
                        help="ONNX opset, from 18 (the exporter's own) to the newest the installed onnx defines "
                             "(default: the exporter's recommended one)")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="fix the input size (multiples of 32); default: dynamic height and width")
    parser.add_argument("--with_attention", action="store_true",
                        help="also output the four per-pixel feature weights w1..w4 as 'weights' (N, 4, H, W)")
    parser.add_argument("--norm_stats", choices=NORM_STATS, default="image",
                        help="BatchNorm statistics in the graph: image -- each image's own (mean/variance over H x W "
                             "per channel with BatchNorm's affine, as the host's test.py and `mrff generate`); "
                             "running -- eval mode's running statistics folded into the convolutions")
    parser.add_argument("--host", default=None, help="pix2pix/CycleGAN checkout (default: $MRFF_HOST or bundled)")
    add_network_flags(parser)
    parser.add_argument("--output_nc", type=int, default=None, help="the network's output channels (with --netG)")


def main(args):
    from ..generate import GenerateError
    try:
        from ..generate.network import checkpoint_files
        args.epoch = checkpoint_epoch(args)
        check_out(args.out, *checkpoint_files(args.checkpoint, args.epoch, args.direction))
        from ..generate.onnx_export import export_onnx, require_export_packages
        from ..generate.radiometric_out import range_for_export
        copy_lwir_range = range_for_export(args.checkpoint, args.epoch, args.out, args.direction)   # the run's map
        require_export_packages()
        from ..generate.network import load_generator, network_overrides, prepare_for_inference
        net, options = load_generator(args.checkpoint, args.epoch, args.host, network_overrides(args),
                                      {"output_nc": args.output_nc})
        if args.output_nc is not None and args.output_nc != options["output_nc"]:
            raise GenerateError(f"--output_nc {args.output_nc} does not fit the checkpoint's generator, whose saved "
                                f"options give it --output_nc {options['output_nc']}; drop --output_nc.")
        report = export_onnx(prepare_for_inference(net, "cpu", args.norm_stats), args.out, options["input_nc"],
                             args.opset, args.size, args.with_attention,
                             metadata={**options, "norm_stats": args.norm_stats})
        copy_lwir_range()
    except (GenerateError, ValueError) as exc:
        print(f"mrff export: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mrff export: --out {args.out} cannot be written ({exc.strerror or exc}); pass a path in a folder "
              f"you can write to.", file=sys.stderr)
        return 2
    shape = "dynamic batch, height and width (multiples of {})".format(report["multiple"]) if report["dynamic"] \
        else f"dynamic batch, {args.size[0]}x{args.size[1]}"
    print(f"mrff export: wrote {report['out']} ({report['bytes'] / 2 ** 20:.1f} MB, opset {report['opset']}, "
          f"outputs {', '.join(report['outputs'])}; {shape})")
    print(f"mrff export: ONNX Runtime vs PyTorch, max abs difference {report['max_difference']:.2e} "
          f"(limit {report['limit']:.0e}; one grey level is {2 / 255:.1e})")
    return 0


def check_out(out, weights, state, folder):
    """GenerateError (one sentence) when --out would write over a file this export reads or a checkpoint of its
    run folder: the weights, their state file, the folder's train_opt.txt and LWIR map, any `.pth` there; compared
    by real paths (links and `..` seen through) and as one file under two names (files.same_file).  Also when
    --out is named like the LWIR map, which export writes beside the ONNX file."""
    from ..generate import GenerateError
    from ..generate.files import same_file
    from ..generate.network import OPTIONS_FILE
    from ..radiometric.lwir_range import RANGE_FILE
    read = [(weights, "the checkpoint"), (state, "the checkpoint's state file"),
            (os.path.join(folder, OPTIONS_FILE), "the run's options file"),
            (os.path.join(folder, RANGE_FILE), "the run's LWIR map")]
    read += [(os.path.join(folder, name), "a checkpoint of the run folder") for name in sorted(os.listdir(folder))
             if name.endswith(".pth")]
    suggestion = os.path.join(os.path.dirname(os.path.abspath(os.path.expanduser(out))), "model.onnx")
    for path, what in read:
        if path and os.path.isfile(path) and same_file(out, path):
            raise GenerateError(f"--out {out} would write over {what} {path}, which mrff export reads; pass another "
                                f"--out, e.g. {suggestion}.")
    if os.path.basename(out) == RANGE_FILE:
        raise GenerateError(f"--out {out} is named like the LWIR map that export writes beside the ONNX file (and "
                            f"`mrff generate --backend onnxruntime` reads there); pass another --out, e.g. "
                            f"{suggestion}.")
