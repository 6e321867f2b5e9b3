"""What a study run's files are called: `<model>_seed<k>` with the model's spaces as underscores
(`fusion_paper_seed0`), then `.json` for its record, `.pth` for its generator, `.resume.pth` for its state
half-way.  Imports nothing."""


def run_stem(label, seed):
    """'fusion paper', 0 -> 'fusion_paper_seed0'."""
    return f"{label.replace(' ', '_')}_seed{seed}"
