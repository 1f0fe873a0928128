"""Named training recipes. A preset sets model/loss/train fields only, never the data, so the
same recipe can be compared across data sets (``stable`` is one recipe for all 2D data).

A preset is a whole recipe: applying one puts every model/loss/train field it does not name back
to its default, and keeps only the fields in :data:`USER_FIELDS`. So ``stable`` is the same
config whether it is chosen in a fresh window, after ``dcgan`` in the window, in the compare view
or with ``ganplay train --preset stable`` (the data aside)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import IMAGE_DATASETS, Config, ConfigError, field_names, get_field, set_field

# Fields a preset leaves to the user: applying a preset keeps their current values, and no preset
# names one. They say what to learn and where, not how: the whole data section (which data set,
# its modes, noise, file...), the seed (so a comparison of recipes keeps one seed), the device and
# torch threads (the machine, not the recipe),
# how often the CLI measures and logs (reporting, not training), and the window's rewind memory. Every other field is part
# of the recipe and comes from the preset, or from the defaults when the preset does not name it.
USER_FIELDS: tuple[str, ...] = tuple(p for p in field_names() if p.startswith("data.")) + (
    "train.seed", "train.device", "train.eval_every", "train.log_every", "train.threads",
    "train.rewind_every", "train.rewind_mb",
)


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    fields: dict[str, Any]
    data_kind: str = "2d"   # "image": the recipe needs data.name = mnist or stacked_mnist


# Radford et al.'s DCGAN recipe for MNIST (model/loss/train fields only, like every preset): the
# paper's choices (BatchNorm, LeakyReLU D, Adam 2e-4, beta1 0.5) at a width that trains on a laptop CPU.
DCGAN_PLAIN_RECIPE: dict[str, Any] = {
    "model.arch": "dcgan", "model.latent_dim": 64, "model.g_width": 128, "model.d_width": 64,
    "model.g_norm": "batch", "model.d_norm": "batch", "model.g_activation": "relu",
    "model.d_activation": "leaky_relu", "model.spectral_norm": False, "model.init": "default",
    "model.conditional": False, "model.latent_modes": 0,
    "loss.name": "ns", "loss.real_label": 1.0, "train.lr_d": 2e-4, "train.lr_g": 2e-4,
    "train.beta1": 0.5, "train.beta2": 0.999, "train.batch_size": 64, "train.d_steps": 1,
    "train.pack": 1, "train.ema": 0.99, "train.steps": 5000,
}

# The shipped DCGAN: the same layers, with G told which of 10 latent modes it draws
# (model.latent_modes: a mixture prior, DeLiGAN-style), a D twice as wide and Adam at 1e-3.
# Measured with bench/mnist_quality.py on a 2-core CPU: the plain recipe stalls near an MNIST
# score of 6.7, because a connected Gaussian z forces G to draw in-between digits (half a 4,
# half a 9). Adam 1e-3 alone stayed below 6.6 and the wider D alone below 6.8; with the modes the
# score passes 8 within 5 minutes (20 modes: 8.1 with a lower recall; the D of width 64: 7.9 to
# 8.7 depending on the run, the D of width 128 was steadier).
DCGAN_RECIPE: dict[str, Any] = {
    **DCGAN_PLAIN_RECIPE, "model.latent_modes": 10, "model.d_width": 128,
    "train.lr_d": 1e-3, "train.lr_g": 1e-3,
}

# The class-conditional DCGAN (cGAN): Radford's networks told which digit to draw, so they need no
# latent modes. On the CPU it reaches a given MNIST score in fewer steps than the unconditional one.
CDCGAN_RECIPE: dict[str, Any] = {**DCGAN_PLAIN_RECIPE, "model.conditional": True}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("vanilla", "the classic GAN: non-saturating loss, plain MLPs, Adam 2e-4 (the DCGAN defaults), no stabiliser; collapses near one ring mode at a time and hops between modes", {
        # Exactly 'stable' without its stabilisers (no packing, no EMA) and at the customary lr.
        "model.latent_dim": 16, "model.g_depth": 2, "model.g_width": 128, "model.d_depth": 2,
        "model.d_width": 128, "model.g_activation": "relu", "model.d_activation": "leaky_relu",
        "model.spectral_norm": False, "loss.name": "ns", "loss.r1": 0.0, "train.lr_d": 2e-4,
        "train.lr_g": 2e-4, "train.beta1": 0.5, "train.beta2": 0.999, "train.d_steps": 1,
        "train.pack": 1, "train.ema": 0.0, "train.batch_size": 256, "train.steps": 10000,
    }),
    Preset("stable", "the tuned recipe: non-saturating loss, PacGAN-2, EMA of G, latent 16, Adam lr 1e-3, networks in the data's own units, 800 steps per mode (20,000 at least), rates falling to a tenth over the second half, for modes narrower than 1 % of the data's spread up to 4x the batch from half-way (from the start where they are narrower still) and 2x the steps (up to 4x where they are narrower still), and for more than 25 modes a wider D and a larger pack in a batch of 256 packs (the 7x7 grid: D 256, a pack of 4, 1,024 a batch)", {
        # Measured with bench/mode_coverage.py: packing keeps every mode, the EMA of G turns the
        # last steps' jitter into tight modes (high quality), and lr 1e-3 lets the grid's 25 modes
        # settle within the budget. R1 (gamma 0.1) gave no gain in a short grid test, and R1 or
        # spectral norm each cost about a third of the step rate, so neither is in the recipe.
        # Data units and the per-mode budget come from `ganplay sweep --table stable-robustness-edges`:
        # without them, grids that were wide (spacing 4), narrow (std 0.01) or large (7x7) lost
        # modes; G and D in units of the data's spread (the ring of radius 1 is already in them)
        # found all 25 of the wide grid (was 24) and of the narrow one (was 18), and the 7x7 grid
        # needs ~800 steps per mode. Rates falling to a tenth over the second half sharpen narrow
        # modes (ring r = 5, std 0.005, seed 0: 34 % -> 81 % high quality; the 5x5 grid with
        # std 0.01: 78 % -> 84 %; the protocol's grid: 93.4 % -> 93.8 %).
        # Narrow modes (std under 1 % of the spread) were found but stayed blurred: the 12-mode ring of
        # radius 5, std 0.005, seed 2 had 25 % high quality; 4x the batch took it to 65 % and, with
        # twice the steps, 83 % (60,000 steps at 256 a batch: 67 %, at more cost). A lower final rate,
        # a slower EMA or decaying only G's rate did not help (trainer.resolve_budget). The larger
        # batch is needed only where the rates fall (half-way): from the start, the ring of 3 with
        # std 0.005 at radius 2 lost a mode in one seed of three (train.late_batch_size). Where 4x is
        # short of the narrowness (the ring of 12 at radius 5, std 0.005: 10x) it is needed all along:
        # from half-way, that ring's three seeds fell from 73.6 % to 61.4 % high quality on average;
        # and it needs more steps: sqrt(10) x 20,000 took its worst seed from 60.4 % to 77.0 %.
        # The 7x7 grid lost a row or column of modes in one seed of three (the fold of G's map is set
        # by ~20,000 steps; more steps or instance noise only moved the lost row between seeds); a
        # D of 256 units found all 49 (trainer.discriminator_width), and on the narrowest 7x7 grid,
        # where it did not, a pack of 4 did (trainer.pack_size). The pack needs 256 packs a batch
        # (72 packs of 4 blurred every mode), so the batch grows to hold them: at 256 a batch with
        # a pack of 2 a wide 7x7 grid left a column thin (trainer.many_modes_batch; all from
        # train.many_modes).
        "model.latent_dim": 16, "model.g_depth": 2, "model.g_width": 128, "model.d_depth": 2,
        "model.d_width": 128, "model.g_activation": "relu", "model.d_activation": "leaky_relu",
        "model.spectral_norm": False, "loss.name": "ns", "loss.r1": 0.0, "train.lr_d": 1e-3,
        "train.lr_g": 1e-3, "train.beta1": 0.5, "train.beta2": 0.999, "train.d_steps": 1,
        "train.pack": 2, "train.ema": 0.999, "train.batch_size": 256, "train.steps": 20000,
        "model.data_norm": True, "train.steps_per_mode": 800, "train.lr_decay_from": 0.5,
        "train.narrow_width": 0.01, "train.many_modes": 25,
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
    Preset("dcgan", "DCGAN for MNIST: strided convolutions, BatchNorm, ReLU/tanh G, LeakyReLU D (twice Radford's width here), EMA of G, plus 10 latent modes (a mixture prior) and Adam 1e-3; MNIST score 8 in 3 to 5 minutes on a 2-core CPU", DCGAN_RECIPE, "image"),
    Preset("bigan", "BiGAN (Donahue et al.): an encoder E learns with G and D judges (x, E(x)) against (G(z), z); 2D latent, so the canvas shows E(x) in z-space", {
        # Measured on the ring, seed 0 (tests/test_bigan.py): plain BiGAN at Adam 2e-4 hops between
        # modes (1-6 of 8 covered over 3,000 steps) and |E(G(z)) - z| wanders between 0.8 and 3;
        # R1 (gamma 5) on the real pairs steadies D: every mode is kept, and the error falls from
        # ~1.3 to 0.47 by step 250, then oscillates between 0.56 and 1.05 up to step 3,000.
        "model.bigan": True, "model.latent_dim": 2, "model.g_width": 64, "model.d_width": 64,
        "loss.name": "ns", "loss.r1": 5.0, "train.lr_d": 5e-4, "train.lr_g": 5e-4,
        "train.batch_size": 128, "train.steps": 3000,
    }),
    Preset("dcgan-plain", "Radford et al.'s DCGAN for MNIST as published: Gaussian z, Adam 2e-4; draws more in-between digits than 'dcgan'", DCGAN_PLAIN_RECIPE, "image"),
    Preset("cdcgan", "class-conditional DCGAN for MNIST (set data.name=mnist): G(z, y), D(x, y), one row per digit", CDCGAN_RECIPE, "image"),
)}


def preset_names(data_kind: str | None = None) -> list[str]:
    """All preset names, or those for one kind of data ("2d" or "image")."""
    return [n for n, p in PRESETS.items() if data_kind is None or p.data_kind == data_kind]


def apply_preset(name: str, cfg: Config | None = None, adapt_data: bool = False) -> Config:
    """The preset's recipe: the default config with the preset's fields set, and with the
    :data:`USER_FIELDS` (data, seed, device, reporting) copied from ``cfg`` (defaults if None).
    Nothing else carries over from ``cfg``, so a field set by an earlier preset (dcgan's
    BatchNorm, ganlab's SGD) never leaks into the next one. ``cfg`` is left alone.

    With ``adapt_data`` (the window's preset menu) an image recipe chosen on 2D data switches the
    data to MNIST, and a 2D recipe chosen on images switches back to the ring, instead of leaving
    a config that cannot train.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}")
    out = Config()
    if cfg is not None:
        for path in USER_FIELDS:
            set_field(out, path, get_field(cfg, path))
    for path, val in PRESETS[name].fields.items():
        set_field(out, path, val)
    if adapt_data:
        image = out.data.name in IMAGE_DATASETS
        if PRESETS[name].data_kind == "image" and not image:
            out.data.name = "mnist"
        elif PRESETS[name].data_kind == "2d" and image:
            out.data.name = "ring"
        if PRESETS[name].data_kind == "2d":
            out.model.arch = "mlp"  # the convolutional nets only fit images
    return out
