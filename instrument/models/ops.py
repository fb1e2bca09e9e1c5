"""Plain-PyTorch building blocks for the StyleGAN2 generator (no compiled extensions, no custom CUDA).

Semantics follow NVIDIA's stylegan2-ada-pytorch (`upfirdn2d`, `conv2d_resample`, `modulated_conv2d`,
`bias_act`), written from the paper's definitions:

* FIR filters are 2-D outer products of 1-D taps normalised to sum 1 (`setup_filter`). A filter is applied
  as a true convolution (not correlation), so asymmetric filters behave like NVIDIA's.
* `upfirdn2d` = upsample by zero insertion, pad (negative pads crop), depthwise FIR, downsample by striding.
* Modulated convolution uses the non-fused form: scale the input by the styles, run one plain convolution
  with the shared weight, and leave demodulation to the caller as a per-(sample, channel) output scale
  (`demodulation_coefs`, a small matmul). No per-sample weight tensor is built and no grouped convolution
  is needed. At batch 1, layers whose weight is smaller than their activations instead fold styles and
  demodulation into the weight (`modulated_conv2d_folded`), which saves two passes over large activations.

Hot-path functions take *prepared* FIR weights (`fir_weight`) that the modules register as buffers, so no
constant tensor is allocated per frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # NVIDIA's def_gain for 'lrelu': keeps activation variance at 1
DEMOD_EPS = 1e-8


def cast(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`t.to(dtype)` that skips the call when nothing changes (each torch call re-takes the GIL)."""
    return t if t.dtype == dtype else t.to(dtype)


def setup_filter(taps: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """2-D separable low-pass filter from 1-D taps, normalised to sum 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)  # [k, k]
    return f / f.sum()


def fir_weight(f: torch.Tensor, channels: int, gain: float = 1.0, transposed: bool = False) -> torch.Tensor:
    """Depthwise conv weight [channels, 1, k, k] that applies FIR `f` (times `gain`) as a true convolution.

    `F.conv2d` correlates, so the filter is flipped; `F.conv_transpose2d` already convolves, so with
    `transposed=True` it is not.
    """
    f = f if transposed else f.flip([0, 1])
    return (f * gain).reshape(1, 1, *f.shape).repeat(channels, 1, 1, 1).contiguous()


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit root-mean-square (the z normalisation of the mapping network)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def upfirdn2d(
    x: torch.Tensor,  # [batch, channels, height, width]
    weight: torch.Tensor,  # [channels, 1, kh, kw] from fir_weight()
    up: int = 1,
    down: int = 1,
    padding: Sequence[int] = (0, 0, 0, 0),  # x0, x1, y0, y1 (after upsampling); negative values crop
) -> torch.Tensor:
    """Upsample (zero insertion), pad, depthwise FIR, downsample -- NVIDIA's reference `upfirdn2d`."""
    b, c, h, w = x.shape
    if up > 1:  # put up-1 zeros after every sample in both directions
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    if any(padding):
        x = F.pad(x, list(padding))
    x = F.conv2d(x, cast(weight, x.dtype), groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(
    x: torch.Tensor,  # [batch, channels, height, width]
    weight_t: torch.Tensor,  # [channels, 1, 4, 4] from fir_weight(f, channels, gain=4, transposed=True)
) -> torch.Tensor:  # [batch, channels, 2 * height, 2 * width]
    """2x upsampling with a 4-tap FIR, equal to `upfirdn2d(x, up=2, padding=(2, 1, 2, 1))`.

    Zero insertion followed by a convolution is exactly a strided transposed convolution, which skips the
    multiplications by the inserted zeros; `padding=1` crops the full output to NVIDIA's alignment.
    """
    return F.conv_transpose2d(x, cast(weight_t, x.dtype), stride=2, padding=1, groups=x.shape[1])


def demodulation_coefs(
    weight: torch.Tensor,  # [out, in, kh, kw]
    styles: torch.Tensor,  # [batch, in]
) -> torch.Tensor:  # [batch, out]
    """1 / L2 norm of each modulated filter, without building the modulated weights.

    ||w[o] * s||^2 = sum_i s_i^2 * sum_k w[o, i, k]^2, a [batch, in] x [in, out] matmul.
    """
    if weight.stride(0) == 1:  # conv_weight_layout(transposed=True): [in, k, k, out] in memory
        wsq = weight.permute(1, 2, 3, 0).square().sum(dim=(1, 2)).t()  # 3x faster reduction order
    else:
        wsq = weight.square().sum(dim=(2, 3))  # [out, in]
    return (styles.square() @ wsq.t() + DEMOD_EPS).rsqrt()


def fp16_prenormalize(weight: torch.Tensor, styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale weight and styles (in float32) so a float16 convolution cannot overflow.

    Demodulation divides the scale back out, so the result is unchanged up to rounding (as NVIDIA does).
    """
    fan_in = weight[0].numel()
    weight = weight * (1 / math.sqrt(fan_in) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
    styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    return weight, styles


def conv_weight_layout(weight: torch.Tensor, transposed: bool) -> torch.Tensor:
    """Same values, memory laid out for fast NHWC convolution (saves a weight reorder on every call).

    `transposed=True` lays out [out, in, k, k] so that `.transpose(0, 1)` -- the [in, out, k, k] weight that
    `conv_transpose2d` takes -- is channels_last.
    """
    if not transposed:
        return weight.contiguous(memory_format=torch.channels_last)
    return weight.transpose(0, 1).contiguous(memory_format=torch.channels_last).transpose(0, 1)


def _up2_conv(x: torch.Tensor, weight: torch.Tensor, fir_up: torch.Tensor,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """NVIDIA's fast path for a 3x3 conv with 2x upsampling: stride-2 transposed conv (no weight flip,
    [b, out, 2h + 1, 2w + 1]), then the FIR low-pass (gain 4) with one pixel of padding -> [b, out, 2h, 2w].
    """
    if weight.shape[-1] != 3:
        raise ValueError(f"2x upsampling convolution needs a 3x3 kernel, got {list(weight.shape)}")
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
    return F.conv2d(x, cast(fir_up, x.dtype), bias, padding=1, groups=x.shape[1])


def modulated_conv2d(
    x: torch.Tensor,  # [batch, in, height, width]
    weight: torch.Tensor,  # [out, in, k, k], shared by the batch
    styles: torch.Tensor,  # [batch, in]
    up: int = 1,
    fir_up: torch.Tensor | None = None,  # [out, 1, 4, 4] FIR (gain 4) for up=2, from fir_weight()
) -> torch.Tensor:  # [batch, out, height * up, width * up], NOT yet demodulated
    """Modulated convolution, non-fused: (x * styles) conv weight. The caller applies demodulation."""
    x = x * cast(styles, x.dtype).reshape(x.shape[0], -1, 1, 1)
    weight = cast(weight, x.dtype)
    if up == 1:
        return F.conv2d(x, weight, padding=weight.shape[-1] // 2)
    return _up2_conv(x, weight, fir_up)


def modulated_conv2d_folded(
    x: torch.Tensor,  # [1, in, height, width]
    weight: torch.Tensor,  # [out, in, k, k]
    styles: torch.Tensor,  # [1, in]
    dcoefs: torch.Tensor,  # [1, out] demodulation (times any output gain)
    bias: torch.Tensor,  # [out], added after demodulation
    up: int = 1,
    fir_up: torch.Tensor | None = None,
) -> torch.Tensor:  # [1, out, height * up, width * up], demodulated, bias added
    """Batch-1 modulated convolution with styles and demodulation folded into the weight.

    The result equals `modulated_conv2d(...) * dcoefs + bias`, but costs one pass over the weight instead of
    a pass over the input and one over the output, and the bias is added inside the convolution.
    """
    wm = weight * (dcoefs.reshape(-1, 1, 1, 1) * styles.reshape(1, -1, 1, 1))  # [out, in, k, k]
    wm, bias = cast(wm, x.dtype), cast(bias, x.dtype)
    if up == 1:
        return F.conv2d(x, wm, bias, padding=wm.shape[-1] // 2)
    return _up2_conv(x, wm, fir_up, bias)


def prefer_folded(x: torch.Tensor, weight: torch.Tensor, up: int) -> bool:
    """Whether `modulated_conv2d_folded` is the cheaper form: batch 1 and a weight smaller than the
    activations it saves touching (true for the high-resolution layers, which dominate a frame)."""
    if x.shape[0] != 1:
        return False
    out_numel = weight.shape[0] * x.shape[2] * x.shape[3] * up * up
    return weight.numel() < x.numel() + out_numel
