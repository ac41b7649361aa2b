"""The Noise2Noise U-Net of Lehtinen et al. (2018), layer for layer as in NVIDIA's reference code.

Reference: NVlabs/noise2noise `network.py` (`autoencoder`): 3x3 convolutions with bias and "same" padding,
He-normal weights, LeakyReLU(0.1) after every convolution but the last (linear), no normalisation layers,
five 2x2 max-pools, nearest-neighbour upsampling and concatenated skips. 1 in / 1 out channel: 988,609
parameters.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from shared.methods.n2n import N2NConfig

DOWNSAMPLING = 32
"""Five 2x2 pools: the network sees sides that are multiples of 2**5; other sizes are padded."""

LEAKY_SLOPE = 0.1

NOISE_MAP_SCALE = 5.0
"""The noise map holds 5 x sigma (normalised scale): sigma 0-40 on the 0-255 scale becomes 0-0.8, the range
of the image channels, so the map's first-layer weights train at the pace of the others."""


def _conv(in_channels: int, out_channels: int, gain: float = math.sqrt(2.0)) -> nn.Conv2d:
    """A 3x3 'same' convolution initialised like the reference: N(0, gain^2 / fan_in), zero bias."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=True)
    fan_in = in_channels * 9
    nn.init.normal_(conv.weight, mean=0.0, std=gain / math.sqrt(fan_in))
    assert conv.bias is not None  # bias=True above
    nn.init.zeros_(conv.bias)
    return conv


class N2NUNet(nn.Module):
    """The reference Noise2Noise U-Net; accepts (N, C, H, W) of any H, W >= 1.

    `in_channels` > 1 takes neighbouring slices as channels (2.5D), the slice to denoise in the middle.
    With `noise_map` the last input channel is a constant map of the input's noise level (FFDNet, Zhang et
    al. 2018): one network then serves every noise level, told which one it faces.
    With `residual` the network predicts the correction to that middle slice (output = input + network)
    and its last layer starts at zero, so the untrained network is exactly the identity: a denoiser that
    starts no worse than its input and learns only what the noise is (the DnCNN observation), which matters
    most at low noise, where an untrained network is far worse than its input.
    """

    def __init__(
        self, in_channels: int = 1, out_channels: int = 1, residual: bool = False, noise_map: bool = False
    ) -> None:
        super().__init__()
        slices = in_channels - int(noise_map)
        if residual and (out_channels != 1 or slices % 2 == 0):
            raise ValueError("a residual U-Net needs an odd number of input slices and one output channel")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.residual = residual
        self.noise_map = noise_map
        self.middle = slices // 2
        """Channel of the slice being denoised: the middle of the slice stack (the noise map comes last)."""
        self.enc_conv0 = _conv(in_channels, 48)
        self.enc_conv1 = _conv(48, 48)
        self.enc_conv2 = _conv(48, 48)
        self.enc_conv3 = _conv(48, 48)
        self.enc_conv4 = _conv(48, 48)
        self.enc_conv5 = _conv(48, 48)
        self.enc_conv6 = _conv(48, 48)
        self.dec_conv5a = _conv(96, 96)
        self.dec_conv5b = _conv(96, 96)
        self.dec_conv4a = _conv(144, 96)
        self.dec_conv4b = _conv(96, 96)
        self.dec_conv3a = _conv(144, 96)
        self.dec_conv3b = _conv(96, 96)
        self.dec_conv2a = _conv(144, 96)
        self.dec_conv2b = _conv(96, 96)
        self.dec_conv1a = _conv(96 + in_channels, 64)
        self.dec_conv1b = _conv(64, 32)
        self.dec_conv1 = _conv(32, out_channels, gain=1.0)
        if residual:
            # A zero correction to start from: the untrained network is exactly the identity.
            nn.init.zeros_(self.dec_conv1.weight)

    def forward(self, x: torch.Tensor, levels: torch.Tensor | None = None) -> torch.Tensor:
        """Denoise a batch of slice stacks; pads to a multiple of 32 (reflect) and crops back to the input
        size. A network with a noise map needs `levels`: the noise sigma of each stack (normalised scale)."""
        height, width = x.shape[-2:]
        inputs = x
        if self.noise_map:
            if levels is None:
                raise ValueError("this network takes the noise level of its input: give levels")
            level_map = (
                (levels.to(x.dtype) * NOISE_MAP_SCALE).view(-1, 1, 1, 1).expand(x.shape[0], 1, height, width)
            )
            inputs = torch.cat([x, level_map], dim=1)
        out = self._forward_padded(pad_to_multiple(inputs, DOWNSAMPLING))[..., :height, :width]
        if self.residual:
            return x[:, self.middle : self.middle + 1].float() + out
        return out

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        """The network proper, on sides that are multiples of 32."""
        act = _leaky
        skips = [x]
        n = act(self.enc_conv0(x))
        n = F.max_pool2d(act(self.enc_conv1(n)), 2)
        skips.append(n)
        n = F.max_pool2d(act(self.enc_conv2(n)), 2)
        skips.append(n)
        n = F.max_pool2d(act(self.enc_conv3(n)), 2)
        skips.append(n)
        n = F.max_pool2d(act(self.enc_conv4(n)), 2)
        skips.append(n)
        n = F.max_pool2d(act(self.enc_conv5(n)), 2)
        n = act(self.enc_conv6(n))
        for conv_a, conv_b in (
            (self.dec_conv5a, self.dec_conv5b),
            (self.dec_conv4a, self.dec_conv4b),
            (self.dec_conv3a, self.dec_conv3b),
            (self.dec_conv2a, self.dec_conv2b),
        ):
            n = torch.cat([_upsample(n), skips.pop()], dim=1)
            n = act(conv_b(act(conv_a(n))))
        n = torch.cat([_upsample(n), skips.pop()], dim=1)
        n = act(self.dec_conv1b(act(self.dec_conv1a(n))))
        # The linear output layer runs in float32 even under autocast, so bfloat16 rounding of the
        # last layer does not cap the PSNR of the result.
        with torch.autocast(device_type=n.device.type, enabled=False):
            return self.dec_conv1(n.float())


def _leaky(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.1), as in the reference."""
    return F.leaky_relu(x, LEAKY_SLOPE)


def _upsample(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour upsampling by 2 in both directions."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the last two dims up to a multiple, after the image (reflect; replicate if a side is too small)."""
    height, width = x.shape[-2:]
    pad_h = -height % multiple
    pad_w = -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def network_for(config: N2NConfig) -> N2NUNet:
    """The U-Net a config trains: one input channel per slice of its 2.5D stack (and one for the noise
    level map), residual or not."""
    return N2NUNet(
        in_channels=input_channels(config),
        out_channels=1,
        residual=config.residual,
        noise_map=config.noise_map,
    )


def input_channels(config: N2NConfig) -> int:
    """Channels of the network's input: 2 context + 1 slices, plus the noise level map."""
    return 2 * config.context + 1 + int(config.noise_map)
