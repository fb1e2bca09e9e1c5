"""The project's own feature network: a small CNN that sorts emoji into their Unicode groups.

FID, KID and path length (`instrument/train/quality.py`) need a feature space. Inception-v3 weights are not
reachable from here, so we train one: a classifier of the emoji corpus's nine Unicode emoji groups, whose
penultimate layer (global average pool of the last conv stage, `FEATURE_DIM` = 256) is the feature space.

    net = load_feature_net()                               # instrument/train/weights/emoji_features.safetensors
    feats = embed(net, images)                             # uint8 [N, H, W, 3] -> float64 [N, 256]

Images of any power-of-two size >= 32 are box-downsampled to the net's input size (`INPUT_RES`, 64²) first,
so real corpus images and 128² generator frames pass through the same resize. Weights are safetensors only (no pickle).

Labels come from codepoints (`emoji_group`): the first matching row of `GROUP_RANGES` for the sequence's first
codepoint, with sequence rules before it (flags, keycaps, people ZWJ sequences). The ranges approximate
Unicode's emoji-test.txt grouping; docs/quality.md lists their known simplifications.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from instrument.errors import ModelError

GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
          "Activities", "Objects", "Symbols", "Flags")
S, P, A, FD, T, AC, O, SY, FL = range(len(GROUPS))
FORMAT = "instrument.emoji_features"
INPUT_RES = 64  # 32² trains ~4x faster for 1.6 points less held-out accuracy (docs/quality.md)
WIDTHS = (32, 64, 128, 256)  # channels of the four conv stages (64², 32², 16², 8²), then 256 at 4²
FEATURE_DIM = WIDTHS[-1]
WEIGHTS_PATH = Path(__file__).parent / "weights" / "emoji_features.safetensors"

# (first codepoint, last codepoint, group): first match wins, so specific rows precede broad ones.
GROUP_RANGES = (
    (0x1F3C1, 0x1F3C1, FL), (0x1F6A9, 0x1F6A9, FL), (0x1F38C, 0x1F38C, FL), (0x1F3F3, 0x1F3F4, FL),
    (0x261D, 0x261D, P), (0x26F9, 0x26F9, P), (0x270A, 0x270D, P), (0x1F385, 0x1F385, P), (0x1F3C2, 0x1F3C4, P),
    (0x1F3C7, 0x1F3C7, P), (0x1F3CA, 0x1F3CC, P), (0x1F440, 0x1F450, P), (0x1F463, 0x1F478, P),
    (0x1F47C, 0x1F47C, P), (0x1F481, 0x1F483, P), (0x1F485, 0x1F487, P), (0x1F48F, 0x1F491, P),
    (0x1F4AA, 0x1F4AA, P), (0x1F574, 0x1F575, P), (0x1F57A, 0x1F57A, P), (0x1F590, 0x1F596, P),
    (0x1F5E3, 0x1F5E3, P), (0x1F645, 0x1F647, P), (0x1F64B, 0x1F64F, P), (0x1F6A3, 0x1F6A3, P),
    (0x1F6B4, 0x1F6B6, P), (0x1F6C0, 0x1F6C0, P), (0x1F6CC, 0x1F6CC, P), (0x1F90C, 0x1F90C, P),
    (0x1F90F, 0x1F90F, P), (0x1F918, 0x1F91F, P), (0x1F926, 0x1F926, P), (0x1F930, 0x1F93E, P),
    (0x1F977, 0x1F977, P), (0x1F9B0, 0x1F9B9, P), (0x1F9BB, 0x1F9BF, P), (0x1F9CD, 0x1F9CF, P),
    (0x1F9D1, 0x1F9DF, P), (0x1F9E0, 0x1F9E0, P), (0x1FAC0, 0x1FAC5, P), (0x1FAE6, 0x1FAE6, P),
    (0x1FAF0, 0x1FAF8, P),
    (0x263A, 0x263A, S), (0x2639, 0x2639, S), (0x2620, 0x2620, S), (0x2763, 0x2764, S), (0x1F479, 0x1F480, S),
    (0x1F48B, 0x1F48C, S), (0x1F493, 0x1F49F, S), (0x1F4A2, 0x1F4A2, S), (0x1F4A4, 0x1F4A6, S),
    (0x1F4A8, 0x1F4A9, S), (0x1F4AB, 0x1F4AD, S), (0x1F4AF, 0x1F4AF, S), (0x1F573, 0x1F573, S),
    (0x1F5A4, 0x1F5A4, S), (0x1F5E8, 0x1F5E8, S), (0x1F5EF, 0x1F5EF, S), (0x1F600, 0x1F64F, S),
    (0x1F90D, 0x1F917, S), (0x1F920, 0x1F92F, S), (0x1F970, 0x1F97A, S), (0x1F9D0, 0x1F9D0, S),
    (0x1F9E1, 0x1F9E1, S), (0x1FA75, 0x1FA77, S), (0x1FAE0, 0x1FAEF, S),
    (0x1F32D, 0x1F330, FD), (0x1F345, 0x1F37F, FD), (0x1F942, 0x1F944, FD), (0x1F950, 0x1F96F, FD),
    (0x1F9C0, 0x1F9CB, FD), (0x1FAD0, 0x1FADF, FD), (0x2615, 0x2615, FD),
    (0x1F400, 0x1F43F, A), (0x1F980, 0x1F9AF, A), (0x1F331, 0x1F344, A), (0x1F490, 0x1F490, A),
    (0x1F4AE, 0x1F4AE, A), (0x1F54A, 0x1F54A, A), (0x1F577, 0x1F578, A), (0x1F940, 0x1F940, A),
    (0x1FAB0, 0x1FABF, A), (0x1FACE, 0x1FACF, A), (0x2618, 0x2618, A),
    (0x1F004, 0x1F004, AC), (0x1F0CF, 0x1F0CF, AC), (0x1F380, 0x1F397, AC), (0x1F39F, 0x1F3A3, AC),
    (0x1F3A5, 0x1F3A6, AC), (0x1F3A8, 0x1F3B4, AC), (0x1F3BD, 0x1F3CC, AC), (0x1F3CF, 0x1F3D3, AC),
    (0x1F3F8, 0x1F3F8, AC),
    (0x1F52E, 0x1F52E, AC), (0x1F579, 0x1F579, AC), (0x1F5BC, 0x1F5BC, AC), (0x1F93F, 0x1F93F, AC),
    (0x1F945, 0x1F94F, AC), (0x1F9E7, 0x1F9E9, AC), (0x1F9F5, 0x1F9F6, AC), (0x1F9F8, 0x1F9F8, AC),
    (0x1F9FF, 0x1F9FF, AC), (0x1FA80, 0x1FA86, AC), (0x1FA88, 0x1FA8F, AC), (0x1FAA9, 0x1FAA9, AC),
    (0x2660, 0x2667, AC), (0x265F, 0x265F, AC), (0x26BD, 0x26BE, AC), (0x26F3, 0x26F3, AC),
    (0x26F8, 0x26F8, AC), (0x2728, 0x2728, AC),
    (0x1F300, 0x1F32C, T), (0x1F3D4, 0x1F3F0, T), (0x1F3CD, 0x1F3CE, T), (0x1F488, 0x1F488, T),
    (0x1F4A7, 0x1F4A7, T), (0x1F525, 0x1F525, T), (0x1F550, 0x1F567, T), (0x1F5FA, 0x1F5FF, T),
    (0x1F680, 0x1F6A2, T), (0x1F6A4, 0x1F6A8, T), (0x1F6D1, 0x1F6D1, T), (0x1F6D5, 0x1F6FF, T),
    (0x1F9ED, 0x1F9ED, T), (0x1F9F1, 0x1F9F1, T), (0x1FAA8, 0x1FAA8, T), (0x2600, 0x2604, T),
    (0x2614, 0x2614, T), (0x26A1, 0x26A1, T), (0x26C4, 0x26C8, T), (0x26E9, 0x26FD, T), (0x2708, 0x2708, T),
    (0x2744, 0x2744, T), (0x231A, 0x231B, T), (0x23F0, 0x23F3, T), (0x2B50, 0x2B50, T),
    (0x1F451, 0x1F462, O), (0x1F484, 0x1F484, O), (0x1F489, 0x1F48A, O), (0x1F48D, 0x1F48E, O),
    (0x1F4A1, 0x1F4A1, O), (0x1F4A3, 0x1F4A3, O), (0x1F4B0, 0x1F4B0, O), (0x1F4B3, 0x1F4F2, O),
    (0x1F4F7, 0x1F4FF, O), (0x1F50A, 0x1F517, O), (0x1F526, 0x1F52D, O), (0x1F56F, 0x1F570, O),
    (0x1F576, 0x1F576, O), (0x1F587, 0x1F5E1, O), (0x1F5F3, 0x1F5F3, O), (0x1F399, 0x1F39E, O),
    (0x1F3A4, 0x1F3A4, O), (0x1F3A7, 0x1F3A7, O), (0x1F3B5, 0x1F3BC, O), (0x1F3F7, 0x1F3F7, O),
    (0x1F3F9, 0x1F3FA, O), (0x1F6AA, 0x1F6AA, O), (0x1F6AC, 0x1F6AC, O), (0x1F6BD, 0x1F6BD, O),
    (0x1F6BF, 0x1F6C1, O), (0x1F6CB, 0x1F6CF, O), (0x1F6D2, 0x1F6D2, O), (0x1F941, 0x1F941, O),
    (0x1F97B, 0x1F97F, O), (0x1F9E2, 0x1F9FF, O), (0x1FA70, 0x1FAAF, O), (0x2328, 0x2328, O),
    (0x260E, 0x260E, O), (0x2692, 0x2699, O), (0x26B0, 0x26B1, O), (0x26CF, 0x26D3, O), (0x2702, 0x2712, O),
    (0x00A9, 0x1EFFF, SY), (0x1F000, 0x1F2FF, SY), (0x1F500, 0x1F54F, SY), (0x1F680, 0x1F6FF, SY),
    (0x1F7E0, 0x1F7FF, SY),
)
DEFAULT_GROUP = O  # anything left in the 1F300-1FAFF pictographs
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
PEOPLE_BASES = (0x1F9D1, 0x1F468, 0x1F469, 0x1F467, 0x1F466)  # person, man, woman, girl, boy


def _codepoint_group(cp: int) -> int:
    for lo, hi, group in GROUP_RANGES:
        if lo <= cp <= hi:
            return group
    return DEFAULT_GROUP


def emoji_group(text: str) -> int:
    """Index into GROUPS of one emoji (a codepoint or a sequence)."""
    cps = [ord(c) for c in text]
    lo, hi = REGIONAL_INDICATORS
    if (len(cps) >= 2 and lo <= cps[0] <= hi) or any(0xE0020 <= c <= 0xE007F for c in cps):
        return FL  # country and subdivision flags
    if 0x20E3 in cps:
        return SY  # keycaps
    if 0x200D in cps and cps[0] in PEOPLE_BASES:
        return P  # professions and families
    return _codepoint_group(cps[0])  # skin tones and other ZWJ sequences follow their base


def emoji_labels(texts: list[str]) -> np.ndarray:
    return np.array([emoji_group(t) for t in texts], dtype=np.int64)


class FeatureNet(nn.Module):
    """Four stages of 3x3 conv + BN + ReLU with a 2x2 max-pool after each (64² -> 4²), one more 3x3 conv at 4²,
    global average pool (the feature, [batch, FEATURE_DIM]) -> dropout -> linear classifier over GROUPS.
    One conv per stage keeps training to minutes on a shared 2-core CPU (~70 MFLOP per 64² image)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, num_classes: int = len(GROUPS),
                 input_res: int = INPUT_RES):
        super().__init__()
        self.input_res = input_res
        layers, c_in = [], 3
        for c in list(widths) + [widths[-1]]:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            layers += [nn.MaxPool2d(2)] if len(layers) < 4 * len(widths) else []
            c_in = c
        self.widths = tuple(widths)
        self.trunk = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.3)
        self.classifier = nn.Linear(c_in, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: [batch, 3, H, W] in [-1, 1], H = W a multiple of input_res -> [batch, FEATURE_DIM]."""
        if x.shape[-1] != self.input_res:
            x = F.adaptive_avg_pool2d(x, self.input_res)  # box filter: 128² -> 64² averages 2x2 blocks
        return self.trunk(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [batch, 3, H, W] -> logits [batch, len(GROUPS)]
        return self.classifier(self.dropout(self.features(x)))


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1]; float tensors [N, 3, H, W] pass through."""
    if isinstance(images, torch.Tensor) and images.is_floating_point():
        return images
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1


@torch.no_grad()
def embed(net: FeatureNet, images, batch: int = 256) -> np.ndarray:
    """Features of uint8 [N, H, W, 3] images (or float [N, 3, H, W] in [-1, 1]) as float64 [N, FEATURE_DIM]."""
    net.eval()
    out = [net.features(to_input(images[i:i + batch])).double() for i in range(0, len(images), batch)]
    return torch.cat(out).numpy()


def save_feature_net(net: FeatureNet, path: str | os.PathLike, info: dict) -> None:
    meta = {"format": FORMAT, "widths": json.dumps(list(net.widths)), "groups": json.dumps(GROUPS),
            "input_res": str(net.input_res),
            "info": json.dumps(info)}
    tensors = {k: v.detach().float().contiguous() for k, v in net.state_dict().items()
               if v.is_floating_point()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


def load_feature_net(path: str | os.PathLike | None = None) -> tuple[FeatureNet, dict]:
    """(net in eval mode without grads, training info) from a file written by `save_feature_net`."""
    path = Path(path or WEIGHTS_PATH)
    if not path.is_file():
        raise ModelError(f"feature network '{path}' does not exist; train it with "
                         f"'python -m instrument.train.features' (see docs/quality.md)")
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ModelError(f"'{path}' has format {meta.get('format')!r}, expected {FORMAT!r}")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    net = FeatureNet(tuple(json.loads(meta["widths"])), input_res=int(meta.get("input_res", INPUT_RES)))
    net.load_state_dict(tensors, strict=False)  # BN's num_batches_tracked (int) is not stored
    net.eval().requires_grad_(False)
    return net, json.loads(meta.get("info", "{}"))


# Training: a seeded split, light augmentation, AdamW with a cosine schedule.

def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, shift by up to 1/8 of the size (white fill), brightness/contrast jitter."""
    n, _, h, _ = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = h // 8
    padded = F.pad(x, (pad, pad, pad, pad), value=1.0)
    dx, dy = torch.randint(0, 2 * pad + 1, (2, n), generator=gen)
    x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + h] for i in range(n)])
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=gen)
    bright = 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    return ((x - mean) * contrast + mean + bright).clamp(-1, 1)


def split(n: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    k = int(round(n * held_out))
    return np.sort(order[k:]), np.sort(order[:k])


@torch.no_grad()
def accuracy(net: FeatureNet, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, balanced accuracy = mean per-class recall over the classes present)."""
    net.eval()
    pred = torch.cat([net(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])
    recalls = [(pred[y == c] == c).float().mean().item() for c in range(len(GROUPS)) if (y == c).any()]
    return (pred == y).float().mean().item(), float(np.mean(recalls))


def train(x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, batch: int = 64, lr: float = 3e-3,
          log=print) -> FeatureNet:
    """Train a FeatureNet on x [N, 3, INPUT_RES, INPUT_RES] in [-1, 1], labels y [N]; class-balanced loss."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = FeatureNet(input_res=x.shape[-1])
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    counts = torch.bincount(y, minlength=len(GROUPS)).float().clamp(min=1)
    weight = (counts.sum() / counts) ** 0.5
    for epoch in range(epochs):
        net.train()
        t0, total = time.perf_counter(), 0.0
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            loss = F.cross_entropy(net(augment(x[idx], gen)), y[idx], weight=weight / weight.mean(),
                                   label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f} ({time.perf_counter() - t0:.1f} s)")
    return net.eval()


def main_features(argv: list[str] | None = None) -> int:
    """python -m instrument.train.features [--epochs N] [--seed N] [--input-res 32|64|128] [--cache DIR] [-o PATH]"""
    import argparse
    from instrument.train.emoji import EmojiFont, build_dataset, emoji_list
    ap = argparse.ArgumentParser(prog="instrument train features", description=main_features.__doc__)
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-res", type=int, default=INPUT_RES, choices=(32, 64, 128))
    ap.add_argument("--held-out", type=float, default=0.15, help="fraction kept for the accuracy (0.15)")
    ap.add_argument("--cache", default="runs/cache", help="where the corpus .npz is cached")
    ap.add_argument("-o", "--out", default=str(WEIGHTS_PATH))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    images = build_dataset(args.cache, 128)
    labels = emoji_labels(emoji_list(EmojiFont()))
    if len(labels) != len(images):
        raise ModelError(f"corpus has {len(images)} images but {len(labels)} labels; delete {args.cache}")
    x = F.adaptive_avg_pool2d(to_input(images), args.input_res)
    y = torch.as_tensor(labels)
    fit, held = split(len(x), args.held_out, args.seed)
    print("groups:", {g: int((y == i).sum()) for i, g in enumerate(GROUPS)})
    net = train(x[fit], y[fit], args.epochs, args.seed)
    acc, bal = accuracy(net, x[held], y[held])
    minutes = (time.perf_counter() - t0) / 60
    info = {"held_out_accuracy": round(acc, 4), "held_out_balanced_accuracy": round(bal, 4), "seed": args.seed,
            "epochs": args.epochs, "input_res": args.input_res, "held_out": len(held), "train": len(fit),
            "minutes": round(minutes, 1),
            "command": "python -m instrument.train.features " + " ".join(argv if argv is not None else sys.argv[1:])}
    save_feature_net(net, args.out, info)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main_features())
