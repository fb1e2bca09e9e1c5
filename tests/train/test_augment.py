"""DiffAugment: differentiable, seeded, identity when disabled; the discriminator's shapes and gradients."""

from __future__ import annotations

import pytest
import torch

from instrument.models.discriminator import Discriminator
from instrument.train.augment import diff_augment, parse_policy


def test_every_policy_passes_gradients():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    for policy in ("color", "translation", "cutout", "color,translation,cutout"):
        y = diff_augment(x, policy, torch.Generator().manual_seed(0))
        assert y.shape == x.shape and not torch.equal(y, x)
        (grad,) = torch.autograd.grad((y * torch.randn_like(y)).sum(), x)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, policy


def test_disabled_is_identity_and_seeded_is_repeatable():
    x = torch.randn(4, 3, 16, 16)
    assert diff_augment(x, "", None) is x and diff_augment(x, "none", None) is x
    a = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(5))
    b = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="unknown augmentation 'zoom'"):
        parse_policy("color,zoom")


def test_discriminator_shapes_and_r1_double_backward():
    D = Discriminator(32, channel_base=256, channel_max=32)
    x = torch.randn(8, 3, 32, 32, requires_grad=True)
    logits = D(x)
    assert logits.shape == (8, 1)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    grad.square().sum().backward()
    no_grad = [n for n, p in D.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == ["b4.out.bias"]  # the last bias does not change d logits / d x
    with pytest.raises(ValueError, match="power of two"):
        Discriminator(48)
