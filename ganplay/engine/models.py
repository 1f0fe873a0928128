"""MLP generator and discriminator for vector data (2D points, flattened images)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .config import ModelConfig


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}")


def norm_layer(name: str, width: int) -> nn.Module | None:
    if name == "batch":
        return nn.BatchNorm1d(width)
    if name == "layer":
        return nn.LayerNorm(width)
    return None


def mlp(in_dim: int, out_dim: int, depth: int, width: int, act: str, norm: str,
        spectral: bool = False, out_act: nn.Module | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        lin = nn.Linear(d, width)
        layers.append(_sn(lin) if spectral else lin)
        nl = norm_layer(norm, width)
        if nl is not None:
            layers.append(nl)
        layers.append(activation(act))
        d = width
    lin = nn.Linear(d, out_dim)
    layers.append(_sn(lin) if spectral else lin)
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


# How far apart the modes of ``latent_mode_code`` put their Gaussians: one-hot codes scaled by
# this are sqrt(2) * 3 = 4.2 apart, four standard deviations of z, so the modes barely overlap.
MODE_SCALE = 3.0


def latent_mode_code(z: torch.Tensor, modes: int) -> torch.Tensor:
    """``MODE_SCALE`` * one-hot(argmax z[:, :modes]): a discrete mode read off a Gaussian z.

    Why: a continuous prior is connected, but digits (or the modes of a ring) are not, so a plain
    G must spend part of z on in-between shapes (a 4 that is half a 9). Feeding G this code next to
    z makes its input a mixture of ``modes`` well separated Gaussians (as DeLiGAN's mixture prior),
    while z itself stays N(0, I): sampling, sliders and exported bundles need nothing new. The
    argmax of iid Gaussians is uniform, so every mode is drawn equally often.
    """
    k = z[:, :modes].argmax(1)
    # a comparison instead of one_hot keeps the graph exportable (torch.export, ONNX)
    return (k[:, None] == torch.arange(modes, device=z.device)[None]).to(z.dtype) * MODE_SCALE


class DataUnits(nn.Module):
    """The affine map between data units and the networks' units (``model.data_norm``): buffers
    ``shift`` (the data's centre) and ``scale`` (its spread), set by :func:`set_data_units`. Being
    buffers, they travel in every state_dict, snapshot, EMA copy and exported program."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(()))

    def to_data(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.scale + self.shift

    def from_data(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


def set_data_units(module: nn.Module, centre: Any, scale: float) -> None:
    """Give ``module``'s ``units`` (a G or D built with ``model.data_norm``) the data's centre and
    spread; no-op for a module without them."""
    units = getattr(module, "units", None)
    if isinstance(units, DataUnits):
        with torch.no_grad():
            units.shift.copy_(torch.as_tensor(np.asarray(centre), dtype=units.shift.dtype))
            units.scale.fill_(float(scale))


class MLPGenerator(nn.Module):
    """G(z[, y]) -> x. With ``n_classes`` > 0 a one-hot label is concatenated to z."""

    def __init__(self, cfg: ModelConfig, data_dim: int, n_classes: int = 0, out_tanh: bool = False):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.data_dim = data_dim
        self.n_classes = n_classes
        self.modes = cfg.latent_modes
        self.net = mlp(cfg.latent_dim + n_classes + self.modes, data_dim, cfg.g_depth, cfg.g_width,
                       cfg.g_activation, cfg.g_norm, out_act=nn.Tanh() if out_tanh else None)
        # images live in [-1, 1] already (out_tanh): data units only for vector data
        self.units = DataUnits(data_dim) if cfg.data_norm and not (out_tanh or cfg.bigan) else None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.modes:
            z = torch.cat([z, latent_mode_code(z, self.modes)], 1)
        if self.n_classes:
            assert y is not None, "a conditional generator needs labels"
            z = torch.cat([z, nn.functional.one_hot(y, self.n_classes).to(z.dtype)], 1)
        out = self.net(z)
        return out if self.units is None else self.units.to_data(out)


class MLPDiscriminator(nn.Module):
    """D(x[, y]) -> raw score. ``pack`` samples are concatenated (PacGAN) before D sees them."""

    def __init__(self, cfg: ModelConfig, data_dim: int, pack: int = 1, n_classes: int = 0,
                 data_units: bool | None = None):
        super().__init__()
        self.data_dim = data_dim
        wanted = cfg.data_norm and not cfg.bigan if data_units is None else data_units
        self.units = DataUnits(data_dim) if wanted else None
        self.pack = pack
        self.n_classes = n_classes
        in_dim = (data_dim + n_classes) * pack
        self.net = mlp(in_dim, 1, cfg.d_depth, cfg.d_width, cfg.d_activation, cfg.d_norm,
                       spectral=cfg.spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        if self.units is not None:
            x = self.units.from_data(x)
        if self.n_classes:
            assert y is not None, "a conditional discriminator needs labels"
            x = torch.cat([x, nn.functional.one_hot(y, self.n_classes).to(x.dtype)], 1)
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, -1)
        return self.net(x).squeeze(-1)


def init_weights(module: nn.Module, scheme: str) -> None:
    if scheme != "orthogonal":
        return
    for m in module.modules():
        if isinstance(m, nn.Linear):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.orthogonal_(w)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def sample_prior(n: int, dim: int, prior: str, generator: torch.Generator,
                 device: torch.device | str) -> torch.Tensor:
    if prior == "uniform":
        return torch.rand(n, dim, generator=generator, device=device) * 2 - 1
    return torch.randn(n, dim, generator=generator, device=device)
