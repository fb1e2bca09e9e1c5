"""StyleGAN2 residual discriminator (Karras et al. 2020, config F 'resnet'), plain PyTorch, equalized lr.

Named like NVIDIA's stylegan2-ada-pytorch `Discriminator` (b{res}.fromrgb / conv0 / conv1 / skip, b4.mbstd /
conv / fc / out) so its tensors read the same way, written from the paper:

    img [B, 3, R, R] -> b{R}: fromrgb 1x1 -> conv0 3x3 -> conv1 3x3 (FIR + 2x down), + skip 1x1 (FIR + 2x down),
    sum * sqrt(1/2) -> ... -> b4: minibatch stddev -> conv 3x3 -> fc -> out [B, 1] (a logit)

Channels follow the generator's rule `min(channel_base // res, channel_max)`, so one `GeneratorConfig` sizes both.
Parameters are stored at unit scale and multiplied at runtime by 1 / sqrt(fan_in) (equalized learning rate).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from instrument.models.ops import LRELU_GAIN, LRELU_SLOPE, fir_weight, setup_filter, upfirdn2d

RESIDUAL_GAIN = math.sqrt(0.5)  # keeps the sum of skip and main path at unit variance


class Conv2dLayer(nn.Module):
    """Equalized-lr convolution, optional FIR low-pass + 2x downsampling before it, optional lrelu."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", down: int = 1, gain: float = 1.0):
        super().__init__()
        self.down, self.kernel_size = down, kernel_size
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = (LRELU_GAIN if activation == "lrelu" else 1.0) * gain
        self.activation = activation
        self.register_buffer("resample_filter", setup_filter())

    def _downsample_pad(self) -> list[int]:
        """FIR padding so that FIR + stride-2 conv maps res -> res / 2 with NVIDIA's alignment."""
        taps, pad = self.resample_filter.shape[-1], self.kernel_size // 2
        p0, p1 = pad + (taps - self.down + 1) // 2, pad + (taps - self.down) // 2
        return [p0, p1, p0, p1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in, H, W] -> [B, out, H / down, W / down]
        w = (self.weight * self.weight_gain).to(x.dtype)
        if self.down > 1:
            fir = fir_weight(self.resample_filter, x.shape[1]).to(x.dtype)
            if self.kernel_size == 1:  # FIR + stride-2 sampling, then the 1x1 conv on the small image
                x = upfirdn2d(x, fir, down=self.down, padding=self._downsample_pad())
                x = F.conv2d(x, w)
            else:  # FIR (padded), then the strided 3x3 conv without padding
                x = upfirdn2d(x, fir, padding=self._downsample_pad())
                x = F.conv2d(x, w, stride=self.down)
        else:
            x = F.conv2d(x, w, padding=self.kernel_size // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, LRELU_SLOPE)
        return x * self.act_gain if self.act_gain != 1 else x


class FullyConnected(nn.Module):
    """Equalized-lr linear layer, optional lrelu (gain sqrt 2)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear"):
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_features, in_features]))
        self.bias = nn.Parameter(torch.zeros([out_features]))
        self.weight_gain = 1 / math.sqrt(in_features)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in] -> [B, out]
        x = F.linear(x, (self.weight * self.weight_gain).to(x.dtype), self.bias.to(x.dtype))
        return F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN if self.activation == "lrelu" else x


class DiscriminatorBlock(nn.Module):
    """One resolution of the residual D: [fromrgb] -> conv0 -> conv1 (down), plus a 1x1 down skip."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int):
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:  # the first (highest-resolution) block reads the image
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu")
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu")
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, gain=RESIDUAL_GAIN)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2, gain=RESIDUAL_GAIN)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)  # [B, tmp, R, R]
        y = self.skip(x)  # [B, out, R/2, R/2]
        x = self.conv1(self.conv0(x))
        return y + x


class MinibatchStdLayer(nn.Module):
    """Appends the stddev over groups of `group_size` samples, averaged per feature group, as extra channels."""

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, C + num_channels, H, W]
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        if b % g:
            raise ValueError(f"minibatch-stddev needs a batch divisible by its group size {g}, got batch {b}")
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w).float()  # [G, B/G, F, C/F, H, W]
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # variance over the group
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [B/G, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w).to(x.dtype)  # [B, F, H, W]
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """4x4 head: minibatch stddev -> conv 3x3 -> fc -> out (one logit per image)."""

    def __init__(self, in_channels: int, mbstd_group_size: int = 4):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group_size)
        self.conv = Conv2dLayer(in_channels + 1, in_channels, 3, activation="lrelu")
        self.fc = FullyConnected(in_channels * 16, in_channels, activation="lrelu")
        self.out = FullyConnected(in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, 4, 4] -> [B, 1]
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """img [B, img_channels, R, R] in about [-1, 1] -> logits [B, 1]."""

    def __init__(self, img_resolution: int, img_channels: int = 3, channel_base: int = 4096,
                 channel_max: int = 128, mbstd_group_size: int = 4):
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"discriminator resolution must be a power of two >= 8, got {img_resolution}")
        self.img_resolution, self.img_channels = img_resolution, img_channels
        ch = lambda res: min(channel_base // res, channel_max)  # noqa: E731 -- the generator's rule
        if ch(img_resolution) < 1:
            raise ValueError(f"channel_base={channel_base} leaves no channels at {img_resolution}x{img_resolution}")
        self.block_resolutions = [2 ** i for i in range(int(math.log2(img_resolution)), 2, -1)]
        for res in self.block_resolutions:
            in_channels = ch(res) if res < img_resolution else 0
            setattr(self, f"b{res}", DiscriminatorBlock(in_channels, ch(res), ch(res // 2), img_channels))
        self.b4 = DiscriminatorEpilogue(ch(4), mbstd_group_size)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        expected = [self.img_channels, self.img_resolution, self.img_resolution]
        if img.ndim != 4 or list(img.shape[1:]) != expected:
            raise ValueError(f"discriminator input must be [batch, {', '.join(map(str, expected))}], "
                             f"got {list(img.shape)}")
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        return self.b4(x)
