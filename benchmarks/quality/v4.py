"""Quality study, version 4: is the released design's failure its initialisation?

    python -m benchmarks.quality.v4                   # resumable -> results/quality_v4/roadscene/*.json + summary
    python -m benchmarks.quality.v4 --only "released narrow kaiming" --seed 0   # a share of the runs
    python -m benchmarks.quality.v4 --summary_only    # train nothing: the summary from the run records
    python -m benchmarks.quality.v4 --quick           # the machinery in seconds (4 iterations, 2 images)

The protocol is benchmarks/protocols/quality_v4.md (PROTOCOL), committed before the first run: version 3's data,
schedule, scoring, analysis and driver (quality/v3.py), with five of its models' generators initialised by the
host's `init_weights(net, "kaiming")`, compared with each other and with version 3's records of the same models
under pix2pix's N(0, 0.02) (read from results/quality_v3/roadscene/, never rerun).  tests/test_quality_v4.py
checks these constants against the protocol.
"""
from benchmarks.common import RESULTS
from benchmarks.quality import v3

PROTOCOL = "benchmarks/protocols/quality_v4.md"
INIT = "kaiming"          # the host's init_weights(net, "kaiming"), the generator only
TWINS = ("fusion paper", "released narrow", "fusion paper norm none", "unet matched", "unet matched norm none")


def kaiming(label):
    return f"{label} {INIT}"


MODELS = {kaiming(label): dict(v3.MODELS[label], init_type=INIT) for label in TWINS}
PRIMARY = tuple(MODELS)
COMPARISONS = ((kaiming("released narrow"), kaiming("fusion paper")),
               (kaiming("fusion paper norm none"), kaiming("fusion paper")),
               (kaiming("unet matched norm none"), kaiming("unet matched")),
               (kaiming("released narrow"), "released narrow"),
               (kaiming("fusion paper"), "fusion paper"))
SECONDARY_COMPARISONS = ((kaiming("fusion paper norm none"), "fusion paper norm none"),
                         (kaiming("unet matched"), "unet matched"),
                         (kaiming("unet matched norm none"), "unet matched norm none"))
V3_RECORDS = RESULTS / "quality_v3" / "roadscene"

V4 = v3.Version("quality_v4", PROTOCOL, MODELS, PRIMARY, comparisons=COMPARISONS,
                secondary_comparisons=SECONDARY_COMPARISONS, baseline=kaiming("fusion paper"),
                reads={label: V3_RECORDS for label in TWINS},
                quick=((kaiming("fusion paper"), 0), (kaiming("released narrow"), 0)))


def main(argv=None):
    return v3.main(argv, V4, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
