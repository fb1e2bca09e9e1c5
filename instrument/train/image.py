"""`instrument train image`: train the StyleGAN2 generator on a folder of images or the emoji corpus.

StyleGAN2 (Karras et al. 2020) as in stylegan2-ada-pytorch, written from the papers:
* non-saturating logistic loss: G minimises softplus(-D(G(z))), D minimises softplus(D(G(z))) + softplus(-D(x));
* lazy R1 on reals every `r1_interval` minibatches, weighted by the interval (gamma auto = 2e-4 * res^2 / batch),
  with Adam's lr and betas corrected by interval / (interval + 1);
* G_ema: parameter EMA with a half-life of `ema_kimg` thousand images (ramped up over the first 5% of training);
* style mixing with probability 0.9 (one random crossover layer per minibatch);
* DiffAugment (colour, translation, cutout) on real and fake images alike before D.
CUDA runs G and D under autocast (bfloat16 where supported, else float16 with a GradScaler); CPU runs float32.
Every random draw comes from one seeded `torch.Generator`, saved in the checkpoint, so a resumed run continues
bit-identically on the same device and thread count.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import math
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from instrument.errors import InstrumentError
from instrument.models.discriminator import Discriminator
from instrument.models.loader import pick_device
from instrument.models.stylegan2 import DEFAULT_CONFIG, Generator, GeneratorConfig
from instrument.models.weights import save_generator
from instrument.train import checkpoint as ckpt
from instrument.train.augment import diff_augment, parse_policy
from instrument.train.data import check_resolution, load_dataset
from instrument.train.features import to_input
from instrument.train.grow import grow_into
from instrument.train.quality import spread
from instrument.train.showcase import tile, uint8_images


@dataclass
class TrainOptions:
    """Everything that defines a run (saved in checkpoints and in the exported model's metadata)."""

    data: str = "emoji"
    resolution: int = 128
    kimg: float = 1000.0  # train until this many thousand real images have been shown to D
    out_dir: str = "runs/image"
    seed: int = 0
    batch: int = 32
    device: str = "auto"
    channel_base: int = DEFAULT_CONFIG.channel_base
    channel_max: int = DEFAULT_CONFIG.channel_max
    z_dim: int = DEFAULT_CONFIG.z_dim
    w_dim: int = DEFAULT_CONFIG.w_dim
    mapping_layers: int = DEFAULT_CONFIG.mapping_layers
    lr: float = 0.0025
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float | None = None  # None: 2e-4 * resolution^2 / batch (NVIDIA's 'auto')
    r1_interval: int = 16
    ema_kimg: float | None = None  # None: batch * 10 / 32
    ema_rampup: float | None = 0.05
    style_mixing: float = 0.9
    augment: str = "color,translation,cutout"
    mirror: bool = False
    snapshot_kimg: float = 5.0
    log_every: int = 10  # steps between progress lines
    grid: int = 6  # sample grid is grid x grid
    grow_from: str = ""  # the lower-resolution run this one started from (instrument.train.grow), if any
    grown_at_kimg: float = 0.0  # that run's kimg when this one started from it
    command: str = ""

    def generator_config(self) -> GeneratorConfig:
        return dataclasses.replace(DEFAULT_CONFIG, img_resolution=self.resolution, channel_base=self.channel_base,
                                   channel_max=self.channel_max, z_dim=self.z_dim, w_dim=self.w_dim,
                                   mapping_layers=self.mapping_layers)

    def check(self) -> None:
        check_resolution(self.resolution)
        try:
            parse_policy(self.augment)
        except ValueError as e:
            raise InstrumentError(f"--augment: {e}") from None
        pick_device(self.device, ("cpu", "cuda"))
        for name in ("batch", "lr", "snapshot_kimg", "log_every", "r1_interval", "grid"):
            if not getattr(self, name) > 0:
                raise InstrumentError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.kimg >= 0:  # 0: write the networks as they start (a grown run, say) without a step
            raise InstrumentError(f"kimg must be 0 or more, got {self.kimg}")
        if self.batch % min(4, self.batch):
            raise InstrumentError(f"batch must be a multiple of 4 (minibatch-stddev groups), got {self.batch}")


def save_grid(images: torch.Tensor, path: Path, side: int) -> None:
    """[side*side, 3, H, W] in [-1, 1] -> one PNG grid, quantised as the renderer does."""
    Image.fromarray(tile(uint8_images(images.float()), side)).save(path)


class ImageTrainer:
    """Networks, optimizers, RNG and counters of one run; `step()` is one G + D (+ R1) iteration."""

    def __init__(self, opts: TrainOptions, images: np.ndarray):
        opts.check()
        self.opts, self.images = opts, images
        self.device = pick_device(opts.device, ("cpu", "cuda"))
        self.amp_dtype = None
        if self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self._build_networks(opts.generator_config())
        self.gen = torch.Generator().manual_seed(opts.seed)  # the run's only source of randomness
        self.step_index, self.nimg = 0, 0
        self.r1_gamma = opts.r1_gamma if opts.r1_gamma is not None else 2e-4 * opts.resolution ** 2 / opts.batch
        self.policy = parse_policy(opts.augment)
        grid_gen = torch.Generator().manual_seed(opts.seed + 1)  # fixed latents for the sample grids
        self.grid_z = torch.randn([opts.grid ** 2, self.G.z_dim], generator=grid_gen)

    def _build_networks(self, cfg: GeneratorConfig) -> None:
        o = self.opts
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(o.seed)
            G = Generator(cfg)
            D = Discriminator(o.resolution, cfg.img_channels, o.channel_base, o.channel_max)
        self.G, self.D = G.train().to(self.device), D.train().to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        ratio = o.r1_interval / (o.r1_interval + 1)  # lazy regularisation: Adam sees fewer, larger steps
        self.G_opt = torch.optim.Adam(self.G.parameters(), lr=o.lr, betas=o.betas, eps=1e-8)
        self.D_opt = torch.optim.Adam(self.D.parameters(), lr=o.lr * ratio,
                                      betas=(o.betas[0] ** ratio, o.betas[1] ** ratio), eps=1e-8)
        fp16 = self.amp_dtype == torch.float16
        self.G_scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.D_scaler = torch.amp.GradScaler("cuda", enabled=fp16)

    # --- one iteration -------------------------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.amp_dtype is not None) \
            if self.device.type == "cuda" else torch.autocast("cpu", enabled=False)

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(list(shape), generator=self.gen).to(self.device)

    def reals(self) -> torch.Tensor:
        """[batch, 3, H, W] in [-1, 1], sampled with replacement (optionally mirrored)."""
        idx = torch.randint(len(self.images), [self.opts.batch], generator=self.gen).numpy()
        x = torch.from_numpy(self.images[idx]).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1
        if self.opts.mirror:
            flip = (torch.rand([self.opts.batch], generator=self.gen) < 0.5).to(self.device)
            x = torch.where(flip.reshape(-1, 1, 1, 1), x.flip(3), x)
        return x

    def run_G(self, z: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        ws = self.G.mapping(z, update_emas=update_emas)  # [batch, num_ws, w_dim]
        cutoff = int(torch.randint(1, ws.shape[1], [], generator=self.gen)) if ws.shape[1] > 1 else 1
        mix = torch.rand([], generator=self.gen).item() < self.opts.style_mixing
        z2 = self._randn(*z.shape)  # drawn every time, so the RNG stream does not depend on `mix`
        if mix and ws.shape[1] > 1:
            ws = torch.cat([ws[:, :cutoff], self.G.mapping(z2)[:, cutoff:]], dim=1)
        return self.G.synthesis(ws, noise_mode="random", noise_generator=self.gen)

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        return self.D(diff_augment(img, self.policy, self.gen) if self.policy else img)

    def _optimize(self, loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def step(self) -> dict[str, float]:
        """One minibatch: G main, D main, and every `r1_interval` steps the lazy R1 penalty. Returns losses."""
        b, stats = self.opts.batch, {}
        reals = self.reals()
        self.G.requires_grad_(True), self.D.requires_grad_(False)
        with self._autocast():
            loss_G = F.softplus(-self.run_D(self.run_G(self._randn(b, self.G.z_dim)))).mean()
        self._optimize(loss_G, self.G_opt, self.G_scaler)
        self.G.requires_grad_(False), self.D.requires_grad_(True)
        with self._autocast():
            fake = self.run_G(self._randn(b, self.G.z_dim), update_emas=True).detach()
            loss_D = F.softplus(self.run_D(fake)).mean() + F.softplus(-self.run_D(reals)).mean()
        self._optimize(loss_D, self.D_opt, self.D_scaler)
        stats.update(loss_G=loss_G.item(), loss_D=loss_D.item())
        if self.step_index % self.opts.r1_interval == 0:
            stats["r1"] = self._r1(reals)
        self.nimg += b
        self.step_index += 1
        self._update_ema()
        return stats

    def _r1(self, reals: torch.Tensor) -> float:
        """Lazy R1: gamma / 2 * E||grad_x D(x)||^2 on augmented reals, scaled by the interval; float32 always."""
        x = reals.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(self.run_D(x).sum(), x, create_graph=True)
        penalty = grad.square().sum(dim=[1, 2, 3]).mean()
        self._optimize(penalty * (self.r1_gamma / 2 * self.opts.r1_interval), self.D_opt, self.D_scaler)
        return penalty.item()

    @torch.no_grad()
    def _update_ema(self) -> None:
        o = self.opts
        ema_nimg = (o.ema_kimg if o.ema_kimg is not None else o.batch * 10 / 32) * 1000
        if o.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.nimg * o.ema_rampup)
        beta = 0.5 ** (o.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # --- outputs ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self, path: Path) -> float:
        """Save G_ema's grid on the fixed latents; returns its spread (quality.spread)."""
        z = self.grid_z.to(self.device)
        imgs = torch.cat([self.G_ema(z[i:i + 16], noise_mode="const") for i in range(0, len(z), 16)])
        save_grid(imgs, path, self.opts.grid)
        return spread(imgs)

    @functools.cached_property
    def real_spread(self) -> float:
        """quality.spread of a fixed random grid's worth of training images: what the samples' spread aims at."""
        n = min(self.opts.grid ** 2, len(self.images))
        return spread(to_input(self.images[np.random.default_rng(0).choice(len(self.images), n, replace=False)]))

    def _parts(self):
        modules = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        return modules, {"G_opt": self.G_opt, "D_opt": self.D_opt}, {"train": self.gen}

    def save(self, path: Path) -> None:
        state = {"step": self.step_index, "nimg": self.nimg, "options": dataclasses.asdict(self.opts),
                 "config": self.G.config.to_dict(), "G_scaler": self.G_scaler.state_dict(),
                 "D_scaler": self.D_scaler.state_dict()}
        ckpt.save_checkpoint(path, *self._parts(), state)

    def load(self, path: str | Path) -> None:
        state, tensors = ckpt.read_checkpoint(path)
        try:  # checkpoints older than a config key lack it: it takes its default, as when the generator loads
            theirs = GeneratorConfig.from_dict(state["config"]).to_dict()
        except (TypeError, ValueError) as e:
            raise ckpt.CheckpointError(f"checkpoint '{path}' has an unreadable generator config ({e}); "
                                       "start a new run with another --out") from None
        ours = self.G.config.to_dict()
        if theirs != ours:
            differ = ", ".join(f"{k}: {theirs[k]!r} there, {ours[k]!r} here" for k in ours if theirs[k] != ours[k])
            raise ckpt.CheckpointError(f"checkpoint '{path}' was trained with another generator ({differ}); "
                                       "resume with the options of the run that wrote it, or use another --out")
        ckpt.restore(state, tensors, *self._parts())
        self.step_index, self.nimg = state["step"], state["nimg"]
        saved = state["options"]  # keep the provenance: --grow-from is not given again on --resume
        self.opts.grow_from = self.opts.grow_from or saved.get("grow_from", "")
        self.opts.grown_at_kimg = self.opts.grown_at_kimg or saved.get("grown_at_kimg", 0.0)
        if state["G_scaler"]:
            self.G_scaler.load_state_dict(state["G_scaler"])
            self.D_scaler.load_state_dict(state["D_scaler"])

    def export(self, path: Path) -> None:
        o = self.opts
        save_generator(self.G_ema, path, metadata={"name": self.name(), "training": {
            "data": o.data, "kimg": self.nimg / 1000, "step": self.step_index, "seed": o.seed,
            "batch": o.batch, "resolution": o.resolution, "augment": o.augment, "r1_gamma": self.r1_gamma,
            "grow_from": o.grow_from, "grown_at_kimg": o.grown_at_kimg, "command": o.command}})

    def name(self) -> str:
        """What the HUD and z-logs call the model: 'emoji 128px, kimg 20 (grown from emoji32 at kimg 190)'."""
        o = self.opts
        grown = f" (grown from {Path(o.grow_from).name} at kimg {o.grown_at_kimg:.0f})" if o.grow_from else ""
        return f"{Path(o.data).name or o.data} {o.resolution}px, kimg {self.nimg / 1000:.0f}{grown}"


# --- the run ------------------------------------------------------------------------------------------------------
def _progress(trainer: ImageTrainer, stats: dict, t0: float, nimg0: int) -> str:
    o, elapsed = trainer.opts, time.monotonic() - t0
    ips = (trainer.nimg - nimg0) / max(elapsed, 1e-9)
    eta_s = max(o.kimg * 1000 - trainer.nimg, 0) / max(ips, 1e-9)
    losses = "  ".join(f"{k} {v:.4f}" for k, v in stats.items())
    return (f"kimg {trainer.nimg / 1000:9.3f}/{o.kimg:g}  step {trainer.step_index:7d}  {losses}  "
            f"{ips:6.1f} img/s  eta {int(eta_s // 3600)}h{int(eta_s % 3600 // 60):02d}m")


def train(data: str | np.ndarray, resolution: int = 128, kimg: float = 1000.0, out_dir: str | Path = "runs/image",
          resume: str | Path | None = None, seed: int = 0, batch: int = 32, device: str = "auto",
          **options) -> Path:
    """Train until `kimg` thousand images; write samples, checkpoint and the exported G_ema. Returns its path.

    `data`: 'emoji', a folder of images, or an array [N, H, W, 3] uint8 already at `resolution`.
    `grow_from` (in options): a lower-resolution run to start from (instrument.train.grow); not with `resume`.
    `options`: any other TrainOptions field (channel_base, r1_gamma, augment, snapshot_kimg, ...).
    Raises TrainingInterrupted after saving a checkpoint when SIGINT arrives.
    """
    out = Path(out_dir)
    source = "array" if isinstance(data, np.ndarray) else str(data)
    opts = TrainOptions(data=source, resolution=resolution, kimg=kimg, out_dir=str(out), seed=seed, batch=batch,
                        device=device, **options)
    opts.check()
    if resume is not None and opts.grow_from:
        raise InstrumentError("--resume continues a run and --grow-from starts one: pass one of them")
    images = data if isinstance(data, np.ndarray) else load_dataset(data, resolution, out / "cache")
    if images.ndim != 4 or images.shape[1:] != (resolution, resolution, 3) or images.dtype != np.uint8:
        raise InstrumentError(f"training images must be uint8 [N, {resolution}, {resolution}, 3], "
                              f"got {images.dtype} {list(images.shape)}")
    out.mkdir(parents=True, exist_ok=True)
    trainer = ImageTrainer(opts, images)
    if resume is not None:
        trainer.load(resume)
    elif opts.grow_from:
        grow_into(trainer, opts.grow_from)
    _loop(trainer, out)  # its last snapshot exports G_ema
    return out / "generator.safetensors"


def _snapshot(trainer: ImageTrainer, out: Path, last: bool = False) -> None:
    """Samples, checkpoint, and G_ema as the latest, generator.safetensors, kept as generator-NNNNNNkimg too. The
    last snapshot (end of run, ^C) keeps nothing whose name a kept one has (85.104 kimg would replace the 85.008
    snapshot, measured and perhaps shipped): then its grid is samples.png."""
    stem = f"{trainer.nimg // 1000:06d}kimg"
    keep = not (last and (out / f"generator-{stem}.safetensors").exists())
    spread_fake = trainer.sample_grid(out / (f"samples-{stem}.png" if keep else "samples.png"))
    print(f"snapshot at kimg {trainer.nimg / 1000:.3f}: samples spread {spread_fake:.3f}, training images "
          f"{trainer.real_spread:.3f} (far less is mode collapse)", file=sys.stderr, flush=True)
    trainer.save(out / ckpt.CHECKPOINT_NAME)
    trainer.export(out / "generator.safetensors")
    if keep:
        shutil.copyfile(out / "generator.safetensors", out / f"generator-{stem}.safetensors")


def _loop(trainer: ImageTrainer, out: Path) -> None:
    o = trainer.opts
    total, snap = int(math.ceil(o.kimg * 1000)), int(o.snapshot_kimg * 1000)
    t0, nimg0, next_snap = time.monotonic(), trainer.nimg, (trainer.nimg // snap + 1) * snap
    print(f"training on {trainer.device} ({len(trainer.images)} images, {o.resolution}px, batch {o.batch}) "
          f"from kimg {trainer.nimg / 1000:.3f} to {o.kimg:g}; output in '{out}'", file=sys.stderr, flush=True)
    if trainer.nimg == 0 and len(trainer.images) >= o.grid ** 2:
        save_grid(to_input(trainer.images[:o.grid ** 2]), out / "reals.png", o.grid)
    snapped_at = None
    with ckpt.StopFlag() as stop:
        while trainer.nimg < total and not stop.set:
            stats = trainer.step()
            if trainer.step_index % o.log_every == 0 or trainer.nimg >= total:
                print(_progress(trainer, stats, t0, nimg0), file=sys.stderr, flush=True)
            if trainer.nimg >= next_snap:
                _snapshot(trainer, out)
                next_snap, snapped_at = next_snap + snap, trainer.nimg
        if snapped_at != trainer.nimg:  # the run ended or was stopped after its last snapshot
            _snapshot(trainer, out, last=True)
    if stop.set:
        raise ckpt.TrainingInterrupted(f"interrupted at kimg {trainer.nimg / 1000:.3f}; checkpoint saved to "
                                       f"'{out / ckpt.CHECKPOINT_NAME}'; continue with --resume '{out}'")


# --- command line ---------------------------------------------------------------------------------------------------
class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit(2): make it one line instead
        raise InstrumentError(f"{self.prog}: {message}; see --help")


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="instrument train image", description="Train the StyleGAN2 image generator.")
    p.add_argument("--data", required=True, help="folder of images (png/jpg/webp, recursive) or 'emoji'")
    p.add_argument("--resolution", type=int, default=128, help="power of two, 8..1024 (default 128)")
    p.add_argument("--kimg", type=float, default=1000.0,
                   help="thousands of real images to train on (0: write the starting networks, e.g. grown ones)")
    p.add_argument("--resume", help="checkpoint file or run folder to continue")
    p.add_argument("--grow-from", default="", help="start from a lower-resolution run (folder or checkpoint)")
    p.add_argument("--out", default="runs/image", help="run folder: samples, checkpoint, generator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=32, help="minibatch size, a multiple of 4")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--r1-gamma", type=float, default=None, help="R1 weight (default 2e-4 * res^2 / batch)")
    p.add_argument("--augment", default="color,translation,cutout", help="DiffAugment policy, or 'none'")
    p.add_argument("--mirror", action="store_true", help="also train on left-right mirrored images")
    p.add_argument("--snapshot-kimg", type=float, default=5.0, help="kimg between samples and checkpoints")
    p.add_argument("--channel-base", type=int, default=DEFAULT_CONFIG.channel_base)
    p.add_argument("--channel-max", type=int, default=DEFAULT_CONFIG.channel_max)
    p.add_argument("--mapping-layers", type=int, default=DEFAULT_CONFIG.mapping_layers,
                   help="mapping network depth (stylegan2-ada's small-data 'auto' config uses 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    """`instrument train image ...` -> exit status: 0 done, 2 one-line error, 130 interrupted (checkpoint saved)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        path = _run(_parser().parse_args(argv), argv)
    except ckpt.TrainingInterrupted as e:
        print(f"instrument: {e}", file=sys.stderr)
        return 130
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    print(f"generator written to '{path}'", file=sys.stderr)
    return 0


def _run(a: argparse.Namespace, argv: list[str]) -> Path:
    return train(a.data, a.resolution, a.kimg, a.out, resume=a.resume, seed=a.seed, batch=a.batch, device=a.device,
                 r1_gamma=a.r1_gamma, augment=a.augment, mirror=a.mirror, snapshot_kimg=a.snapshot_kimg,
                 channel_base=a.channel_base, channel_max=a.channel_max, mapping_layers=a.mapping_layers,
                 grow_from=a.grow_from, command="instrument train image " + " ".join(shlex.quote(x) for x in argv))
