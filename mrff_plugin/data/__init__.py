"""The plugin's datasets: `kaist_aligned` (needs the host on sys.path) and its torch-free helpers.

`kaist_layout` lists and pairs files, `images` decodes them; importing this
package imports neither the host nor torch.
"""
