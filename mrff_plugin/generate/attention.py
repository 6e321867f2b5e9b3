"""`--save_attention`: the four attention maps of Fig. 13-14 beside each generated image.

A second forward pass per image through the unetpp_fusion generator (`net(x, with_weights=True)`), tiled as
the main pass is (the same --size, --max_memory, --tile, --overlap of options.GenerateOptions), written as
`<name>_attention_1.png` .. `_4.png`: the weight of f1..f4 on one fixed 0..1 colour scale
(training.visuals.weight_pngs).
"""
import os

from . import GenerateError

ATTENTION_SUFFIX = "_attention_{}.png"   # <name>_attention_1.png .. _4.png: w1..w4 of Fig. 13-14


def attention_paths(target):
    """<name>_attention_1.png .. _4.png beside the output <name>.png."""
    return [os.path.splitext(target)[0] + ATTENTION_SUFFIX.format(k) for k in range(1, 5)]


def fusion_net(backend):
    """The backend's unetpp_fusion network, or GenerateError: --save_attention needs its feature weights."""
    from ..networks.fusion import FusionGenerator
    net = getattr(backend, "net", None)
    if not isinstance(net, FusionGenerator):
        raise GenerateError("--save_attention needs --backend torch and a --netG unetpp_fusion checkpoint; "
                            "drop --save_attention for other generators.")
    return net


class FeatureWeights:
    """The engine's backend interface around `backend`'s fusion network, returning its (N, 4, H, W) weights."""

    def __init__(self, backend):
        self.backend, self.net = backend, fusion_net(backend)
        self.multiple, self.per_image_norm = backend.multiple, backend.per_image_norm

    def __call__(self, x):
        import torch
        with torch.inference_mode(), self.backend.precision.autocast():
            return self.net(x.contiguous(memory_format=torch.channels_last), with_weights=True)[1].float()

    def whole_image_statistics(self, image, run):
        return self.backend.whole_image_statistics(image, run)


def save_attention_maps(backend, jobs, options, skip=()):
    """`<name>_attention_k.png` (k = 1..4) beside each job's output: the fusion generator's four feature
    weights, colour-mapped on the fixed 0..1 scale (`visuals.weight_pngs`).  Tiled as the main pass is
    (tiling.plan_size under the same options' max_memory/tile/overlap): the weights of overlapping tiles blend
    like the images (they still sum to 1), normalised with the whole image's statistics.  Jobs whose source is
    in `skip`, or that cannot be decoded, were reported (or refused) by the main pass and get no maps."""
    from ..training.visuals import weight_pngs
    from . import engine
    from .files import write_png
    from .tiling import plan_size
    weights_of = FeatureWeights(backend)
    images = engine.ImageJobs(jobs, backend.input_nc, options.size)
    for index, job in enumerate(jobs):
        if job.source in skip:
            continue
        image = images[index][1]
        if image is None:
            continue
        height, width = image.shape[-2:]
        plan = plan_size(width, height, backend.multiple, backend.cost if options.max_memory else None,
                         options.max_memory or float("inf"), 1, options.tile, options.overlap)
        weights = engine.run_network(weights_of, image[None].to(backend.device), plan["tile"], plan["overlap"],
                                     plan["batch"], plan["statistics_scale"])   # (1, 4, H, W), padded, cropped back
        for png, path in zip(weight_pngs(weights)[0], attention_paths(job.target)):
            write_png(png, path)
