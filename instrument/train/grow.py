"""Start a run from a lower-resolution run's networks: train small and fast first, then grow.

On a CPU every halving of the resolution roughly doubles the images per second, and the coarse structure (the
shape and colour of a glyph) is what takes a GAN longest to find. So a run can learn at 32² or 64² and continue at
128² from there (`instrument train image --grow-from RUN`), as ProGAN grew its networks, without the fade-in:

* generator (the 'skip' architecture): every block up to the small resolution is copied, and each new block's
  toRGB starts at zero, so the grown generator draws exactly the small one's image, upsampled by the synthesis
  network's own FIR filter. The new blocks' convolutions are trained from there; the mapping network, its w_avg
  and the noise strengths come across unchanged.
* discriminator: every block below the small resolution and the 4x4 head are copied, and so are the small
  resolution's two convolutions; its fromRGB and the new top blocks start fresh.
* the optimizers' state and the image count start anew (it is a new run, with its own seed); the source is
  recorded in the run's options and the exported generator's metadata.
"""

from __future__ import annotations

import sys

import torch

from instrument.models.stylegan2 import GeneratorConfig
from instrument.train import checkpoint as ckpt


def _compatible(small: GeneratorConfig, big: GeneratorConfig, path) -> None:
    """Raise CheckpointError unless `small` is `big` at a lower resolution, in the 'skip' architecture."""
    if small.img_resolution >= big.img_resolution:
        raise ckpt.CheckpointError(f"--grow-from '{path}' was trained at {small.img_resolution}px, not below "
                                   f"--resolution {big.img_resolution}; grow to a higher resolution or use --resume")
    theirs, ours = small.to_dict(), big.to_dict()
    differ = [f"{k}: {theirs[k]!r} there, {ours[k]!r} here" for k in ours
              if k != "img_resolution" and theirs[k] != ours[k]]
    if differ:
        raise ckpt.CheckpointError(f"--grow-from '{path}' has another generator ({', '.join(differ)}); "
                                   "grow with the options of the run that wrote it")
    if big.architecture != "skip":
        raise ckpt.CheckpointError(f"--grow-from needs the 'skip' generator architecture, not {big.architecture!r}")


def _copy_matching(module: torch.nn.Module, tensors: dict[str, torch.Tensor], skip=()) -> list[str]:
    """Copy every tensor whose name and shape match into `module` (except names starting with `skip`)."""
    own = module.state_dict()
    copied = [k for k, v in tensors.items()
              if k in own and own[k].shape == v.shape and not any(k.startswith(s) for s in skip)]
    module.load_state_dict({**own, **{k: tensors[k] for k in copied}}, strict=True)
    return copied


@torch.no_grad()
def _zero_new_torgb(G: torch.nn.Module, small_resolution: int) -> list[str]:
    """Zero the toRGB of every block above `small_resolution`, so the grown image equals the small one."""
    new = [r for r in G.synthesis.block_resolutions if r > small_resolution]
    for r in new:
        torgb = getattr(G.synthesis, f"b{r}").torgb
        torgb.weight.zero_(), torgb.bias.zero_()
    return [f"b{r}" for r in new]


def grow_into(trainer, path) -> str:
    """Load the lower-resolution checkpoint at `path` into `trainer`'s fresh networks; returns a one-line report."""
    try:
        state, tensors = ckpt.read_checkpoint(path)
    except ckpt.CheckpointError as e:
        raise ckpt.CheckpointError(f"--grow-from: {e}".split("; ")[0] + "; pass a training run's folder or its "
                                   f"{ckpt.CHECKPOINT_NAME}") from None
    small = _small_config(state, path)
    _compatible(small, trainer.G.config, path)
    trainer.opts.grown_at_kimg = state["nimg"] / 1000
    for name in ("G", "G_ema"):
        _copy_matching(getattr(trainer, name), ckpt.with_prefix(tensors, name))
        new = _zero_new_torgb(getattr(trainer, name), small.img_resolution)
    fresh_rgb = f"b{small.img_resolution}.fromrgb."
    copied_d = _copy_matching(trainer.D, ckpt.with_prefix(tensors, "D"), skip=(fresh_rgb,))
    report = (f"grown from '{path}' ({small.img_resolution}px, kimg {state['nimg'] / 1000:.1f}) to "
              f"{trainer.G.config.img_resolution}px: new generator blocks {', '.join(new)}, "
              f"{len(copied_d)} of {len(trainer.D.state_dict())} discriminator tensors copied")
    print(report, file=sys.stderr, flush=True)
    return report


def _small_config(state: dict, path) -> GeneratorConfig:
    try:
        return GeneratorConfig.from_dict(state["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise ckpt.CheckpointError(f"--grow-from '{path}' has an unreadable generator config ({e}); "
                                   "pass a run folder written by 'instrument train image'") from None
