"""Training: `--model mrff_pix2pix` and the extras it trains with.

`mrff_pix2pix.py` is the model the host finds by `--model mrff_pix2pix` once the
plugin is attached (the alias `models.mrff_pix2pix_model`, attach/patches.py);
it needs the host on sys.path.  Beside it, torch-only helpers it uses:
`monitor.py` (validation curves in Visdom), `precision.py` (`--amp`),
`optim.py` (fused Adam) and `visuals.py` (attention maps as images, curve PNGs).
Importing this package imports nothing.
"""
