"""The plugin's datasets: `kaist_aligned` (needs the host on sys.path) and its torch-free helpers.

`pairs_layout` finds the layout of a dataroot (KAIST, LLVIP, FLIR aligned, flat, two folders)
and lists its pairs with the pieces every layout shares (`listing`) and each layout's own
(`kaist_layout`, `folder_pairs`); `images` decodes them; importing this package imports
neither the host nor torch.
"""
