"""The quality studies: does the fusion generator beat pix2pix's U-Net beyond seed noise?

Layers, each importing only those above it:

* run_files.py -- what a run's record, weights and half-way state are called;
* data.py     -- the pairs: synthetic scenes (rendered, cached) and RoadScene (real LWIR), training crops;
* score.py    -- a generator's outputs as the host's test.py or `mrff generate` produce them, and their
                 SSIM / PSNR / SCC;
* resume.py   -- a run's state half-way, on disk, and the fingerprint of the code that trains;
* train.py    -- one (model, seed): training with evaluations along the way, its record;
* stats.py    -- seed statistics, bootstrap intervals, the Markdown tables;
* figures.py  -- the PNGs, drawn from a results file and the cached seed-0 weights.

Each version of the study is a thin driver that holds its fixed numbers and runs the layers:
v1.py (synthetic scenes; its numbers are its SCALES table), v2.py (RoadScene and synthetic,
benchmarks/protocols/quality_v2.md, fixed before its first run) and v3.py (RoadScene, the released network's
factors at matched compute, benchmarks/protocols/quality_v3.md); compute.py counts the MACs of v3's models.
Figures never import a driver.
"""
