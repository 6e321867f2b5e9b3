"""Quality study v2 rerun: FID and KID of every run whose weights are kept (protocols/quality_v2_rerun.md,
"Execution").

    python -m benchmarks.quality_v2_rerun_sets [--study roadscene|synthetic]   # every record not yet scored

For each record under results/quality_v2_rerun/<study>/<code>/ without `final.set_generate`, whose weights
file is here with the sha256 the record names: the generator is built by today's code from the record's
options, loaded with the weights, and run on the held-out visible images the `generate` way
(benchmarks.quality.score.whole_outputs).  Its per-image SSIM must equal the record's (the weights and
today's code give the run's own outputs; the largest difference is recorded); then FID and KID against the
real LWIR are added to the record as `final.set_generate`, as `mrff evaluate` computes them, and the
outputs' Inception features are kept beside the weights (<weights>.features.npy) for the report's
hierarchical intervals.  The quality_v2_rerun.py driver calls this after each run.
"""
import argparse
import json
import os

import numpy as np
import torch

from benchmarks.common import commit_of, write_json
from benchmarks.quality.score import fake_features, lwir_features, pair_scores, set_scores_of, whole_outputs
from benchmarks.quality.train import make_step
from benchmarks.quality.v2 import ITERS, DECAY_ITERS, NDF, PAD_MULTIPLE, study_data
from benchmarks.quality_v2_rerun_report import RECORDS, features_path, real_features_path
from mrff_plugin.file_hash import sha256_of

REPRODUCED = 1e-4      # the largest per-image SSIM difference from the record that counts as the run's own outputs

def generator(record):
    """The record's generator, built by today's code, with the run's weights loaded (in train mode, as
    `generate` prepares it from)."""
    setup = {"iters": ITERS, "decay_iters": DECAY_ITERS, "ndf": NDF}
    G = make_step(record["options"], setup, record["seed"], torch.device("cpu")).G
    G.load_state_dict(torch.load(record["weights"], map_location="cpu", weights_only=True))
    return G


def score(path, record, data, network, real):
    G = generator(record)
    generated = whole_outputs(G, data["test"], "generate", torch.device("cpu"), PAD_MULTIPLE)
    ssim = np.array(pair_scores(generated, data["test"])["ssim"])
    difference = float(np.abs(ssim - np.array(record["final"]["generate"]["ssim"])).max())
    if difference > REPRODUCED:
        raise SystemExit(f"quality_v2_rerun_sets: {path} is not reproduced by its weights and today's code "
                         f"(per-image SSIM differs by up to {difference:.2g}); score it with its own code.")
    fake = fake_features(network, generated)
    features_path(path).parent.mkdir(parents=True, exist_ok=True)
    np.save(features_path(path), fake.astype(np.float32))
    record["final"]["set_generate"] = {**set_scores_of(fake, real), "ssim_max_difference": difference,
                                       "scorer_commit": commit_of("benchmarks/quality_v2_rerun_sets.py")}
    write_json(path, record)
    print(f"{path.relative_to(RECORDS)}: FID {record['final']['set_generate']['fid']:.2f}, "
          f"KID {record['final']['set_generate']['kid_mean']:.4f} (SSIM reproduced to {difference:.1g})", flush=True)


def pending(study):
    """Records of `study` without set metrics whose weights are here and match."""
    for path in sorted((RECORDS / study).glob("*/*.json")):
        record = json.loads(path.read_text())
        weights = record.get("weights")
        if "set_generate" in record["final"] or not weights:
            continue
        if not (isinstance(weights, str) and os.path.isfile(weights)):
            print(f"{path.relative_to(RECORDS)}: weights not on this machine, left unscored", flush=True)
            continue
        if sha256_of(weights) != record["weights_sha256"]:
            raise SystemExit(f"quality_v2_rerun_sets: {weights} is not the file {path} names (sha256 differs).")
        yield path, record


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=("roadscene", "synthetic"), action="append")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from mrff_plugin import inception
    network = None
    for study in args.study or ("roadscene", "synthetic"):
        todo = list(pending(study))
        if not todo:
            continue
        network = network or inception.load()
        data = study_data(study)
        real = lwir_features(network, data["test"])
        real_features_path(study).parent.mkdir(parents=True, exist_ok=True)
        np.save(real_features_path(study), real.astype(np.float32))
        for path, record in todo:
            score(path, record, data, network, real)


if __name__ == "__main__":
    main()
