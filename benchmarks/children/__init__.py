"""Processes the benchmarks start: each a module with its own argparse command line, run as
`python -m benchmarks.children.<name>` (benchmarks.common.child builds that command), not a benchmark itself.

* peak_rss       -- run one command, report its peak resident memory (speed.py, tiling.py);
* train_steps    -- a few pix2pix training steps of one generator (speed.py's memory figure);
* forward_pass   -- the bare generator forward pass, timed as `mrff generate` prepares it (speed.py, gpu_check.py);
* kill_at_rename -- a host script SIGKILLed right after the N-th rename of a staged checkpoint (kill_resume.py).
"""
