"""Radiometric LWIR in: 16-bit PNG/TIFF counts, float temperature TIFFs, FLIR radiometric JPEGs, calibrations.

The FLIR JPEG test reads the six real CC0 files of ../shared/data/flir_radiometric and compares their
temperature ranges with those its README states (an independent reading of the same files, by `flyr`
as the README says), skipped where the folder or flyr is absent.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from mrff_plugin.radiometric import RadiometricError
from mrff_plugin.radiometric.calibration import from_record
from mrff_plugin.radiometric.calibration_source import load_calibration
from mrff_plugin.radiometric.reading import read_lwir

FLIR_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "flir_radiometric"
# file -> (min, max) degrees Celsius, thermal array shape as the README writes it ('240 x 320': 240 rows), has a
# visible photo: the data README's table
README_RANGES = {
    "01_200_deg_neutral.jpg": (31.7, 87.4, (120, 120), False),
    "03_Thermal_image_of_four_ducks_swimming.jpg": (7.2, 23.2, (120, 120), False),
    "05_Aqua_Tower_thermal_image.jpg": (-68.1, -0.2, (180, 180), True),
    "06_Aqua_Tower_thermal_imaging.jpg": (-71.9, 3.6, (180, 180), False),
    "10_IR_Fussbodenheizung.jpg": (16.7, 34.5, (240, 320), False),
    "15_Linear_load.jpg": (30.0, 89.3, (120, 120), False),
}
# The README rounds to 0.1 degC: a reading within 0.05 of its figure rounds to it; 0.1 K is the bound.
TOLERANCE_K = 0.1


def test_sixteen_bit_png_and_tiff_keep_every_count(tmp_path):
    counts = np.arange(7000, 9000, dtype=np.uint16).reshape(40, 50)
    Image.fromarray(counts).save(tmp_path / "c.png")
    tifffile.imwrite(tmp_path / "c.tiff", counts)
    tifffile.imwrite(tmp_path / "big_endian.tiff", counts.astype(">u2"), compression="zlib")
    for name in ("c.png", "c.tiff", "big_endian.tiff"):
        frame = read_lwir(tmp_path / name)
        assert (frame.unit, frame.bits) == ("counts", 16), name
        np.testing.assert_array_equal(frame.values, counts.astype(np.float32))
    kelvin = np.linspace(250.0, 330.0, 40 * 50, dtype=np.float32).reshape(40, 50)
    tifffile.imwrite(tmp_path / "k.tiff", kelvin)
    frame = read_lwir(tmp_path / "k.tiff")
    assert frame.unit == "temperature" and frame.values.dtype == np.float32
    np.testing.assert_array_equal(frame.values, kelvin)
    Image.fromarray(np.stack([counts.astype(np.uint8)] * 3, -1)).save(tmp_path / "grey_rgb.png")
    assert read_lwir(tmp_path / "grey_rgb.png").unit == "grey"


def test_bad_lwir_files_are_refused_naming_the_file(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tiff", np.zeros((8, 8, 3), np.uint16))
    with pytest.raises(RadiometricError, match=r"rgb\.tiff has 3 channels .* an LWIR frame has one"):
        read_lwir(tmp_path / "rgb.tiff")
    for bad in (np.nan, np.inf):
        values = np.full((8, 8), 300.0, np.float32)
        values[2, 3] = bad
        tifffile.imwrite(tmp_path / "holes.tiff", values)
        with pytest.raises(RadiometricError, match=r"holes\.tiff holds 1 NaN or infinite values of 64"):
            read_lwir(tmp_path / "holes.tiff")
    plain = tmp_path / "fake_flir.jpg"     # a JPEG with a FLIR APP1 segment that holds no raw record
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    segment = b"FLIR\x00" + bytes(20)
    data = plain.read_bytes()
    plain.write_bytes(data[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + data[2:])
    pytest.importorskip("flyr")
    with pytest.raises(RadiometricError, match=r"fake_flir\.jpg holds no FLIR raw thermal data"):
        read_lwir(plain)


def test_calibrations_round_trip_and_refuse_what_they_cannot_convert(tmp_path):
    planck = from_record({"kind": "planck", "R1": 14861.56, "R2": 0.032336, "B": 1395.6, "F": 1.0, "O": -992.0},
                         "cam.json")
    kelvin = np.array([250.0, 300.0, 360.0])
    np.testing.assert_allclose(planck.to_kelvin(planck.to_counts(kelvin)), kelvin, rtol=1e-12)
    # FLIR's formula by hand at one point: S = R1 / (R2 (exp(B/T) - F)) - O
    assert planck.to_counts(300.0) == pytest.approx(14861.56 / (0.032336 * (np.exp(1395.6 / 300.0) - 1)) + 992)
    linear = from_record({"kind": "linear", "kelvin_per_count": 0.01, "kelvin_at_zero": 0.0}, "ck.json")
    assert linear.to_kelvin(29315) == pytest.approx(293.15)
    (tmp_path / "missing.json").write_text(json.dumps({"kind": "planck", "R1": 1.0, "R2": 1.0, "B": 1.0, "F": 1}))
    with pytest.raises(RadiometricError, match=r"missing\.json: the planck calibration lacks O"):
        load_calibration(tmp_path / "missing.json")
    bounded = from_record({**planck.record(), "valid_kelvin": [233.15, 423.15]}, "cam.json")
    with pytest.raises(RadiometricError, match=r"frame\.png: 1 of 2 values .* outside the range of calibration "
                                               r"cam\.json"):
        bounded.to_kelvin([planck.to_counts(300.0), planck.to_counts(500.0)], "frame.png")
    with pytest.raises(RadiometricError, match="outside the range"):
        planck.to_kelvin([-5000.0])            # S + O <= 0: the Planck form has no temperature


@pytest.mark.skipif(not FLIR_DIR.is_dir(), reason=f"the shared FLIR radiometric JPEGs are absent ({FLIR_DIR})")
def test_shared_flir_jpegs_read_with_the_readme_temperature_ranges():
    pytest.importorskip("flyr", reason="the [flir] extra (flyr) is not installed")
    from mrff_plugin.radiometric.flir_jpeg import read_flir_jpeg
    for name, (low_c, high_c, shape, has_photo) in README_RANGES.items():
        flir = read_flir_jpeg(FLIR_DIR / name)
        assert flir.counts.shape == shape, name
        assert abs(flir.kelvin.min() - 273.15 - low_c) <= TOLERANCE_K, (name, flir.kelvin.min() - 273.15)
        assert abs(flir.kelvin.max() - 273.15 - high_c) <= TOLERANCE_K, (name, flir.kelvin.max() - 273.15)
        assert (flir.photo is not None) == has_photo, name
        # the counts are the raw sensor values: 14-bit-ish integers, and the file's own Planck constants give
        # temperatures that follow them (the emissivity-1 temperature rises with the count everywhere)
        assert flir.counts.min() > 1000 and flir.counts.max() < 65536 and np.all(flir.counts == np.round(flir.counts))
        apparent = flir.calibration.to_kelvin(flir.counts)
        order = np.argsort(flir.counts.ravel())
        assert np.all(np.diff(apparent.ravel()[order]) >= 0), name
        frame = read_lwir(FLIR_DIR / name)
        assert frame.unit == "counts" and frame.calibration == flir.calibration
    photo = read_flir_jpeg(FLIR_DIR / "05_Aqua_Tower_thermal_image.jpg").photo
    assert photo.shape == (480, 480, 3) and photo.dtype == np.uint8 and photo.std() > 10


def _fff_spans(data):
    """(file offset, length) of each FLIR APP1 segment's FFF bytes, in order: after the segment's 'FLIR\\0' and its
    three bytes (version, chunk number, chunk count); JPEG segments are FF xx + a big-endian length."""
    spans, at = [], 2
    while data[at] == 0xFF and data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if data[at + 1] == 0xE1 and data[at + 4:at + 9] == b"FLIR\x00":
            spans.append((at + 12, length - 10))
        at += 2 + length
    return spans


def _with_records_big_endian(source, target, kinds):
    """Write `source` to `target` with the FFF records of `kinds` stored big-endian, as such a camera writes them:
    every 16-bit word of the record swapped (the byte-order mark, the raw record's width and height, its counts)."""
    from flyr.records import extract_flir_app1, parse_flir_records
    data = bytearray(source.read_bytes())
    spans = _fff_spans(data)
    fff = bytearray(b"".join(data[at:at + n] for at, n in spans))
    with open(source, "rb") as handle:
        records = parse_flir_records(extract_flir_app1(handle))
    for kind in kinds:
        _, _, offset, length = records[kind]
        words = np.frombuffer(bytes(fff[offset:offset + length - length % 2]), "<u2")
        fff[offset:offset + len(words) * 2] = words.astype(">u2").tobytes()
    done = 0
    for at, n in spans:
        data[at:at + n] = fff[done:done + n]
        done += n
    target.write_bytes(bytes(data))
    return target


@pytest.mark.skipif(not FLIR_DIR.is_dir(), reason=f"the shared FLIR radiometric JPEGs are absent ({FLIR_DIR})")
def test_flir_records_stored_big_endian_are_refused_by_name_not_misread(tmp_path):
    """flyr 5.1.0 reads the raw and camera records little-endian whatever their byte-order mark: a big-endian raw
    record fails its shape check, a big-endian camera record gives wrong Planck constants without a word. mrff
    names the record and the way round instead; the file's own little-endian records still read."""
    pytest.importorskip("flyr", reason="the [flir] extra (flyr) is not installed")
    import flyr
    from flyr.records import extract_flir_app1, parse_flir_records
    from mrff_plugin.radiometric.flir_jpeg import big_endian_records, read_flir_jpeg

    def marks(path):
        with open(path, "rb") as handle:
            fff = extract_flir_app1(handle)
        return big_endian_records(fff, parse_flir_records(fff))
    source = FLIR_DIR / "06_Aqua_Tower_thermal_imaging.jpg"     # plain 16-bit counts, not PNG
    assert marks(source) == []
    raw = _with_records_big_endian(source, tmp_path / "raw_be.jpg", [0x01])
    camera = _with_records_big_endian(source, tmp_path / "camera_be.jpg", [0x20])
    both = _with_records_big_endian(source, tmp_path / "both_be.jpg", [0x01, 0x20])
    assert marks(raw) == ["raw thermal"] and marks(camera) == ["camera (Planck constants)"]
    # what flyr alone makes of them: the raw record's width read the wrong way round; the camera record's
    # constants misread, silently
    with pytest.raises(ValueError):
        flyr.unpack(str(raw))
    assert flyr.unpack(str(camera)).metadata["planck_r1"] != flyr.unpack(str(source)).metadata["planck_r1"]
    with pytest.raises(RadiometricError, match=r"raw_be\.jpg stores its FLIR raw thermal record big-endian, which "
                                               r"flyr 5\.1\.0 reads as little-endian .*docs/radiometric\.md"):
        read_flir_jpeg(raw)
    with pytest.raises(RadiometricError, match=r"camera_be\.jpg stores its FLIR camera \(Planck constants\) record "
                                               r"big-endian"):
        read_lwir(camera)
    with pytest.raises(RadiometricError, match=r"both_be\.jpg stores its FLIR raw thermal and camera \(Planck "
                                               r"constants\) records big-endian"):
        read_lwir(both)
