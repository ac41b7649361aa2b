"""The reference Noise2Noise U-Net: layers, size, initialisation and arbitrary input sizes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from services.n2n.model import N2NUNet, parameter_count

REFERENCE_LAYERS = [
    ("enc_conv0", 1, 48),
    ("enc_conv1", 48, 48),
    ("enc_conv2", 48, 48),
    ("enc_conv3", 48, 48),
    ("enc_conv4", 48, 48),
    ("enc_conv5", 48, 48),
    ("enc_conv6", 48, 48),
    ("dec_conv5a", 96, 96),
    ("dec_conv5b", 96, 96),
    ("dec_conv4a", 144, 96),
    ("dec_conv4b", 96, 96),
    ("dec_conv3a", 144, 96),
    ("dec_conv3b", 96, 96),
    ("dec_conv2a", 144, 96),
    ("dec_conv2b", 96, 96),
    ("dec_conv1a", 97, 64),
    ("dec_conv1b", 64, 32),
    ("dec_conv1", 32, 1),
]


def test_parameter_count_is_the_papers() -> None:
    """With one input and one output channel the network has exactly 988,609 parameters."""
    assert parameter_count(N2NUNet()) == 988_609


def test_layers_match_the_reference_code() -> None:
    """Every layer is a 3x3 'same' convolution with bias, in the reference order and widths; no norm layers."""
    model = N2NUNet()
    convs = [(name, m.in_channels, m.out_channels) for name, m in model.named_children()]
    assert convs == REFERENCE_LAYERS
    for module in model.children():
        assert isinstance(module, nn.Conv2d)
        assert module.kernel_size == (3, 3) and module.padding == (1, 1) and module.bias is not None
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def test_he_normal_initialisation() -> None:
    """Weights start at std sqrt(2 / fan_in) (the last, linear layer 1 / sqrt(fan_in)); biases at zero."""
    torch.manual_seed(0)
    model = N2NUNet()
    std = model.dec_conv4a.weight.std().item()
    assert std == pytest.approx(math.sqrt(2.0 / (144 * 9)), rel=0.02)
    assert model.dec_conv1.weight.std().item() == pytest.approx(1 / math.sqrt(32 * 9), rel=0.15)
    assert all(m.bias.detach().abs().max().item() == 0.0 for m in model.children())


@pytest.mark.parametrize("height,width", [(37, 50), (64, 64), (5, 3), (1, 1), (33, 97)])
@pytest.mark.slow
def test_any_input_size_comes_back_at_its_size(height: int, width: int) -> None:
    """Inputs of any size are padded to a multiple of 32 inside and cropped back to their own size."""
    model = N2NUNet().eval()
    with torch.inference_mode():
        out = model(torch.rand(2, 1, height, width))
    assert out.shape == (2, 1, height, width)
    assert torch.isfinite(out).all()


@pytest.mark.slow
def test_output_layer_is_linear() -> None:
    """The output is not squashed by an activation: scaling the last layer's weights scales the output."""
    torch.manual_seed(0)
    model = N2NUNet().eval()
    x = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        before = model(x)
        model.dec_conv1.weight.mul_(-3.0)
        after = model(x)
    torch.testing.assert_close(after, -3.0 * before, rtol=1e-4, atol=1e-5)
