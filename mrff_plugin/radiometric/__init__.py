"""Radiometric LWIR: sensor counts and temperatures read, mapped to the network's range, and written back.

* `calibration` -- counts <-> kelvin: linear (e.g. centikelvin) or FLIR's Planck form (R1, R2, B, F, O);
* `reading`     -- an LWIR file as float values with its unit (16-bit counts, float kelvin, 8-bit grey);
* `flir_jpeg`   -- FLIR radiometric JPEGs through `flyr` (the `[flir]` extra);
* `lwir_range`  -- `--lwir_range LOW HIGH | auto | display`: the linear map to [-1, 1] and back;
* `writing`     -- 16-bit counts PNG/TIFF and float32 kelvin/Celsius TIFF, the map recorded in the file;
* `measure`     -- SSIM/PSNR over the declared range, MAE in counts and kelvin.

Only numpy, Pillow and tifffile are imported at module level.
"""
from ..errors import MrffError


class RadiometricError(MrffError, ValueError):
    """A radiometric file, range or calibration that cannot give physical values; one sentence."""
