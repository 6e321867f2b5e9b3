"""The plugin's datasets: `kaist_aligned` (needs the host on sys.path) and its torch-free helpers.

`pairs_layout` finds the layout of a dataroot (KAIST, LLVIP, FLIR aligned, flat)
and lists its pairs with the pieces of `kaist_layout`; `images` decodes them;
importing this package imports neither the host nor torch.
"""
