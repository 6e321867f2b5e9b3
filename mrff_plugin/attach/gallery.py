"""Scores in the `test.py` gallery: per-image SSIM/PSNR captions and a summary line at the top.

The host's `test.py` writes its gallery with `util.visualizer.save_images(webpage,
visuals, image_path, ...)` once per input and `webpage.save()` at the end.
`mrff_plugin.register()` wraps `save_images` with `scored_save_images(original)` and the
host's `util.html.HTML.add_images` / `.save` with `page_add_images` / `page_save` (patches.py),
which, for visuals holding both `fake_B` and `real_B`:

* scores fake_B against real_B with `mrff_plugin.metrics.tensor_scores` (Table 3
  protocol: 8-bit grey, quantised exactly as the saved PNGs), and lets the host
  write the row with the fake_B caption `fake_B: SSIM 0.8123, PSNR 21.40 dB`;
* gives that page a summary paragraph (id `mrff-summary`) as the first element
  of its body when it is saved: `SSIM mean ± std, PSNR mean ± std dB over N images` (sample std, as
  `mrff evaluate` computes it from the saved files), then FID and KID (mean ± std over subsets) of the
  page's fake_B set against its real_B set (`mrff_plugin.set_scores`: `mrff evaluate`'s figures on the
  same images), or the one sentence saying why they are left out.

and, for visuals holding the four maps attention_1..attention_4 (`--model
mrff_pix2pix`), gives the page a colour bar (id `mrff-attention-scale`) under the
summary: the one 0..1 scale the four maps share (`mrff_plugin.training.visuals.colour_scale`).

With the plugin flag `--gallery_palette ironbow` (or white_hot, black_hot, inferno;
default grey: nothing added) each row also shows fake_B and real_B in that thermal
palette (`with_palette`, applied by the test model's `get_current_visuals`, which has the options), as `<stem>_fake_B_<palette>.png` / `<stem>_real_B_<palette>.png` (the grey
PNGs stay, so `mrff evaluate` scores what it always scored; `mrff_plugin.palettes`).

Captions go through dominate, which escapes them.  Visuals without the pair
(e.g. CycleGAN's), or too small to score, pass through unchanged.
"""
import functools
import os

from ..visual_names import ATTENTION_NAMES

SCORED = ("fake_B", "real_B")   # generated vs. real infrared, as `mrff evaluate` pairs them
SUMMARY_ID = "mrff-summary"
SCALE_ID = "mrff-attention-scale"


def caption(label, ssim, psnr):
    """`fake_B: SSIM 0.8123, PSNR 21.40 dB` (PSNR of identical images: inf)."""
    return f"{label}: SSIM {ssim:.4f}, PSNR {psnr:.2f} dB"


def summary(scores, sets=None):
    """One line over [(stem, ssim, psnr), ...]: mean and sample std, as `mrff evaluate` reports them; with
    `sets` (set_scores.SetScores of the same rows), FID and KID after them, or the sentence why not."""
    from ..metrics import summarise
    run = summarise(None, None, scores)
    line = (f"fake_B vs real_B over {run['n']} images (8-bit grey, SSIM window 11, sigma 1.5): "
            f"SSIM {run['ssim_mean']:.4f} ± {run['ssim_std']:.4f}, "
            f"PSNR {run['psnr_mean']:.2f} ± {run['psnr_std']:.2f} dB")
    if sets is None:
        return line
    figures = sets.scores()
    if figures:
        line += f", FID {figures['FID']:.2f}, KID {figures['KID']:.4f} ± {figures['KID_std']:.4f}"
    return line + (f". {sets.note}" if sets.note else "")


def _page_state(webpage):
    """This page's gallery state, kept on the page: {'scores': [(stem, ssim, psnr)] or None (no row scored),
    'sets': the rows' set_scores.SetScores (made at the first scored row), 'scale': whether a row had the
    attention maps, 'captions': {label: caption} of the row being written}."""
    state = getattr(webpage, "mrff_state", None)
    if state is None:
        state = webpage.mrff_state = {"scores": None, "sets": None, "scale": False, "captions": {}}
    return state


def _page_scores(webpage):
    """The list of (stem, ssim, psnr) of this page's rows (and the summary it gets when saved)."""
    state = _page_state(webpage)
    if state["scores"] is None:
        state["scores"] = []
    return state["scores"]


def page_save(host_save):
    """HTML.save that first puts the page's summary line and colour bar (when it has them) at the top."""
    @functools.wraps(host_save)
    def save(self, *args, **kwargs):
        state = getattr(self, "mrff_state", None)
        if state is not None and state["scale"]:
            _put_first(self, SCALE_ID, colour_bar())
        if state is not None and state["scores"] is not None:
            _put_first(self, SUMMARY_ID, _summary_line(summary(state["scores"], state["sets"])))
        return host_save(self, *args, **kwargs)
    return save


def page_add_images(host_add_images):
    """HTML.add_images that writes the captions scored_save_images set for the row being written."""
    @functools.wraps(host_add_images)
    def add_images(self, ims, txts, links, *args, **kwargs):
        captions = getattr(self, "mrff_state", {}).get("captions") or {}
        return host_add_images(self, ims, [captions.get(txt, txt) for txt in txts], links, *args, **kwargs)
    return add_images


def _summary_line(text):
    from dominate.tags import p
    return p(text, id=SUMMARY_ID, style="font-weight: bold;")


def colour_bar():
    """A <div>: 'attention_1..attention_4 (weight of f1..f4), one scale: 0 [gradient] 1'."""
    from dominate.tags import div, span
    from ..training.visuals import colour_scale
    gradient = ", ".join(colour_scale())
    bar = div(id=SCALE_ID, style="margin: 4px 0 10px 0;")
    with bar:
        span("attention_1..attention_4 (the weight of f1..f4 in the fused feature, summing to 1), one scale: ")
        span("0 ")
        span(style=f"display: inline-block; vertical-align: middle; width: 256px; height: 14px; "
                   f"border: 1px solid #888; background: linear-gradient(to right, {gradient});")
        span(" 1")
    return bar


def _put_first(webpage, element_id, element):
    """Make `element` the body's first element (replacing an earlier one with the same id)."""
    body = webpage.doc.body
    body.children[:] = [child for child in body.children
                        if getattr(child, "attributes", {}).get("id") != element_id]
    element.parent = body
    body.children.insert(0, element)


def with_palette(visuals, palette):
    """`visuals` plus fake_B/real_B in `palette` as '<label>_<palette>' (uint8 RGB arrays, which the host's
    tensor2im passes through unchanged), quantised as the host saves the grey PNGs; unchanged for grey."""
    if palette == "grey" or not any(label in visuals for label in SCORED):
        return visuals
    from ..metrics import tensor_to_u8
    from ..palettes import colourise
    extra = {f"{label}_{palette}": colourise(tensor_to_u8(visuals[label][:1])[0].permute(1, 2, 0).cpu().numpy()
                                             .astype("uint8"), palette)
             for label in SCORED if label in visuals}
    return type(visuals)(list(visuals.items()) + list(extra.items()))


def scored_save_images(original):
    """save_images that also captions fake_B with its SSIM/PSNR (page_add_images writes it) and records them
    for the page's summary (page_save)."""

    @functools.wraps(original)
    def save_images(webpage, visuals, image_path, *args, **kwargs):
        if all(label in visuals for label in ATTENTION_NAMES):
            _page_state(webpage)["scale"] = True
        if not all(label in visuals for label in SCORED):
            return original(webpage, visuals, image_path, *args, **kwargs)
        from ..metrics import luma_u8, scores_u8, tensor_to_u8
        from ..set_scores import SetScores, load_network
        fake, real = (luma_u8(tensor_to_u8(visuals[label][:1]).cpu()) for label in SCORED)   # as the PNGs are saved
        try:
            ssim, psnr = (float(v[0]) for v in scores_u8(fake, real))
        except ValueError:   # too small for the 11x11 window, or sizes differ: an unscored row
            return original(webpage, visuals, image_path, *args, **kwargs)
        stem = os.path.splitext(os.path.basename(image_path[0]))[0]
        _page_scores(webpage).append((stem, ssim, psnr))
        state = _page_state(webpage)
        if state["sets"] is None:
            state["sets"] = SetScores(*load_network())
        state["sets"].add(stem, fake, real)
        captions = _page_state(webpage)["captions"]
        captions[SCORED[0]] = caption(SCORED[0], ssim, psnr)   # for this row only
        try:
            return original(webpage, visuals, image_path, *args, **kwargs)
        finally:
            captions.clear()

    return save_images
