"""Session-scoped checkpoints: each kind of small checkpoint is made once per test run and shared.

Imported by conftest.py.  A shared checkpoint is read-only: a test that changes one (its weights, its
folder, the files beside it) copies it into its own tmp_path first.  Under pytest-xdist each worker
process has its own session, so a checkpoint is made at most once per worker.
"""
import pytest


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """tiny_checkpoint(mrff_fusion="nested", output_gain=OUTPUT_GAIN) -> the path of latest_net_G.pth.

    tests/tiny_generator.py's fusion checkpoint (ngf 8, batch norm, 1-channel output, latest_state.pth beside
    it), made by the host's own functions in a subprocess on the first request for each (mrff_fusion,
    output_gain) and shared by every later one.  Read by test_export.py, test_reliability_generate.py,
    test_reliability_resume.py, test_tiling.py, test_reliability_memory.py and test_cuda.py; none of them
    writes into its folder.
    """
    from tiny_generator import OUTPUT_GAIN, make_checkpoint   # here: tiny_generator imports conftest, which imports us
    made = {}

    def get(mrff_fusion="nested", output_gain=None):
        output_gain = OUTPUT_GAIN if output_gain is None else output_gain
        key = (mrff_fusion, float(output_gain))
        if key not in made:
            folder = tmp_path_factory.mktemp(f"tiny_{mrff_fusion}_gain{output_gain:g}") / "run"
            made[key] = make_checkpoint(folder, mrff_fusion=mrff_fusion, output_gain=output_gain)
        return made[key]
    return get
