"""`instrument train timbre`: train the TimbreVAE on the GM soundfont corpus or a folder of 48 kHz WAV files.

Loss (Tatar et al. 2021): MSE between normalised frames and their reconstruction (mean over bins and batch) plus
beta * KL(q(z|x) || N(0, I)) (summed over latent dims, mean over batch), beta = 5e-4; Adam with a cosine-decayed
learning rate. Every random draw (shuffle, reparameterisation noise, init) comes from seeded generators whose states
go into the checkpoint, so a resumed run continues exactly. Notes with note_id % 10 == 7 are held out and only
used to report reconstruction. The export is a `save_vae` file with the corpus's per-bin stats, the posterior
statistics of the training latents (for the visual coupling) and the quality figures in its metadata.

Checkpoint layout (out/checkpoint.safetensors, never a pickle):
    tensors   "model.<name>" state_dict, "opt.<i>.<key>" Adam state, "rng.torch" torch.Generator state (uint8)
    metadata  "format": "instrument.train.timbre", "state": json of epoch, options, history, param_groups
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from instrument.audio.corpus import CorpusConfig, holdout_mask, load_corpus, wav_folder_frames
from instrument.audio.spectral import SpectralConfig
from instrument.audio.vae import TimbreVAE, VAEConfig, save_vae
from instrument.errors import InstrumentError
from instrument.models.loader import pick_device

FORMAT = "instrument.train.timbre"
CHECKPOINT_NAME = "checkpoint.safetensors"
EXPORT_NAME = "timbre.safetensors"
ARCH_KEYS = ("latent", "hidden")  # options a resumed run must share with its checkpoint


class TimbreTrainError(InstrumentError):
    """Bad options or data for `instrument train timbre`."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="instrument train timbre", description=__doc__.splitlines()[0])
    p.add_argument("--data", default="soundfont", help="'soundfont' (FluidR3_GM corpus) or a folder of 48 kHz WAVs")
    p.add_argument("--latent", type=int, default=16, help="latent dimensions (default 16)")
    p.add_argument("--hidden", default="512,256", help="encoder widths, comma separated (decoder mirrors)")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training frames (default 20)")
    p.add_argument("--batch", type=int, default=512, help="frames per minibatch")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine-decayed to 5%%)")
    p.add_argument("--beta", type=float, default=5e-4, help="KL weight beta")
    p.add_argument("--notes-per-program", type=int, default=8, help="soundfont corpus size: notes per GM program")
    p.add_argument("--cache", default=None, help="corpus cache folder (default ~/.cache/instrument/timbre)")
    p.add_argument("--out", default="runs/timbre", help="run folder for the checkpoint and the export")
    p.add_argument("--resume", default=None, help="checkpoint file (or run folder) to continue")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    args = p.parse_args(argv)
    _check_args(args)
    return args


def _check_args(args: argparse.Namespace) -> None:
    checks = [(args.latent >= 1, f"--latent must be >= 1, got {args.latent}"),
              (args.epochs >= 1, f"--epochs must be >= 1, got {args.epochs}"),
              (args.batch >= 2, f"--batch must be >= 2, got {args.batch}"),
              (args.lr > 0 and args.beta >= 0, f"--lr must be > 0 and --beta >= 0, got {args.lr}, {args.beta}"),
              (args.notes_per_program >= 1, f"--notes-per-program must be >= 1, got {args.notes_per_program}")]
    for ok, msg in checks:
        if not ok:
            raise TimbreTrainError(msg)
    try:
        args.hidden_widths = tuple(int(h) for h in args.hidden.split(","))
    except ValueError:
        raise TimbreTrainError(f"--hidden must be comma-separated integers like 512,256, got {args.hidden!r}") from None


# Data
def load_frames(args: argparse.Namespace) -> tuple[dict[str, np.ndarray], dict]:
    """(corpus dict, JSON description of where it came from)."""
    if args.data == "soundfont":
        config = CorpusConfig(notes_per_program=args.notes_per_program, seed=args.seed)
        return load_corpus(config, args.cache), {"source": "FluidR3_GM soundfont", **dataclasses.asdict(config)}
    if not Path(args.data).is_dir():
        raise TimbreTrainError(f"--data '{args.data}' is neither 'soundfont' nor a folder of WAV files")
    return wav_folder_frames(args.data), {"source": str(Path(args.data).resolve())}


def split(corpus: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(train float32 [n, bins], held-out float32 [m, bins]); everything trains when nothing is held out."""
    held = holdout_mask(corpus["note_id"])
    frames = corpus["logmag"]
    if held.all() or not held.any():
        return frames.astype(np.float32), frames[:0].astype(np.float32)
    return frames[~held].astype(np.float32), frames[held].astype(np.float32)


def bin_stats(frames: np.ndarray, floor_log: float) -> dict[str, np.ndarray]:
    """Per-bin mean/std of the floor-clamped log-magnitudes [bins]."""
    clamped = np.maximum(frames, floor_log)
    return {"bin_mean": clamped.mean(axis=0), "bin_std": np.maximum(clamped.std(axis=0), 1e-3)}


# Loss and epochs
def vae_loss(model: TimbreVAE, x: torch.Tensor, beta: float, generator: torch.Generator | None):
    """(total, mse, kl) for a batch of normalised frames [n, bins]."""
    recon, mu, logvar = model(x, generator)
    mse = torch.mean((recon - x) ** 2)
    kl = torch.mean(-0.5 * torch.sum(1.0 + logvar - mu**2 - torch.exp(logvar), dim=1))
    return mse + beta * kl, mse, kl


def run_epoch(model, opt, train: torch.Tensor, args, gen: torch.Generator, lr: float) -> dict[str, float]:
    """One shuffled pass; returns mean loss, mse, kl and frames/s."""
    for group in opt.param_groups:
        group["lr"] = lr
    model.train()
    order = torch.randperm(len(train), generator=gen).to(train.device)
    sums, batches, start = np.zeros(3), 0, time.perf_counter()
    for i in range(0, len(train) - args.batch + 1 if len(train) >= args.batch else 1, args.batch):
        x = model.normalise(train[order[i:i + args.batch]])
        loss, mse, kl = vae_loss(model, x, args.beta, gen if train.device.type == "cpu" else None)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums += [loss.item(), mse.item(), kl.item()]
        batches += 1
    seconds = time.perf_counter() - start
    loss, mse, kl = sums / max(batches, 1)
    return {"loss": loss, "mse": mse, "kl": kl, "frames_per_s": batches * args.batch / max(seconds, 1e-9)}


@torch.inference_mode()
def held_out_mse(model: TimbreVAE, held: torch.Tensor) -> float:
    """Reconstruction MSE of posterior means on held-out frames (normalised units); nan when none."""
    if len(held) == 0:
        return float("nan")
    model.eval()
    total = 0.0
    for i in range(0, len(held), 8192):
        x = model.normalise(held[i:i + 8192])
        total += float(torch.sum((model.decoder(model.posterior(x)[0]) - x) ** 2))
    return total / held.numel()


def cosine_lr(args, epoch: int) -> float:
    return args.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * epoch / args.epochs)))


# Checkpoints
def save_checkpoint(path: Path, model, opt, gen: torch.Generator, state: dict) -> None:
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    for index, st in opt.state_dict()["state"].items():
        tensors.update({f"opt.{index}.{k}": torch.as_tensor(v).detach().cpu().clone() for k, v in st.items()})
    tensors["rng.torch"] = gen.get_state()
    state = dict(state, param_groups=opt.state_dict()["param_groups"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "state": json.dumps(state)})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, model, opt, gen: torch.Generator, args) -> dict:
    """Restore model, Adam and RNG from a checkpoint; returns its state dict (epoch, history...)."""
    from safetensors import safe_open

    path = Path(path) / CHECKPOINT_NAME if Path(path).is_dir() else Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta, tensors = f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own types; missing files too
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise TimbreTrainError(f"checkpoint '{path}' is not a readable safetensors file ({first})") from None
    if meta.get("format") != FORMAT:
        raise TimbreTrainError(f"checkpoint '{path}' has format {meta.get('format')!r}, expected {FORMAT!r}")
    state = json.loads(meta["state"])
    for key in ARCH_KEYS:
        if state["options"][key] != getattr(args, key):
            raise TimbreTrainError(f"checkpoint '{path}' has --{key} {state['options'][key]}, this run "
                                   f"{getattr(args, key)}; pass the same value to resume")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    per_param: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, field = key.split(".", 2)
            per_param.setdefault(int(index), {})[field] = value
    opt.load_state_dict({"state": per_param, "param_groups": state.pop("param_groups")})
    gen.set_state(tensors["rng.torch"])
    return state


# Export
@torch.inference_mode()
def latent_stats(model: TimbreVAE, train: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean/std of the posterior means over the training frames: the range the visual coupling maps into."""
    model.eval()
    mus = torch.cat([model.posterior(model.normalise(train[i:i + 8192]))[0] for i in range(0, len(train), 8192)])
    return {"latent_mean": mus.mean(0).cpu().numpy(), "latent_std": mus.std(0).clamp_min(1e-6).cpu().numpy()}


def export(model, train: torch.Tensor, path: Path, metadata: dict) -> None:
    model.set_stats(latent_stats(model, train))
    save_vae(path, model, model.spectral, None, metadata)


# Main
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup(args) -> tuple:
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    device = pick_device(args.device, ("cpu", "cuda"))
    corpus, source = load_frames(args)
    train_np, held_np = split(corpus)
    if len(train_np) < 2:
        raise TimbreTrainError(f"--data '{args.data}' gave {len(train_np)} frames; need at least 2")
    model = TimbreVAE(VAEConfig(513, args.hidden_widths, args.latent), SpectralConfig())
    model.set_stats(bin_stats(train_np, model.config.floor_log))
    model.to(device)
    train = torch.from_numpy(train_np).to(device)
    held = torch.from_numpy(held_np).to(device)
    return device, source, model, train, held


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except InstrumentError as e:
        log(f"error: {e}")
        return 2


def _main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.hidden = list(args.hidden_widths)
    device, source, model, train, held = setup(args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    out = Path(args.out)
    state = {"epoch": 0, "history": [], "train_s": 0.0}
    if args.resume:
        state = load_checkpoint(args.resume, model, opt, gen, args)
        log(f"resumed from '{args.resume}' at epoch {state['epoch']}")
    log(f"timbre VAE: {len(train)} training frames, {len(held)} held-out, latent {args.latent}, device {device}")
    for epoch in range(state["epoch"], args.epochs):
        stats = run_epoch(model, opt, train, args, gen, cosine_lr(args, epoch))
        stats["held_mse"] = held_out_mse(model, held)
        state["train_s"] += len(train) / stats["frames_per_s"]
        state["epoch"] = epoch + 1
        state["history"].append({k: round(v, 6) for k, v in stats.items()})
        state["options"] = {k: getattr(args, k) for k in ("latent", "hidden", "beta", "batch", "lr", "seed")}
        save_checkpoint(out / CHECKPOINT_NAME, model, opt, gen, state)
        log(f"epoch {epoch + 1}/{args.epochs}  loss {stats['loss']:.4f}  mse {stats['mse']:.4f}  "
            f"kl {stats['kl']:.2f}  held-out mse {stats['held_mse']:.4f}  {stats['frames_per_s']:.0f} frames/s")
    meta = {"command": "instrument train timbre " + shlex.join(argv), "corpus": source, "seed": args.seed,
            "epochs": state["epoch"], "train_s": round(state["train_s"], 1), "final": state["history"][-1],
            "device": str(device), "threads": args.threads, "beta": args.beta}
    export(model, train, out / EXPORT_NAME, meta)
    log(f"exported '{out / EXPORT_NAME}' ({os.path.getsize(out / EXPORT_NAME) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
