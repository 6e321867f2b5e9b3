"""The quality study, version 4: its code carries out the committed protocol (version 3's driver, five models with
the generator under the host's kaiming initialisation, compared with version 3's records of the same models), and
its machinery runs.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest
import torch

from benchmarks.quality import compute
from benchmarks.quality import v3, v4
from benchmarks.quality.train import make_step
from tests.test_quality_v3 import quick_driver, record

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = (ROOT / v4.PROTOCOL).read_text()

torch.set_num_threads(1)


def test_the_models_are_the_protocols_and_differ_from_version_3s_only_in_the_initialisation():
    rows = {m.group(1): line for line in PROTOCOL.splitlines() if (m := re.match(r"^\| `([^`]+)` \|", line))}
    assert list(rows) == list(v4.MODELS) == list(v4.PRIMARY)
    for label, options in v4.MODELS.items():
        twin = label[:-len(" kaiming")]
        assert rows[label].startswith(f"| `{label}` | `{twin}`") and "kaiming" in rows[label]
        assert {k: v for k, v in options.items() if k != "init_type"} == v3.MODELS[twin]
        assert options["init_type"] == "kaiming"
        assert f"{compute.cost(options)['macs'] / 1e9:.3f} G" in rows[label]
    assert 'init_weights(net, "kaiming")' in PROTOCOL and "the generator only" in PROTOCOL


def test_the_comparisons_are_the_protocols():
    primary = PROTOCOL.split("Primary (SSIM")[1].split("Secondary:")[0]
    assert re.findall(r"`([^`]+)` - `([^`]+)`", primary) == list(v4.COMPARISONS)
    secondary = PROTOCOL.split("Secondary: ")[1].split("every comparison")[0]
    assert re.findall(r"`([^`]+)`\s+-\s+`([^`]+)`", secondary) == list(v4.SECONDARY_COMPARISONS)
    read = {b for _, b in v4.COMPARISONS + v4.SECONDARY_COMPARISONS if b in v3.MODELS}
    assert read == set(v4.V4.reads) and all(folder == v3.RESULTS / "quality_v3" / "roadscene"
                                           for folder in v4.V4.reads.values())


def test_the_generator_is_kaiming_initialised_and_the_discriminator_is_version_3s():
    setup = v3.settings(quick=True, version=v4.V4)
    for label in ("released narrow", "unet matched norm none"):
        alive = make_step(v4.MODELS[f"{label} kaiming"], setup, 0, torch.device("cpu"))
        normal = make_step(v3.MODELS[label], setup, 0, torch.device("cpu"))
        first = lambda net: next(p for p in net.parameters() if p.ndim == 4).detach()  # noqa: E731
        fan_in = first(alive.G)[0].numel()
        assert float(first(alive.G).std()) == pytest.approx((2 / fan_in) ** 0.5, rel=0.2)   # kaiming_normal_, fan_in
        assert float(first(normal.G).std()) == pytest.approx(0.02, rel=0.2)
        assert float(first(alive.D).std()) == pytest.approx(0.02, rel=0.2)                  # D: N(0, 0.02) in both


def test_the_order_is_seed_by_seed_over_version_3s_number_of_seeds_and_no_10g_model():
    args = v3.parse_args([], v4.V4)
    order, decisions = v3.plan(args, v4.V4)
    assert decisions["seeds"] == v3.seeds_needed()[0] and "released_ahead" not in decisions
    assert order[:len(v4.PRIMARY)] == [(label, 0) for label in v4.PRIMARY]
    assert len(order) == decisions["seeds"] * len(v4.PRIMARY)
    with pytest.raises(SystemExit):      # version 3's early start is not this version's
        v3.parse_args(["--before_rerun"], v4.V4)


def test_the_summary_compares_with_version_3s_records_of_the_twins(tmp_path):
    ours, theirs = tmp_path / "v4", tmp_path / "v3"
    for folder, label, score in ((ours, "released narrow kaiming", 0.45), (ours, "fusion paper kaiming", 0.40),
                                 (theirs, "released narrow", 0.54), (theirs, "fusion paper", 0.39),
                                 (theirs, "paper average", 0.38)):
        folder.mkdir(exist_ok=True)
        for seed in range(2):
            r = dict(record(label, seed, [(score, score)] * 3, [(score, score)] * 3), seconds=1.0)
            (folder / f"{label.replace(' ', '_')}_seed{seed}.json").write_text(json.dumps(r))
    version = v3.Version("t", v4.PROTOCOL, v4.MODELS, v4.PRIMARY, comparisons=v4.COMPARISONS,
                         baseline="fusion paper kaiming", reads={"released narrow": theirs, "fusion paper": theirs})
    read = v3.read_runs(version)
    assert sorted(read) == ["fusion paper/seed0", "fusion paper/seed1", "released narrow/seed0",
                            "released narrow/seed1"]                               # paper average is not read
    report = v3.write_summary(tmp_path / "s.json", v3.load_records(ours), {}, [], version, read)
    comparisons = report["summary"]["comparisons"]
    assert comparisons["released narrow kaiming - released narrow"]["generate/ssim"]["mean"] == pytest.approx(-0.09)
    assert comparisons["fusion paper kaiming - fusion paper"]["generate/ssim"]["mean"] == pytest.approx(0.01)
    assert report["runs"] == ["fusion paper kaiming/seed0", "fusion paper kaiming/seed1",
                              "released narrow kaiming/seed0", "released narrow kaiming/seed1"]
    assert report["read_runs"] == sorted(read)


@pytest.mark.slow
@pytest.mark.end_to_end(reason="the study driver as it is run, `python -m benchmarks.quality.v4 --quick`")
def test_the_driver_runs_quick(tmp_path):
    """One run of `python -m benchmarks.quality.v4 --quick` (version 3's driver test covers the rest of the driver):
    the record is this version's and its generator was kaiming-initialised."""
    argv, env = quick_driver("v4", tmp_path)
    run = subprocess.run(argv + ["--max_runs", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "initialize network with kaiming" in run.stdout
    records = sorted((tmp_path / "records").glob("*.json"))
    assert [p.name for p in records] == ["fusion_paper_kaiming_seed0.json"]
    r = json.loads(records[0].read_text())
    assert r["protocol"] == v4.PROTOCOL and r["options"]["init_type"] == "kaiming"
    summary = json.loads((tmp_path / "records_summary.json").read_text())
    assert summary["protocol"] == v4.PROTOCOL and summary["runs"] == ["fusion paper kaiming/seed0"]
    assert summary["read_runs"] == [] and summary["planned_runs"] == 2   # quick reads no other version
