"""The CUDA fast path: a batch-1 frame as one CUDA graph replay over static input buffers.

What it does on a CUDA device (on CPU, without graphs, it takes today's path and matches it exactly):

* `prepare_generator` makes a copy of a StyleGAN2 whose top `num_fp16_res` resolutions run in float16 with
  NVIDIA's conv_clamp (the model's own values when it has them, else NVIDIA's training defaults 4 and 256),
  and whose modulated convolutions read per-weight constants computed once (`FrozenDemodLayer`): the squared
  filter norms behind demodulation and the float16 pre-normalised weights. Per frame only what depends on w
  is computed: styles, demodulation coefficients, and the styles-and-demodulation-folded weight (batch 1).
  Activations already run channels_last in our modules.
* `FastFrame` wraps a `FrameRenderer`: the renderer's `_load` fills its device buffers in place, then one graph
  (captured per noise mode on a side stream after warm-up) replays mapping -> mix -> truncation -> synthesis ->
  uint8. The graph reads whatever tensors the renderer owns by address, so inputs other engineers add to the
  renderer are carried without change here; `StaticBuffers` guards that none is ever re-allocated (a
  re-allocated buffer would leave a graph reading stale memory).
* 'random' noise draws seeded noise inside synthesis, which a graph would freeze: that mode takes today's path
  (`FrameRenderer.image`), as does everything when graphs are unavailable or a capture fails (with a one-line
  reason in `FastFrame.reason`).

Nothing here allocates per frame once captured.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from instrument.models.ops import DEMOD_EPS, LRELU_GAIN, LRELU_SLOPE, fp16_prenormalize
from instrument.models.ops import modulated_conv2d, modulated_conv2d_folded, prefer_folded, cast
from instrument.models.stylegan2 import SynthesisLayer

FP16_RES = 4           # NVIDIA's num_fp16_res for its StyleGAN2 configs, used when a model does not say
FP16_CONV_CLAMP = 256.0  # NVIDIA's conv_clamp whenever float16 is on
WARMUP_CALLS = 3       # eager calls on the capture stream before capturing (cuDNN/cuBLAS pick their kernels)
UNGRAPHED_MODES = ("random",)  # modes whose per-frame seeded noise a graph would freeze


def graph_unavailable_reason(device: torch.device) -> str | None:
    """Why CUDA graphs cannot run on `device` (None when they can)."""
    if device.type != "cuda":
        return f"CUDA graphs need a CUDA device, got '{device}'"
    if not torch.cuda.is_available():
        return f"CUDA graphs need a CUDA build of torch with a GPU; this is torch {torch.__version__}"
    return None


# --- the prepared generator ------------------------------------------------------------------------------------

def _squared_filter_norms(weight: torch.Tensor) -> torch.Tensor:
    """sum over k of weight[o, i, k]^2 as [out, in]: ops.demodulation_coefs's weight half, same reduction order."""
    if weight.stride(0) == 1:  # conv_weight_layout(transposed=True)
        return weight.permute(1, 2, 3, 0).square().sum(dim=(1, 2)).t()
    return weight.square().sum(dim=(2, 3))


class FrozenDemodLayer(nn.Module):
    """A StyleGAN2 `SynthesisLayer` whose weight-only terms are computed once instead of every frame.

    Same forward signature and result as the layer it wraps (bit-exact in float32); it reads the wrapped layer's
    affine, noise and FIR buffers, so nothing is duplicated but the per-weight constants.
    """

    def __init__(self, layer: SynthesisLayer, conv_clamp: float | None):
        super().__init__()
        self.layer, self.up, self.conv_clamp = layer, layer.up, conv_clamp
        with torch.no_grad():
            weight16 = fp16_prenormalize(layer.weight, torch.ones(1, layer.weight.shape[1]))[0]
            self.register_buffer("wsq32", _squared_filter_norms(layer.weight))      # [out, in]
            self.register_buffer("weight16", weight16)                              # [out, in, k, k] float32
            self.register_buffer("wsq16", _squared_filter_norms(weight16))           # [out, in]
            self.register_buffer("bias_gain", layer.bias * LRELU_GAIN)               # [out]

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        # x: [batch, in, res / up, res / up], w: [batch, w_dim] -> [batch, out, res, res]
        styles = self.layer.affine(w)  # [batch, in]
        if x.dtype == torch.float16:
            weight, wsq = self.weight16, self.wsq16
            styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
        else:
            weight, wsq = self.layer.weight, self.wsq32
        dcoefs = (styles.square() @ wsq.t() + DEMOD_EPS).rsqrt() * LRELU_GAIN  # [batch, out]
        if prefer_folded(x, weight, self.up):
            x = modulated_conv2d_folded(x, weight, styles, dcoefs, self.bias_gain, self.up, self.layer.fir_up)
        else:
            x = modulated_conv2d(x, weight, styles, self.up, self.layer.fir_up)
            x = torch.addcmul(cast(self.bias_gain, x.dtype).reshape(1, -1, 1, 1), x,
                              cast(dcoefs, x.dtype).reshape(x.shape[0], -1, 1, 1))
        x = self.layer._add_noise(x, noise_mode, noise_generator)
        x = torch.nn.functional.leaky_relu_(x, LRELU_SLOPE)
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x


def prepare_generator(G: nn.Module, device: torch.device, num_fp16_res: int | None = None) -> nn.Module:
    """A copy of `G` for the fast path; `G` itself is left untouched.

    StyleGAN2: every SynthesisLayer becomes a FrozenDemodLayer; on CUDA the top `num_fp16_res` resolutions
    (None: the model's own value, else FP16_RES) run float16 with the model's conv_clamp (else FP16_CONV_CLAMP).
    Other generators (StyleGAN3: float32 in our module) are copied as they are.
    """
    fast = copy.deepcopy(G)
    synthesis = getattr(fast, "synthesis", None)
    resolutions = getattr(synthesis, "block_resolutions", None)
    if resolutions is None:
        return fast
    config = getattr(G, "config", None)
    fp16_res = num_fp16_res if num_fp16_res is not None else (getattr(config, "num_fp16_res", 0) or FP16_RES)
    fp16_from = max(2 ** (int(math.log2(resolutions[-1])) + 1 - fp16_res), 8) if fp16_res > 0 else math.inf
    for res in resolutions:
        block = getattr(synthesis, f"b{res}")
        fp16 = device.type == "cuda" and res >= fp16_from
        if fp16:
            block.use_fp16 = True
        for name in ("conv0", "conv1"):
            layer = getattr(block, name, None)
            if isinstance(layer, SynthesisLayer):
                clamp = layer.conv_clamp if layer.conv_clamp is not None or not fp16 else FP16_CONV_CLAMP
                setattr(block, name, FrozenDemodLayer(layer, clamp))
        torgb = getattr(block, "torgb", None)
        if fp16 and torgb is not None and torgb.conv_clamp is None:
            torgb.conv_clamp = FP16_CONV_CLAMP
    return fast


# --- static inputs and the graphed frame ----------------------------------------------------------------------

class StaticBuffers:
    """The device tensors a renderer owns (its per-frame inputs among them), with their addresses at capture.

    A CUDA graph reads memory by address: a buffer replaced instead of updated in place would be read stale.
    `check()` turns that silent error into a one-line one.
    """

    def __init__(self, owner: object):
        self.owner = owner
        self.names = sorted(k for k, v in vars(owner).items() if isinstance(v, torch.Tensor))
        self.addresses = {k: getattr(owner, k).data_ptr() for k in self.names}

    def check(self) -> None:
        for name in self.names:
            if getattr(self.owner, name).data_ptr() != self.addresses[name]:
                raise RuntimeError(f"input buffer '{name}' was re-allocated, not updated in place; the CUDA graph "
                                   "reads the old one (write it with copy_/fill_)")


class FastFrame:
    """`FrameRenderer.image` with the same inputs and result, as a CUDA graph replay per noise mode.

    channels=4 gives RGBA [H, W, 4] (alpha 255) for CUDA-GL interop, 3 gives RGB [H, W, 3] like the renderer.
    The returned tensor is static on CUDA: it is overwritten by the next frame.
    """

    def __init__(self, renderer, channels: int = 3, use_graph: bool | None = None, compile: bool = False):
        if channels not in (3, 4):
            raise ValueError(f"channels must be 3 (RGB) or 4 (RGBA), got {channels}")
        self.renderer, self.device, self.channels = renderer, renderer.device, channels
        reason = graph_unavailable_reason(self.device)
        self.use_graph = reason is None if use_graph is None else use_graph
        self.reason = None if self.use_graph else (reason or "CUDA graphs turned off")  # why they are off
        self.buffers = StaticBuffers(renderer)
        self._compute = torch.compile(renderer.render_loaded, dynamic=False) if compile else renderer.render_loaded
        self._graphs: dict[str, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self._pool = None
        self.stream = torch.cuda.Stream(self.device) if self.use_graph else None  # the generator's stream
        res = renderer.G.img_resolution
        self._rgba = torch.full((res, res, 4), 255, dtype=torch.uint8, device=self.device) if channels == 4 else None

    def image(self, frame) -> torch.Tensor:
        """Pixels of one LatentFrame: uint8 [H, W, channels] on the device."""
        if frame.noise_mode in UNGRAPHED_MODES or not self.use_graph:
            return self._output(self.renderer.image(frame))  # today's path
        self.renderer._load(frame)
        self.buffers.check()
        entry = self._graphs.get(frame.noise_mode) or self._capture(frame.noise_mode)
        if entry is None:  # the capture just failed: today's path from now on
            return self._output(self.renderer.image(frame))
        entry[0].replay()
        return entry[1]

    def _output(self, pixels: torch.Tensor) -> torch.Tensor:  # [H, W, 3] -> [H, W, channels]
        if self._rgba is None:
            return pixels
        self._rgba[..., :3].copy_(pixels)
        return self._rgba

    def _capture(self, noise_mode: str):
        """Warm up on a side stream, capture one frame; on failure, None and the reason in `self.reason`."""
        run = lambda: self._output(self._compute(noise_mode))  # noqa: E731
        try:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(WARMUP_CALLS):
                    run()
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # thread_local: the display thread's own CUDA calls (interop) may go on while this thread captures
            with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
                out = run()
        except Exception as e:  # any capture rule broken: the show goes on, on today's path
            first = (str(e).strip().splitlines() or [""])[0][:160]
            self.reason = (f"CUDA graph capture failed for noise '{noise_mode}' ({type(e).__name__}: {first}); "
                           "today's path")
            self.use_graph = False
            return None
        self._pool = graph.pool()  # one memory pool for every mode's graph: they never run at once
        self._graphs[noise_mode] = (graph, out)
        return self._graphs[noise_mode]
