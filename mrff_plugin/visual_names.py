"""The names the fusion generator's pictures have among a model's visuals, and so in test.py's result files
(`<image>_<name>.png`): the four feature weights of Fig. 13-14 and the four branches of Fig. 6.

`--model mrff_pix2pix` shows them (training/visuals.py), the gallery lays them out (attach/gallery.py) and
`kaist_aligned` counts them in the result names it checks.  Only the standard library.
"""
ATTENTION_NAMES = ("attention_1", "attention_2", "attention_3", "attention_4")  # Fig. 13-14 (c)-(f): w1..w4
BRANCH_NAMES = ("f1", "f2", "f3", "f4")               # Fig. 6: the branches of X0,1 .. X0,4
