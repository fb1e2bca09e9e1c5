"""How good is a generator: FID, KID and a path-length smoothness, in the emoji feature space.

The feature space is the penultimate layer of the project's own emoji-group classifier
(`instrument/train/features.py`), not Inception-v3, so the numbers compare our models with each other and with
the real-vs-real floor, never with published FIDs.

    FID  (Heusel et al. 2017)   |μ_r − μ_g|² + tr Σ_r + tr Σ_g − 2 tr (Σ_r Σ_g)^½
    KID  (Bińkowski et al. 2018) unbiased MMD² with k(x, y) = (x·y / d + 1)³, averaged over random subsets
    PPL  (Karras et al. 2019)    E[ d(f(G(slerp(z0, z1, t))), f(G(slerp(z0, z1, t + ε)))) / ε² ], d = squared L2

The real-vs-real floor compares two halves of the corpus: the generator is measured against half A with as many
samples as half B has images, so both rows see the same set sizes (FID's bias depends on them).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from instrument.train.features import FeatureNet, embed, load_feature_net


# Fréchet distance between Gaussian fits.

def _sym_sqrt(S: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix by eigen-decomposition (negative rounding clipped to 0)."""
    val, vec = np.linalg.eigh((S + S.T) / 2)
    return (vec * np.sqrt(np.clip(val, 0, None))) @ vec.T


def trace_sqrt_product(S1: np.ndarray, S2: np.ndarray) -> float:
    """tr (S1 S2)^½ for symmetric PSD S1, S2.

    Why symmetric: S1 S2 is not symmetric, but it is similar to S1^½ S2 S1^½, which is, so its eigenvalues
    (real, >= 0) come from a stable `eigh` instead of a general sqrtm that can return complex rounding noise.
    """
    r = _sym_sqrt(S1)
    val = np.linalg.eigvalsh(r @ S2 @ r)
    return float(np.sqrt(np.clip(val, 0, None)).sum())


def sqrtm_product(S1: np.ndarray, S2: np.ndarray) -> np.ndarray:
    """(S1 S2)^½ as a matrix, for S1 positive definite: S1^½ (S1^½ S2 S1^½)^½ S1^-½ (squares to S1 S2)."""
    val, vec = np.linalg.eigh((S1 + S1.T) / 2)
    r, r_inv = (vec * np.sqrt(val)) @ vec.T, (vec / np.sqrt(val)) @ vec.T
    return r @ _sym_sqrt(r @ S2 @ r) @ r_inv


def gaussian_fit(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [d], covariance [d, d]) of features [n, d], float64."""
    feats = np.asarray(feats, dtype=np.float64)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def fid(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two feature sets [n, d] (0 for a set with itself)."""
    (mu1, s1), (mu2, s2) = gaussian_fit(feats_a), gaussian_fit(feats_b)
    value = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2)
    return float(max(value, 0.0))


# Kernel inception distance (in our feature space).

def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of samples x [m, d], y [n, d] under the cubic polynomial kernel (x·y / d + 1)³."""
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid(feats_a: np.ndarray, feats_b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of unbiased MMD² over `subsets` random subsets of min(subset_size, n_a, n_b) from each set."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    m = min(subset_size, len(a), len(b))
    vals = [mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))


# How varied a batch of images is, in pixels (watched during training).

def spread(images: torch.Tensor) -> float:
    """Mean pixel distance between every two images [n, C, H, W] in [-1, 1] (RMS over pixels): how varied a batch
    is. Samples far less spread than the training images are a sign of mode collapse, cheap to watch in training."""
    x = images.detach().float().reshape(images.shape[0], -1)
    n = x.shape[0]
    return float(torch.cdist(x, x).sum() / (n * (n - 1)) / x.shape[1] ** 0.5) if n > 1 else 0.0


# Perceptual path length, in the feature space.

def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of rows of a, b [n, d] at t [n] (on their directions, then lerped norms)."""
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((an * bn).sum(dim=1).clamp(-1, 1))[:, None]
    so, t = torch.sin(omega), t[:, None]
    direction = (torch.sin((1 - t) * omega) * an + torch.sin(t * omega) * bn) / so
    return direction * torch.lerp(a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True), t)


@torch.no_grad()
def path_length(G: torch.nn.Module, net: FeatureNet, pairs: int = 200, epsilon: float = 1e-3, seed: int = 0,
                batch: int = 32) -> float:
    """Mean of d(f(G(slerp(z0,z1,t))), f(G(slerp(z0,z1,t+ε)))) / ε² over `pairs` random pairs, t ~ U(0, 1-ε).

    d is the squared L2 distance of features. As in StyleGAN's PPL the 1 % tails at each end are dropped
    (a few pairs across a discontinuity would otherwise dominate). ε = 1e-3, not 1e-4: G runs in float32.
    """
    gen = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(pairs, G.z_dim, generator=gen), torch.randn(pairs, G.z_dim, generator=gen)
    t = torch.rand(pairs, generator=gen) * (1 - epsilon)
    dist = []
    for i in range(0, pairs, batch):
        s = slice(i, i + batch)
        za, zb = slerp(z0[s], z1[s], t[s]), slerp(z0[s], z1[s], t[s] + epsilon)
        imgs = G(torch.cat([za, zb]), noise_mode="const").clamp(-1, 1)
        f = net.features(imgs).double()
        fa, fb = f.chunk(2)
        dist.append(((fa - fb) ** 2).sum(dim=1) / epsilon ** 2)
    d = torch.cat(dist).numpy()
    lo, hi = np.percentile(d, [1, 99])
    return float(d[(d >= lo) & (d <= hi)].mean())


# Generator samples and the full report.

@torch.no_grad()
def generate_uint8(G: torch.nn.Module, n: int, seed: int = 0, batch: int = 64, psi: float = 1.0) -> np.ndarray:
    """n images [n, H, W, 3] uint8 from z ~ N(0, I) (seeded), quantised as the renderer does."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        z = torch.randn(min(batch, n - i), G.z_dim, generator=gen)
        img = G(z, truncation_psi=psi, noise_mode="const")
        out.append((img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)


def halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two disjoint random halves of range(n)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def evaluate(G: torch.nn.Module, net: FeatureNet, reals: np.ndarray, samples: int | None = None,
             ppl_pairs: int = 200, seed: int = 0) -> dict:
    """FID/KID of G against half A of `reals`, the half-B-vs-half-A floor, and PPL."""
    a, b = halves(len(reals), seed)
    fa, fb = embed(net, reals[a]), embed(net, reals[b])
    n = samples or len(b)
    t0 = time.perf_counter()
    fg = embed(net, generate_uint8(G, n, seed))
    kid_g, kid_g_std = kid(fg, fa, seed=seed)
    kid_r, kid_r_std = kid(fb, fa, seed=seed)
    return {"samples": n, "reference_images": len(a), "floor_images": len(b),
            "fid": fid(fg, fa), "kid": kid_g, "kid_std": kid_g_std,
            "fid_floor": fid(fb, fa), "kid_floor": kid_r, "kid_floor_std": kid_r_std,
            "ppl": path_length(G, net, ppl_pairs, seed=seed), "ppl_pairs": ppl_pairs,
            "seconds": round(time.perf_counter() - t0, 1)}


def format_table(r: dict, name: str) -> str:
    rows = [f"{'':36} {'FID':>10} {'KID ×1e3':>16} {'PPL':>10}",
            f"{name[:36]:36} {r['fid']:10.3f} {1e3 * r['kid']:8.3f} ± {1e3 * r['kid_std']:5.3f} {r['ppl']:10.3g}",
            f"{'real vs real (floor)':36} {r['fid_floor']:10.3f} "
            f"{1e3 * r['kid_floor']:8.3f} ± {1e3 * r['kid_floor_std']:5.3f} {'':>10}"]
    return "\n".join(rows)


def main_quality(argv: list[str] | None = None) -> int:
    """instrument quality --model PATH|default [--samples N] [--ppl-pairs N] [--seed N] [-o JSON]"""
    from instrument.models.loader import load_model
    from instrument.train.emoji import build_dataset
    ap = argparse.ArgumentParser(prog="instrument quality", description="FID / KID / PPL in the emoji feature space")
    ap.add_argument("--model", default="default", help="generator file, or 'default' (bundled or untrained)")
    ap.add_argument("--samples", type=int, help="generated images (default: half the corpus, ~1475)")
    ap.add_argument("--ppl-pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features", help="feature network (default: instrument/train/weights/emoji_features…)")
    ap.add_argument("--cache", default="runs/cache", help="where the corpus .npz is cached")
    ap.add_argument("-o", "--out", default="quality.json", help="JSON report (quality.json)")
    args = ap.parse_args(argv)
    model = load_model(None if args.model == "default" else args.model, torch.device("cpu"))
    net, info = load_feature_net(args.features)
    report = evaluate(model.generator, net, build_dataset(args.cache, 128), args.samples, args.ppl_pairs, args.seed)
    report.update(model=model.name, model_sha256=model.sha256, features=info)
    print(format_table(report, model.name))
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_quality())
