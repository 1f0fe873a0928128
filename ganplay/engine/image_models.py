"""DCGAN generator and discriminator for 28x28 images (MNIST, Stacked MNIST).

THEORY.md's DCGAN rules: strided (transposed) convolutions instead of pooling, BatchNorm except on
G's output and D's input, ReLU in G with a tanh output, LeakyReLU(0.2) in D. Norms and activations
come from the config (``model.g_norm``/``d_norm``, ``g_activation``/``d_activation``) so a WGAN-GP
critic can drop BatchNorm; the ``dcgan`` recipe sets the paper's choices. Widths:
``model.g_width``/``d_width`` are the channels of the 7x7 layer, halved at 14x14.

Both networks take and return flat vectors (N, C*28*28) so the trainer, the penalties and the
metrics treat images exactly like 2D points; PacGAN stacks the ``pack`` samples as channels.
A conditional pair (cGAN) feeds G a label embedding next to z and D one label map as an extra
input channel.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .config import Config, ModelConfig
from .models import activation, latent_mode_code

SIDE = 28


def norm2d(name: str, ch: int) -> nn.Module | None:
    if name == "batch":
        return nn.BatchNorm2d(ch)
    if name == "layer":  # normalises over (C, H, W) per sample: safe with gradient penalties
        return nn.GroupNorm(1, ch)
    return None


def _seq(*mods: nn.Module | None) -> nn.Sequential:
    return nn.Sequential(*[m for m in mods if m is not None])


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights as in Radford et al.; norm layers get gamma ~ N(1, 0.02), beta = 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(w, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 1.0)


class DCGANGenerator(nn.Module):
    """z (+ label embedding) -> 7x7 -> 14x14 -> 28x28 by transposed convolutions, tanh output."""

    def __init__(self, cfg: ModelConfig, channels: int = 1, n_classes: int = 0):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.n_classes = n_classes
        self.channels = channels
        self.image_shape = (channels, SIDE, SIDE)
        self.data_dim = channels * SIDE * SIDE
        w = max(2, cfg.g_width)
        self.embed_dim = min(n_classes, 50) if n_classes else 0
        self.embed = nn.Embedding(n_classes, self.embed_dim) if n_classes else None
        self.modes = cfg.latent_modes
        self.net = _seq(
            # a 7x7 transposed convolution of a 1x1 input is DCGAN's "project and reshape"
            nn.ConvTranspose2d(cfg.latent_dim + self.embed_dim + self.modes, w, 7, 1, 0,
                               bias=cfg.g_norm == "none"),
            norm2d(cfg.g_norm, w), activation(cfg.g_activation),
            nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=cfg.g_norm == "none"),
            norm2d(cfg.g_norm, w // 2), activation(cfg.g_activation),
            nn.ConvTranspose2d(w // 2, channels, 4, 2, 1),
            nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.modes:
            z = torch.cat([z, latent_mode_code(z, self.modes)], 1)
        if self.embed is not None:
            assert y is not None, "a conditional generator needs labels"
            z = torch.cat([z, self.embed(y)], 1)
        return self.net(z[:, :, None, None]).reshape(z.shape[0], -1)


class DCGANDiscriminator(nn.Module):
    """28x28 -> 14x14 -> 7x7 by strided convolutions, LeakyReLU, one raw score per pack."""

    def __init__(self, cfg: ModelConfig, channels: int = 1, pack: int = 1, n_classes: int = 0):
        super().__init__()
        self.channels = channels
        self.pack = pack
        self.n_classes = n_classes
        self.data_dim = channels * SIDE * SIDE
        w = max(2, cfg.d_width)
        sn = _sn if cfg.spectral_norm else (lambda m: m)
        self.label_map = nn.Embedding(n_classes, SIDE * SIDE) if n_classes else None
        in_ch = (channels + (1 if n_classes else 0)) * pack
        self.features = _seq(
            sn(nn.Conv2d(in_ch, w // 2, 4, 2, 1)),          # no norm on D's input layer
            activation(cfg.d_activation),
            sn(nn.Conv2d(w // 2, w, 4, 2, 1, bias=cfg.d_norm == "none")),
            norm2d(cfg.d_norm, w), activation(cfg.d_activation),
        )
        self.head = sn(nn.Linear(w * 7 * 7, 1))
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        x = x.reshape(n, self.channels, SIDE, SIDE)
        if self.label_map is not None:
            assert y is not None, "a conditional discriminator needs labels"
            x = torch.cat([x, self.label_map(y).reshape(n, 1, SIDE, SIDE)], 1)
        if self.pack > 1:
            x = x.reshape(n // self.pack, -1, SIDE, SIDE)
        h = self.features(x)
        return self.head(h.flatten(1)).squeeze(-1)


def build_dcgan(cfg: Config, data: Any, n_classes: int) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The DCGAN pair for an image data set (``data.image_shape`` must be (C, 28, 28))."""
    shape = getattr(data, "image_shape", None)
    if shape is None or tuple(shape[1:]) != (SIDE, SIDE):
        raise ValueError("the DCGAN needs 28x28 image data (data.name 'mnist' or 'stacked_mnist')")
    C = int(shape[0])
    G = DCGANGenerator(cfg.model, C, n_classes)
    D = DCGANDiscriminator(cfg.model, C, cfg.train.pack, n_classes)
    return G, D


# The image recipes live with the other presets (a torch-free module the GUI reads early).
from .presets import CDCGAN_RECIPE, DCGAN_PLAIN_RECIPE, DCGAN_RECIPE  # noqa: E402

IMAGE_RECIPES: dict[str, dict[str, Any]] = {"dcgan": DCGAN_RECIPE, "dcgan-plain": DCGAN_PLAIN_RECIPE,
                                             "cdcgan": CDCGAN_RECIPE}

# Stacked MNIST mode-collapse comparison: Radford's DCGAN (the published anchor), plain and packed.
STACKED_RECIPES: dict[str, dict[str, Any]] = {
    "vanilla": dict(DCGAN_PLAIN_RECIPE),
    "pacgan2": {**DCGAN_PLAIN_RECIPE, "train.pack": 2},
}


def fixed_grid_inputs(latent_dim: int, prior: str = "gaussian", n_classes: int = 0, n: int = 64,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray | None, int]:
    """A fixed (z, y) for a sample grid, and its number of columns.

    Unconditional: ``n`` z drawn from ``seed`` (8 per row for 64), so the same digits form as
    training goes on. Conditional with 10 classes: one row per digit, the same ``n // 10`` z in
    every row, so a column shows one "style" written as 0..9. Other conditional sets (Stacked
    MNIST's 1,000 labels) use ``arange(n) % n_classes``.
    """
    from .models import sample_prior

    g = torch.Generator().manual_seed(seed)
    if n_classes and n_classes <= 10:
        cols = max(1, n // n_classes)
        z = sample_prior(cols, latent_dim, prior, g, "cpu").repeat(n_classes, 1)
        y = np.repeat(np.arange(n_classes), cols)
        return z.numpy(), y, cols
    z = sample_prior(n, latent_dim, prior, g, "cpu").numpy()
    y = np.arange(n) % n_classes if n_classes else None
    cols = int(np.ceil(np.sqrt(n)))
    return z, y, cols
