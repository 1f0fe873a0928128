"""Named training recipes. A preset sets model/loss/train fields only, never the data, so the
same recipe can be compared across data sets (``stable`` is one recipe for all 2D data)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Config, ConfigError, set_field


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    fields: dict[str, Any]


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("vanilla", "the classic GAN of Goodfellow et al.: minimax loss, plain MLPs, Adam; collapses onto a few ring modes", {
        "model.latent_dim": 2, "model.g_depth": 2, "model.g_width": 128, "model.d_depth": 2,
        "model.d_width": 128, "loss.name": "minimax", "train.lr_d": 1e-3, "train.lr_g": 1e-3,
        "train.beta1": 0.5, "train.d_steps": 1, "train.batch_size": 256, "train.steps": 5000,
    }),
    Preset("stable", "the tuned recipe: non-saturating loss, spectral norm, R1, PacGAN-2, EMA of G; covers every mode", {
        "model.latent_dim": 16, "model.g_depth": 3, "model.g_width": 256, "model.d_depth": 3,
        "model.d_width": 256, "model.d_activation": "leaky_relu", "model.spectral_norm": True,
        "loss.name": "ns", "loss.r1": 0.1, "train.lr_d": 2e-4, "train.lr_g": 2e-4, "train.beta1": 0.5,
        "train.beta2": 0.999, "train.pack": 2, "train.ema": 0.999, "train.batch_size": 256,
        "train.steps": 10000,
    }),
    Preset("wgan-gp", "Wasserstein critic with gradient penalty (lambda = 10), 5 critic steps per G step", {
        "loss.name": "wgan-gp", "loss.gp_lambda": 10.0, "train.d_steps": 5, "train.lr_d": 1e-4,
        "train.lr_g": 1e-4, "train.beta1": 0.5, "train.beta2": 0.9, "model.latent_dim": 2,
        "train.steps": 5000,
    }),
    Preset("wgan", "Wasserstein GAN with weight clipping (c = 0.01) and RMSprop, 5 critic steps", {
        "loss.name": "wgan", "loss.clip": 0.01, "train.d_steps": 5, "train.opt_d": "rmsprop",
        "train.opt_g": "rmsprop", "train.lr_d": 5e-5, "train.lr_g": 5e-5, "train.momentum": 0.0,
        "train.steps": 5000,
    }),
    Preset("lsgan", "least-squares GAN (Mao et al.)", {
        "loss.name": "lsgan", "train.lr_d": 2e-4, "train.lr_g": 2e-4, "train.steps": 5000,
    }),
    Preset("hinge-sn", "hinge loss with a spectrally normalised D (SN-GAN)", {
        "loss.name": "hinge", "model.spectral_norm": True, "train.lr_d": 4e-4, "train.lr_g": 1e-4,
        "train.beta1": 0.0, "train.beta2": 0.9, "train.steps": 5000,
    }),
    Preset("unrolled", "unrolled GAN (Metz et al.): G's loss looks 5 D steps ahead", {
        "loss.name": "ns", "train.unrolled": 5, "train.lr_d": 1e-4, "train.lr_g": 1e-3,
        "model.latent_dim": 2, "train.steps": 5000,
    }),
    Preset("pacgan", "PacGAN: D judges packs of 4 samples, which penalises collapse", {
        "loss.name": "ns", "train.pack": 4, "train.batch_size": 256, "train.lr_d": 2e-4,
        "train.lr_g": 2e-4, "train.steps": 5000,
    }),
    Preset("ganlab", "GAN Lab's default model: one hidden layer of 8 ReLU units, batch 150, k = 2, SGD", {
        "model.latent_dim": 2, "model.g_depth": 1, "model.g_width": 8, "model.d_depth": 1,
        "model.d_width": 8, "loss.name": "ns", "train.batch_size": 150, "train.d_steps": 2,
        "train.opt_d": "sgd", "train.opt_g": "sgd", "train.lr_d": 0.1, "train.lr_g": 0.1,
        "train.momentum": 0.0, "train.steps": 5000,
    }),
)}


def preset_names() -> list[str]:
    return list(PRESETS)


def apply_preset(name: str, cfg: Config | None = None) -> Config:
    """A copy of ``cfg`` (default config if None) with the preset's fields set."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}")
    out = cfg.copy() if cfg is not None else Config()
    for path, val in PRESETS[name].fields.items():
        set_field(out, path, val)
    return out
