"""FID and KID of two sets of Inception features (`mrff_plugin.inception`): how far apart the sets lie.

* FID, the Frechet Inception Distance (Heusel et al. 2017): the Frechet distance of two Gaussians
  fitted to the features, ||mu_f - mu_r||^2 + Tr(S_f + S_r - 2 (S_f S_r)^(1/2)), S the covariances
  (sample, ddof 1).  Tr (S_f S_r)^(1/2) is the sum of the square roots of the eigenvalues of
  S_f^(1/2) S_r S_f^(1/2), a symmetric positive semi-definite matrix (same eigenvalues as S_f S_r),
  so two symmetric eigendecompositions in float64 give it without a complex matrix square root.
  With fewer images than features (N < D) the same trace is the sum of the singular values of the
  small matrix F_c R_c^T / sqrt((N_f - 1)(N_r - 1)), F_c and R_c the centred features (the non-zero
  eigenvalues of S_f S_r are those of that matrix times its transpose), which is what is computed then.
  FID is biased: its expected value falls as N grows and differs between set sizes (Binkowski et
  al. 2018, Chong & Forsyth 2020); below 2048 images the 2048x2048 covariances are not even of
  full rank.  Figures from sets of different sizes are not comparable.
* KID, the Kernel Inception Distance (Binkowski et al. 2018): the unbiased estimate of the squared
  maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, d = 2048,
  over random subsets of m fakes and m reals (drawn without replacement), reported as the mean and
  the standard deviation (population) over the subsets.  Its estimate is unbiased at any m, so it is
  the figure to read for small sets.  m = min(1000, N // 2) (1000 as Binkowski et al.; at most half
  the set so that subsets differ and the std says something), at least 2.
"""
import numpy as np
import torch

KID_SUBSETS = 100          # subsets averaged (Binkowski et al. 2018; torch-fidelity and torchmetrics defaults)
KID_SUBSET_SIZE = 1000     # the most images per subset (the same sources)
KID_DEGREE, KID_COEF = 3, 1.0   # k(x, y) = (x.y / d + KID_COEF) ** KID_DEGREE
KID_SEED = 0               # subsets are drawn from this seed: the same folders give the same figure
GRAM_LIMIT = 5000          # up to this many images per set the kernel matrices are made once for all subsets
MIN_IMAGES = 2             # a covariance and an unbiased MMD need two images per set
BIAS_N = 2048              # below this many images FID's bias is large (its covariances are not of full rank)


def _as_float64(features):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < MIN_IMAGES:
        raise ValueError(f"expected features of shape (N >= {MIN_IMAGES}, D), got {features.shape}")
    return features


def gaussian(features):
    """Mean (D,) and sample covariance (D, D) of (N, D) features, float64."""
    features = _as_float64(features)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu_1, sigma_1, mu_2, sigma_2):
    """FID of two Gaussians (module docstring), a float >= 0 up to rounding."""
    root_1 = _psd_sqrt(sigma_1)
    inner = root_1 @ sigma_2 @ root_1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    diff = mu_1 - mu_2
    return float(diff @ diff + np.trace(sigma_1) + np.trace(sigma_2) - 2.0 * trace_root)


def fid(fake_features, real_features):
    """FID of two (N, D) feature sets (module docstring: the D x D route, or the N x N one when N < D)."""
    fake, real = _as_float64(fake_features), _as_float64(real_features)
    if min(len(fake), len(real)) >= fake.shape[1]:
        return frechet_distance(*gaussian(fake), *gaussian(real))
    fake_c, real_c = fake - fake.mean(axis=0), real - real.mean(axis=0)
    scale = 1.0 / np.sqrt((len(fake) - 1) * (len(real) - 1))
    trace_root = np.linalg.svd(fake_c @ real_c.T * scale, compute_uv=False).sum()
    diff = fake.mean(axis=0) - real.mean(axis=0)
    traces = (fake_c * fake_c).sum() / (len(fake) - 1) + (real_c * real_c).sum() / (len(real) - 1)
    return float(diff @ diff + traces - 2.0 * trace_root)


def kid_subset_size(n_fake, n_real):
    """m: images per KID subset for sets of these sizes (module docstring)."""
    return max(MIN_IMAGES, min(KID_SUBSET_SIZE, min(n_fake, n_real) // 2))


def _kernel(a, b):
    return (a @ b.T / a.shape[1] + KID_COEF) ** KID_DEGREE


def _unbiased_mmd2(k_ff, k_rr, k_fr):
    m = k_ff.shape[0]
    within = (k_ff.sum() - k_ff.diagonal().sum() + k_rr.sum() - k_rr.diagonal().sum()) / (m * (m - 1))
    return within - 2.0 * k_fr.sum() / (m * m)


def kid(fake_features, real_features, subsets=KID_SUBSETS, subset_size=None, seed=KID_SEED):
    """KID of two (N, D) feature sets: (mean, std) over `subsets` random subsets (module docstring).

    Subsets are drawn as torchmetrics' KernelInceptionDistance draws them (per subset a permutation
    of the reals, then one of the fakes, from a torch generator seeded with `seed`), so the two agree.
    """
    fake = torch.from_numpy(_as_float64(fake_features))
    real = torch.from_numpy(_as_float64(real_features))
    m = subset_size or kid_subset_size(len(fake), len(real))
    if m > min(len(fake), len(real)):
        raise ValueError(f"KID subsets of {m} images need at least {m} images per set")
    whole = max(len(fake), len(real)) <= GRAM_LIMIT
    if whole:
        k_ff, k_rr, k_fr = _kernel(fake, fake), _kernel(real, real), _kernel(fake, real)
    generator = torch.Generator().manual_seed(seed)
    scores = []
    for _ in range(subsets):
        r = torch.randperm(len(real), generator=generator)[:m]
        f = torch.randperm(len(fake), generator=generator)[:m]
        if whole:
            scores.append(_unbiased_mmd2(k_ff[f][:, f], k_rr[r][:, r], k_fr[f][:, r]))
        else:
            scores.append(_unbiased_mmd2(_kernel(fake[f], fake[f]), _kernel(real[r], real[r]),
                                         _kernel(fake[f], real[r])))
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False))
