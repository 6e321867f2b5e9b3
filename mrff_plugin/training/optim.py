"""Adam through PyTorch's fused kernel: the same update rule in one pass over the parameters.

The host's pix2pix builds `torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1,
0.999))`, which on CPU runs a dozen `_foreach` kernels per step, each a full pass
over all 35 M generator parameters.  `fused_adam` rebuilds such an optimizer, before
its first step, with `fused=True` (same parameter groups, same hyper-parameters, same
state-dict format, so checkpoints and resumption are unchanged).  Measured side by
side in docs/performance.md ("Training step").
"""
import torch

# Per-group switches that select the implementation, not the update rule.
_IMPLEMENTATION_KEYS = ("foreach", "fused")


def fused_adam(optimizer):
    """A fused copy of a fresh `torch.optim.Adam`; `optimizer` itself when it is another kind, has already
    stepped, or holds parameters on a device without a fused kernel."""
    if type(optimizer) is not torch.optim.Adam or optimizer.state:
        return optimizer
    groups = [{key: value for key, value in group.items() if key not in _IMPLEMENTATION_KEYS}
              for group in optimizer.param_groups]
    try:
        return torch.optim.Adam(groups, fused=True)
    except RuntimeError:  # "`fused=True` requires all the params to be floating point Tensors of supported devices"
        return optimizer
