"""Plain-PyTorch building blocks for StyleGAN3 (Karras et al. 2021, "Alias-Free Generative Adversarial Networks").

* Filter design in numpy (no scipy): Kaiser-windowed sinc low-pass filters, separable (`design_lowpass_filter`),
  and the radially symmetric jinc filter of the R config (`radial=True`), with the Kaiser formulas of
  Kaiser & Schafer (1980) that `scipy.signal.firwin` uses. The Bessel function J1 is a trapezoidal sum of its
  integral representation, exact to float64 rounding for the arguments a filter needs.
* `filtered_lrelu`: bias, upsample (zero insertion, pad, FIR, gain up^2), leaky ReLU x gain (+ clamp),
  FIR + downsample -- the semantics of NVIDIA's reference `_filtered_lrelu_ref`, computed with strided
  (transposed) depthwise convolutions so no multiplication by an inserted zero or a dropped sample is done.
  `filtered_lrelu_reference` is the literal zero-insertion form, kept for tests.
* `modulated_conv2d`: weight and style pre-normalisation, modulation, demodulation, input gain, "full" padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from instrument.models.ops import DEMOD_EPS, fir_weight, upfirdn2d


# --- filter design (float64 numpy, like NVIDIA's design procedure) ---------------------------------------------

def kaiser_atten(numtaps: int, width: float) -> float:
    """Stopband attenuation in dB of a Kaiser FIR with `numtaps` taps and transition `width` (in units of Nyquist)."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(atten_db: float) -> float:
    """Kaiser window shape parameter for a stopband attenuation in dB."""
    if atten_db > 50:
        return 0.1102 * (atten_db - 8.7)
    if atten_db > 21:
        return 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    return 0.0


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1(x) = 1/(2 pi) * integral over [0, 2 pi] of cos(t - x sin t) dt, by the trapezoidal rule.

    The integrand is periodic and analytic, so the rule converges geometrically once the sample count
    exceeds |x| by a few dozen; `n` is chosen for that.
    """
    x = np.asarray(x, dtype=np.float64)
    n = 64 + 2 * int(np.ceil(np.abs(x).max(initial=0.0)))
    t = np.arange(n) * (2 * np.pi / n)  # [n]
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """Kaiser low-pass FIR normalised to unit DC gain: [numtaps] (separable), [numtaps, numtaps] (radial),
    or None for the identity (numtaps == 1). `cutoff` and `width` are in Hz at sampling rate `fs`."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    if not 0 < cutoff < nyquist:
        raise ValueError(f"cutoff {cutoff} must lie strictly between 0 and the Nyquist frequency {nyquist}")
    window = np.kaiser(numtaps, kaiser_beta(kaiser_atten(numtaps, width / nyquist)))  # [numtaps]
    if not radial:  # windowed sinc, as scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)
        m = np.arange(numtaps) - (numtaps - 1) / 2
        c = cutoff / nyquist
        f = c * np.sinc(c * m) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs  # tap positions in seconds
    r = np.hypot(*np.meshgrid(x, x))  # [numtaps, numtaps]; never 0 for an even tap count
    f = bessel_j1(2 * cutoff * (np.pi * r)) / (np.pi * r)  # jinc: the 2-D ideal disc low-pass
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


# --- filtered leaky ReLU ----------------------------------------------------------------------------------------

def fir_kernels(f: torch.Tensor | None, channels: int, gain: float) -> tuple[torch.Tensor, ...]:
    """Depthwise conv weights applying FIR `f` with total `gain`: () for the identity, (along x, along y) for a
    separable [k] filter ([C, 1, 1, k] and [C, 1, k, 1], each with gain**0.5), (2-D,) for a [k, k] filter."""
    if f is None:
        return ()
    if f.ndim == 2:
        return (fir_weight(f, channels, gain, transposed=True),)  # symmetric filters: flipping is moot
    g = gain ** 0.5
    fx = fir_weight(f.reshape(1, -1), channels, g, transposed=True)  # [C, 1, 1, k]
    return fx, fx.reshape(channels, 1, -1, 1).contiguous()


def _crop_full(y: torch.Tensor, in_hw: Sequence[int], k: int, up: int, padding: Sequence[int]) -> torch.Tensor:
    """Window of a full transposed convolution that `upfirdn2d(up, padding)` would return (negative = pad)."""
    px0, px1, py0, py1 = padding
    h, w = in_hw
    sy, sx = k - 1 - py0, k - 1 - px0  # first kept sample of the full result
    ly, lx = h * up + py0 + py1 - k + 1, w * up + px0 + px1 - k + 1
    return F.pad(y, [-sx, sx + lx - y.shape[3], -sy, sy + ly - y.shape[2]])


def upsample_fir(x: torch.Tensor, kernels: tuple[torch.Tensor, ...], up: int,
                 padding: Sequence[int]) -> torch.Tensor:
    """upfirdn2d(x, f, up=up, padding=padding) with the gain already inside `kernels` (from `fir_kernels`)."""
    if not kernels:
        if up != 1:
            raise ValueError(f"upsampling by {up} needs a filter")
        return F.pad(x, list(padding))
    c, k = x.shape[1], kernels[0].shape[-1]
    in_hw = x.shape[2:]
    if len(kernels) == 1:
        y = F.conv_transpose2d(x, kernels[0].to(x.dtype), stride=up, groups=c)
    else:
        y = F.conv_transpose2d(x, kernels[0].to(x.dtype), stride=(1, up), groups=c)
        y = F.conv_transpose2d(y, kernels[1].to(x.dtype), stride=(up, 1), groups=c)
    return _crop_full(y, in_hw, k, up, padding)


def downsample_fir(x: torch.Tensor, kernels: tuple[torch.Tensor, ...], down: int) -> torch.Tensor:
    """upfirdn2d(x, f, down=down): valid FIR, keep every `down`-th sample from the first."""
    if not kernels:
        return x[:, :, ::down, ::down] if down > 1 else x
    c = x.shape[1]
    if len(kernels) == 1:
        return F.conv2d(x, kernels[0].to(x.dtype), stride=down, groups=c)
    x = F.conv2d(x, kernels[0].to(x.dtype), stride=(1, down), groups=c)
    return F.conv2d(x, kernels[1].to(x.dtype), stride=(down, 1), groups=c)


def upsample_matrix(f: torch.Tensor | None, in_len: int, up: int, pad0: int, pad1: int) -> torch.Tensor:
    """[out_len, in_len] matrix of 1-D upfirdn (up, pad0, pad1) with gain `up` (one axis of a separable filter).

    A frame's filtering along one axis is then one dense matrix product, which BLAS runs many times faster
    on CPU than a depthwise (transposed) convolution, despite the multiplications by zero.
    """
    taps = torch.ones(1) if f is None else f.double() * up
    k = taps.shape[0]
    out_len = in_len * up + pad0 + pad1 - k + 1
    tap = torch.arange(out_len).reshape(-1, 1) + (k - 1 - pad0) - torch.arange(in_len).reshape(1, -1) * up
    valid = (tap >= 0) & (tap < k)
    return torch.where(valid, taps[tap.clamp(0, k - 1)], torch.zeros([])).float()


def downsample_matrix(f: torch.Tensor | None, in_len: int, down: int) -> torch.Tensor:
    """[out_len, in_len] matrix of 1-D upfirdn (down): valid FIR, every `down`-th sample from the first."""
    taps = torch.ones(1) if f is None else f.double()
    k = taps.shape[0]
    out_len = (in_len - k) // down + 1
    tap = (k - 1) - (torch.arange(in_len).reshape(1, -1) - torch.arange(out_len).reshape(-1, 1) * down)
    valid = (tap >= 0) & (tap < k)
    return torch.where(valid, taps[tap.clamp(0, k - 1)], torch.zeros([])).float()


def apply_separable(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """m @ x @ m.T on every [h, w] plane: the same 1-D filter matrix along y and x (square images)."""
    return torch.matmul(torch.matmul(m.to(x.dtype), x), m.t().to(x.dtype))


def lrelu_clamp(x: torch.Tensor, gain: float, slope: float, clamp: float | None) -> torch.Tensor:
    """NVIDIA's bias_act 'lrelu' without the bias: leaky_relu(x, slope) * gain, then clamp to +-clamp."""
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    return x.clamp_(-clamp, clamp) if clamp is not None else x


def filtered_lrelu(
    x: torch.Tensor,  # [batch, channels, h, w], bias already added
    up_kernels: tuple[torch.Tensor, ...],  # fir_kernels(up_filter, channels, up ** 2)
    down_kernels: tuple[torch.Tensor, ...],  # fir_kernels(down_filter, channels, 1)
    up: int, down: int,
    padding: Sequence[int],  # x0, x1, y0, y1 with respect to the upsampled image
    gain: float, slope: float, clamp: float | None,
) -> torch.Tensor:
    """Upsample, leaky ReLU at the higher rate, low-pass and downsample (the paper's Fig. 4, "filtered nonlinearity")."""
    x = upsample_fir(x, up_kernels, up, padding)
    x = lrelu_clamp(x, gain, slope, clamp)
    return downsample_fir(x, down_kernels, down)


def filtered_lrelu_reference(x: torch.Tensor, bias: torch.Tensor, fu: torch.Tensor | None, fd: torch.Tensor | None,
                             up: int, down: int, padding: Sequence[int], gain: float, slope: float,
                             clamp: float | None) -> torch.Tensor:
    """The literal definition (zero insertion and strided slicing via ops.upfirdn2d), for tests."""
    c = x.shape[1]
    x = x + bias.reshape(1, -1, 1, 1)
    fu2 = torch.ones([1, 1]) if fu is None else (torch.outer(fu, fu) if fu.ndim == 1 else fu)
    fd2 = torch.ones([1, 1]) if fd is None else (torch.outer(fd, fd) if fd.ndim == 1 else fd)
    x = upfirdn2d(x, fir_weight(fu2 * up ** 2, c), up=up, padding=padding)
    x = lrelu_clamp(x, gain, slope, clamp)
    return upfirdn2d(x, fir_weight(fd2, c), down=down)


# --- modulated convolution ---------------------------------------------------------------------------------------

def modulated_conv2d(
    x: torch.Tensor,  # [batch, in, h, w]
    weight: torch.Tensor,  # [out, in, k, k]
    styles: torch.Tensor,  # [batch, in]
    input_gain: torch.Tensor,  # [] or [batch, in]: 1 / rms of the input (magnitude_ema ** -0.5)
    bias: torch.Tensor | None = None,  # [out], added after the convolution
    demodulate: bool = True,
) -> torch.Tensor:  # [batch, out, h + k - 1, w + k - 1]: "full" padding, k - 1 on each side
    """Per-sample modulated weights run as one grouped convolution (batch 1: a plain convolution).

    With demodulation, weight rows and the styles are first scaled to unit mean square (the result is
    unchanged but for the epsilon); the input gain is applied after demodulation, so it is not normalised away.
    """
    b, c_in = styles.shape
    c_out, _, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(b, 1, c_in, 1, 1)  # [batch, out, in, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + DEMOD_EPS).rsqrt().reshape(b, c_out, 1, 1, 1)
    w = w * input_gain.expand(b, c_in).reshape(b, 1, c_in, 1, 1)
    bias = None if bias is None else (bias if b == 1 else bias.repeat(b))
    x = F.conv2d(x.reshape(1, b * c_in, *x.shape[2:]), w.reshape(b * c_out, c_in, kh, kw).to(x.dtype),
                 bias, padding=kh - 1, groups=b)
    return x.reshape(b, c_out, *x.shape[2:])
