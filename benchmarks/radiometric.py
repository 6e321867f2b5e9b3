"""Radiometric round trip on synthetic 16-bit pairs: temperature error of `mrff generate`'s float output, and what
8-bit training loses against 16-bit training on the same scenes.

    nice python -m benchmarks.radiometric                 # 100 training + 24 test pairs, demo scale
    python -m benchmarks.radiometric --quick              # the machinery in a minute (figures mean nothing)

Everything runs as a user runs it, at the demo's scale (options/demo.txt: 144x144 frames, random 128 crops,
ngf/ndf 32, 1 + 1 epochs, batch 1):

1. `mrff synth --lwir_bits 16 --size 144x144`: 8-bit KAIST-layout pairs and, beside them, the camera's counts
   before AGC, the scene temperature (the truth) and the counts' calibration (docs/radiometric.md).
2. `mrff train` of the fusion generator (unetpp_fusion) and the host's U-Net (unet_128) on the counts with
   `--lwir_range auto`; and of the fusion generator on the 8-bit frames of the same scenes.
3. `mrff generate --lwir_out kelvin` for the 16-bit runs: float32 kelvin TIFFs through the run's saved map and
   calibration.  The 8-bit run's PNGs are mapped back to counts through each test frame's own AGC range
   (agc.json: the range the camera used for that very frame, which a real 8-bit set does not record -- the
   best case for 8-bit), then to kelvin with the same calibration; and, as for a real 8-bit set, which records no
   AGC range, through the mean AGC range of the training frames (`fusion_8bit_training_agc`).
4. Per test image: the mean absolute error (K) against the renderer's scene temperature; the camera floor is
   the same error of the test frames' own counts (what a perfect generator of the camera's counts scores:
   blur, noise and fixed pattern).  The same error with each frame's mean offset removed separates the absolute
   level (which the visible image hardly shows: air temperature, sun) from the picture's structure.  Paired
   differences 8-bit - 16-bit with a 95% bootstrap interval.

The JSON goes to benchmarks/results/radiometric-synth-<pairs>p-128px-fp32-<cpu>-pt<torch>-<date>.json
(results/MANIFEST.md: what, where, when).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import OUT, RESULTS, cpu_info, cpu_tag, machine, package_env, write_json

WORK = OUT / "radiometric"
DEMO = ["--model", "pix2pix", "--dataset_mode", "kaist_aligned", "--input_nc", "3", "--output_nc", "1",
        "--load_size", "144", "--crop_size", "128", "--batch_size", "1", "--ngf", "32", "--ndf", "32",
        "--n_epochs", "1", "--n_epochs_decay", "1", "--display_id", "0", "--gpu_ids", "-1", "--num_threads", "0",
        "--print_freq", "100"]
QUICK = ["--ngf", "8", "--ndf", "8", "--n_epochs", "1", "--n_epochs_decay", "0"]
RUNS = {   # name -> (--netG, 16-bit counts?)
    "fusion_16bit": ("unetpp_fusion", True),
    "unet_16bit": ("unet_128", True),
    "fusion_8bit": ("unetpp_fusion", False),
}
BOOTSTRAP = 10000


def mrff(*args):
    """Run `mrff ARGS` as a user does; its output goes to this process's; CalledProcessError on failure."""
    env = package_env(dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")))
    subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], env=env, check=True)


def read(path):
    from mrff_plugin.radiometric.reading import read_lwir
    return read_lwir(path).values.astype(np.float64)


def test_frames(data):
    """[(pair id 'setNN/I00000', counts PNG, truth TIFF)] of the test part."""
    frames = []
    for counts in sorted((data / "test" / "lwir").rglob("*.png")):
        pair = f"{counts.parent.name}/{counts.stem}"
        frames.append((pair, counts, data / "test" / "kelvin" / counts.parent.name / f"{counts.stem}.tiff"))
    return frames


def bootstrap_mean(values, seed=0):
    """(mean, 2.5th, 97.5th percentile) of the mean over BOOTSTRAP resamples (percentile bootstrap)."""
    values = np.asarray(values, np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (BOOTSTRAP, len(values)))].mean(1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--test_pairs", type=int, default=24)
    parser.add_argument("--quick", action="store_true", help="tiny networks, 4 pairs: checks the machinery only")
    args = parser.parse_args(argv)
    pairs, tests = (4, 2) if args.quick else (args.pairs, args.test_pairs)
    work = WORK / ("quick" if args.quick else f"p{pairs}")
    synth = work / "synth"
    data = synth / "radiometric"
    if not (synth / "synth.json").is_file() or not json.loads((synth / "synth.json").read_text())["complete"]:
        mrff("synth", "--out", synth, "--pairs", pairs, "--test-pairs", tests, "--size", "144x144", "--seed", 0,
             "--lwir_bits", 16, "--quiet", "--overwrite")
    from mrff_plugin.radiometric.calibration import from_record
    calibration = from_record(json.loads((data / "calibration.json").read_text()), str(data / "calibration.json"))
    agc = json.loads((data / "agc.json").read_text())
    frames = test_frames(data)
    tested = {pair for pair, _, _ in frames}   # a real 8-bit set records no AGC range: the training frames' mean
    train_agc = [float(v) for v in np.mean([r for pair, r in agc.items() if pair not in tested], axis=0)]
    truth = {pair: read(kelvin) for pair, _, kelvin in frames}
    report = {"what": "temperature MAE (K) of mrff generate's float output against the synthetic scene temperature",
              "pairs": pairs, "test_pairs": len(frames), "size": "144x144 frames, 128x128 crops",
              "flags": DEMO + (QUICK if args.quick else []), "machine": machine(),
              "date": datetime.date.today().isoformat(), "runs": {}}
    report["camera_floor"] = [float(np.mean(np.abs(calibration.to_kelvin(read(counts)) - truth[pair])))
                              for pair, counts, _ in frames]
    for name, (net, sixteen) in RUNS.items():
        run = work / "checkpoints" / name
        if not (run / "latest_net_G.pth").is_file():
            start = time.perf_counter()
            mrff("train", "--dataroot", data if sixteen else synth, "--name", name, "--checkpoints_dir",
                 work / "checkpoints", "--netG", net, *DEMO, *(QUICK if args.quick else []),
                 *(["--lwir_range", "auto"] if sixteen else []))
            (run / "train_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
        out = work / "generated" / name
        mrff("generate", "--checkpoint", run, "--input", data / "test" / "visible", "--output", out, "--quiet",
             *(["--lwir_out", "kelvin"] if sixteen else []))
        maps = {"": None} if sixteen else {"": "own", "_training_agc": train_agc}
        for suffix, agc_range in maps.items():
            errors, shape_errors = [], []
            for pair, _, _ in frames:
                if sixteen:
                    kelvin = read(out / f"{pair}_kelvin.tiff")
                else:   # the 8-bit picture back to counts through an AGC range, then to kelvin
                    low, high = agc[pair] if agc_range == "own" else agc_range
                    kelvin = calibration.to_kelvin(low + read(out / f"{pair}.png") / 255.0 * (high - low))
                error = kelvin - truth[pair]
                errors.append(float(np.mean(np.abs(error))))
                shape_errors.append(float(np.mean(np.abs(error - error.mean()))))   # the frame's mean offset removed
            report["runs"][name + suffix] = {
                "netG": net, "bits": 16 if sixteen else 8, "mae_k": bootstrap_mean(errors), "per_image_mae_k": errors,
                "mae_k_offset_removed": bootstrap_mean(shape_errors), "agc_range": agc_range,
                "train_seconds": float((run / "train_seconds.txt").read_text())}
    fusion16 = report["runs"]["fusion_16bit"]["per_image_mae_k"]
    for suffix in ("", "_training_agc"):
        fusion8 = report["runs"]["fusion_8bit" + suffix]["per_image_mae_k"]
        report[f"fusion_8bit{suffix}_minus_16bit_k"] = bootstrap_mean(np.subtract(fusion8, fusion16))
    report["camera_floor_k"] = bootstrap_mean(report["camera_floor"])
    cpu = cpu_tag(cpu_info()[1])   # the CPU's best matrix instructions, as results/MANIFEST.md names files
    name = (f"radiometric-synth{'-quick' if args.quick else ''}-{pairs}p-128px-fp32-{cpu}-"
            f"pt{report['machine']['torch'].split('+')[0].replace('.', '')}-{report['date'].replace('-', '')}.json")
    path = (work if args.quick else RESULTS) / name
    write_json(path, report)
    for run, result in report["runs"].items():
        mean, low, high = result["mae_k"]
        print(f"{run:27} MAE {mean:.3f} K [{low:.3f}, {high:.3f}], offset removed "
              f"{result['mae_k_offset_removed'][0]:.3f} K ({result['train_seconds']:.0f} s training)")
    for suffix in ("", "_training_agc"):
        mean, low, high = report[f"fusion_8bit{suffix}_minus_16bit_k"]
        print(f"fusion 8-bit{suffix} - 16-bit: {mean:+.3f} K [{low:+.3f}, {high:+.3f}]")
    print(f"camera floor {report['camera_floor_k'][0]:.3f} K; wrote {path}")


if __name__ == "__main__":
    main()
