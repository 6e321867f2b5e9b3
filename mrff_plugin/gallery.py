"""Scores in the `test.py` gallery: per-image SSIM/PSNR captions and a summary line at the top.

The host's `test.py` writes its gallery with `util.visualizer.save_images(webpage,
visuals, image_path, ...)` once per input and `webpage.save()` at the end.
`mrff_plugin.register()` replaces `save_images` with `wrap_save_images(original)`,
which, for visuals holding both `fake_B` and `real_B`:

* scores fake_B against real_B with `mrff_plugin.metrics.tensor_scores` (Table 3
  protocol: 8-bit grey, quantised exactly as the saved PNGs), and lets the host
  write the row with the fake_B caption `fake_B: SSIM 0.8123, PSNR 21.40 dB`;
* gives that page a summary paragraph (id `mrff-summary`) as the first element
  of its body when it is saved: `SSIM mean ± std, PSNR mean ± std dB over N images` (sample std, as
  `mrff evaluate` computes it from the saved files).

Captions go through dominate, which escapes them.  Visuals without the pair
(e.g. CycleGAN's), or too small to score, pass through unchanged.
"""
import functools
import os

SCORED = ("fake_B", "real_B")   # generated vs. real infrared, as `mrff evaluate` pairs them
SUMMARY_ID = "mrff-summary"


def caption(label, ssim, psnr):
    """`fake_B: SSIM 0.8123, PSNR 21.40 dB` (PSNR of identical images: inf)."""
    return f"{label}: SSIM {ssim:.4f}, PSNR {psnr:.2f} dB"


def summary(scores):
    """One line over [(stem, ssim, psnr), ...]: mean and sample std, as `mrff evaluate` reports them."""
    from .commands.evaluate import summarise
    run = summarise(None, None, scores)
    return (f"fake_B vs real_B over {run['n']} images (8-bit grey, SSIM window 11, sigma 1.5): "
            f"SSIM {run['ssim_mean']:.4f} ± {run['ssim_std']:.4f}, "
            f"PSNR {run['psnr_mean']:.2f} ± {run['psnr_std']:.2f} dB")


def _page_scores(webpage):
    """The list of (stem, ssim, psnr) of this page's rows; the first call makes the page's save() add the summary."""
    scores = getattr(webpage, "mrff_scores", None)
    if scores is None:
        scores = webpage.mrff_scores = []
        host_save = webpage.save

        @functools.wraps(host_save)
        def save(*args, **kwargs):
            _put_summary(webpage, summary(scores))
            return host_save(*args, **kwargs)

        webpage.save = save
    return scores


def _put_summary(webpage, text):
    """Make `text` the body's first element (replacing an earlier summary)."""
    from dominate.tags import p
    body = webpage.doc.body
    body.children[:] = [child for child in body.children if getattr(child, "attributes", {}).get("id") != SUMMARY_ID]
    line = p(text, id=SUMMARY_ID, style="font-weight: bold;")
    line.parent = body
    body.children.insert(0, line)


def wrap_save_images(original):
    """save_images that also captions fake_B with its SSIM/PSNR and records them for the summary."""

    @functools.wraps(original)
    def save_images(webpage, visuals, image_path, *args, **kwargs):
        if not all(label in visuals for label in SCORED):
            return original(webpage, visuals, image_path, *args, **kwargs)
        from .metrics import tensor_scores
        try:
            ssim, psnr = (float(v[0]) for v in tensor_scores(visuals["fake_B"][:1], visuals["real_B"][:1]))
        except ValueError:   # too small for the 11x11 window, or sizes differ: an unscored row
            return original(webpage, visuals, image_path, *args, **kwargs)
        stem = os.path.splitext(os.path.basename(image_path[0]))[0]
        _page_scores(webpage).append((stem, ssim, psnr))
        host_add_images = webpage.add_images

        def add_images(ims, txts, links, *rest, **options):
            txts = [caption(txt, ssim, psnr) if txt == SCORED[0] else txt for txt in txts]
            return host_add_images(ims, txts, links, *rest, **options)

        webpage.add_images = add_images   # for this row only
        try:
            return original(webpage, visuals, image_path, *args, **kwargs)
        finally:
            del webpage.add_images

    save_images._mrff_original = original
    return save_images
