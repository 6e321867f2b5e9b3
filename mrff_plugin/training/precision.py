"""`--amp none|bf16|fp16`: mixed precision for training and for `mrff generate`.

One helper shared by every path that runs a network:

    amp = Precision("bf16", device)           # checks the choice once
    with amp.autocast():                      # forward passes (and losses)
        loss = ...
    amp.backward(loss); amp.step(optimizer)   # training: scaled for fp16, plain otherwise
    amp.update()                              # once per iteration, after every step

* `bf16`: `torch.autocast` to bfloat16 on CPU or CUDA.  bfloat16 has float32's
  exponent range, so gradients need no scaling.
* `fp16`: `torch.autocast` to float16, CUDA only, with a `torch.amp.GradScaler`
  (float16's range is too small for small gradients).
* `none`: float32 everywhere; the context is a no-op.

Parameters and optimizer states stay float32 in every mode (autocast casts
per operation), so checkpoints are the same whatever `--amp` was.
"""
import contextlib

import torch

from ..errors import MrffError

AMP_MODES = ("none", "bf16", "fp16")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class PrecisionError(MrffError, ValueError):
    """An `--amp` choice this device cannot run."""


class Precision:
    """Autocast context and (for fp16) gradient scaling for one `--amp` mode on one device."""

    def __init__(self, amp="none", device="cpu"):
        device = torch.device(device)
        if amp not in AMP_MODES:
            raise PrecisionError(f"--amp {amp} is not one of {' | '.join(AMP_MODES)}.")
        if amp == "fp16" and device.type != "cuda":
            raise PrecisionError("--amp fp16 needs a CUDA device (CPU float16 is slow and unscaled); "
                                 "use --amp bf16 on CPU.")
        self.amp = amp
        self.device = device
        self.dtype = AMP_DTYPES.get(amp, torch.float32)
        self.scaler = torch.amp.GradScaler(device.type) if amp == "fp16" else None

    def autocast(self):
        """Context manager: run the enclosed operations in `self.dtype` where autocast allows."""
        if self.amp == "none":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, loss):
        """loss.backward(), scaled first under fp16."""
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def step(self, optimizer):
        """optimizer.step(), through the scaler under fp16 (skipped when gradients overflowed)."""
        if self.scaler:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def update(self):
        """End of an iteration: let the fp16 scaler adapt its scale (no-op otherwise)."""
        if self.scaler:
            self.scaler.update()

    def __repr__(self):
        return f"Precision({self.amp!r}, {str(self.device)!r})"
