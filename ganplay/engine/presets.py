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
    Preset("vanilla", "the classic GAN: non-saturating loss, plain MLPs, Adam 2e-4 (the DCGAN defaults), no stabiliser; collapses near one ring mode at a time and hops between modes", {
        # Exactly 'stable' without its stabilisers (no packing, no EMA) and at the customary lr.
        "model.latent_dim": 16, "model.g_depth": 2, "model.g_width": 128, "model.d_depth": 2,
        "model.d_width": 128, "model.g_activation": "relu", "model.d_activation": "leaky_relu",
        "model.spectral_norm": False, "loss.name": "ns", "loss.r1": 0.0, "train.lr_d": 2e-4,
        "train.lr_g": 2e-4, "train.beta1": 0.5, "train.beta2": 0.999, "train.d_steps": 1,
        "train.pack": 1, "train.ema": 0.0, "train.batch_size": 256, "train.steps": 10000,
    }),
    Preset("stable", "the tuned recipe: non-saturating loss, PacGAN-2, EMA of G, latent 16, Adam lr 1e-3; covers every mode", {
        # Measured with bench/mode_coverage.py: packing keeps every mode, the EMA of G turns the
        # last steps' jitter into tight modes (high quality), and lr 1e-3 lets the grid's 25 modes
        # settle within the budget. R1 (gamma 0.1) gave no gain in a short grid test, and R1 or
        # spectral norm each cost about a third of the step rate, so neither is in the recipe.
        "model.latent_dim": 16, "model.g_depth": 2, "model.g_width": 128, "model.d_depth": 2,
        "model.d_width": 128, "model.g_activation": "relu", "model.d_activation": "leaky_relu",
        "model.spectral_norm": False, "loss.name": "ns", "loss.r1": 0.0, "train.lr_d": 1e-3,
        "train.lr_g": 1e-3, "train.beta1": 0.5, "train.beta2": 0.999, "train.d_steps": 1,
        "train.pack": 2, "train.ema": 0.999, "train.batch_size": 256, "train.steps": 20000,
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
