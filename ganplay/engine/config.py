"""Configuration dataclasses, dotted-path overrides and TOML round trips.

A config is four sections (data, model, loss, train). Every field can be
addressed as ``section.field`` from the CLI (``--set data.modes=6``) and from
the GUI, and every value is validated here so both front ends share one set of
error messages.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints


class ConfigError(ValueError):
    """A config field name or value that cannot be used; the message names it."""


DATASETS_2D = (
    "ring", "grid", "two_gaussians", "gaussian", "line", "blobs", "spiral", "moons",
    "circles", "checkerboard", "swiss_roll", "segments", "points",
)
IMAGE_DATASETS = ("mnist", "stacked_mnist")
DATASETS = DATASETS_2D + IMAGE_DATASETS

F_DIVERGENCES = ("kl", "reverse_kl", "pearson", "neyman", "hellinger", "js", "tv", "gan")
LOSSES = (
    "minimax", "ns", "ml", "lsgan", "wgan", "wgan-gp", "hinge",
) + tuple(f"f-{d}" for d in F_DIVERGENCES)
ACTIVATIONS = ("relu", "leaky_relu", "tanh")
NORMS = ("none", "batch", "layer")
PRIORS = ("gaussian", "uniform")
INITS = ("default", "orthogonal")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DEVICES = ("auto", "cpu", "cuda")
ARCHS = ("mlp", "dcgan")


@dataclass
class DataConfig:
    name: str = "ring"
    modes: int = 8          # ring: number of Gaussians
    radius: float = 1.0     # ring radius
    std: float = 0.05       # std of each Gaussian (ring, grid, two_gaussians, gaussian)
    grid_n: int = 5         # grid: n x n Gaussians
    spacing: float = 2.0    # grid: distance between neighbouring centres
    noise: float = 0.05     # noise for line / spiral / moons / circles / swiss roll
    theta: float = 1.0      # segments: x position of the second segment
    path: str = ""          # points: .csv/.npy file of shape (N, 2); mnist: folder of IDX files
    limit: int = 0          # mnist: use only the first N images (0 = all)


@dataclass
class ModelConfig:
    arch: str = "mlp"
    latent_dim: int = 2
    prior: str = "gaussian"
    g_depth: int = 2
    g_width: int = 128
    d_depth: int = 2
    d_width: int = 128
    g_activation: str = "relu"
    d_activation: str = "relu"
    g_norm: str = "none"
    d_norm: str = "none"
    spectral_norm: bool = False
    init: str = "default"
    conditional: bool = False   # cGAN: G(z, y), D(x, y)
    # > 0: G reads a discrete mode k = argmax(z[:latent_modes]) next to z (models.latent_mode_code),
    # so the prior acts as a mixture of that many separated Gaussians (DeLiGAN-style)
    latent_modes: int = 0


@dataclass
class LossConfig:
    name: str = "ns"
    real_label: float = 1.0     # one-sided label smoothing: 0.9
    clip: float = 0.01          # WGAN weight clipping c (loss "wgan" only)
    gp_lambda: float = 10.0     # WGAN-GP penalty weight (loss "wgan-gp" only)
    gp: float = 0.0             # extra one-centred gradient penalty for any loss
    r1: float = 0.0             # R1 penalty gamma on real data


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 256
    d_steps: int = 1
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    opt_d: str = "adam"
    opt_g: str = "adam"
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.9       # SGD momentum / RMSprop momentum
    ema: float = 0.0            # EMA decay of G's weights (0 = off), e.g. 0.999
    unrolled: int = 0           # unrolled D look-ahead steps for G's loss
    pack: int = 1               # PacGAN packing degree m
    seed: int = 0
    device: str = "auto"
    eval_every: int = 500       # CLI: metrics every N steps (0 = only at the end)
    log_every: int = 10         # CLI: loss history every N steps


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def copy(self) -> "Config":
        return from_dict(to_dict(self))

    def validate(self) -> "Config":
        validate(self)
        return self


SECTIONS = ("data", "model", "loss", "train")

# Fields that may change between steps without rebuilding the networks.
LIVE_FIELDS = frozenset({
    "loss.name", "loss.real_label", "loss.clip", "loss.gp_lambda", "loss.gp", "loss.r1",
    "train.lr_d", "train.lr_g", "train.d_steps", "train.batch_size", "train.unrolled",
    "train.ema", "train.beta1", "train.beta2", "train.momentum", "train.steps",
    "train.eval_every", "train.log_every",
})

_CHOICES: dict[str, tuple[str, ...]] = {
    "data.name": DATASETS,
    "model.arch": ARCHS,
    "model.prior": PRIORS,
    "model.g_activation": ACTIVATIONS,
    "model.d_activation": ACTIVATIONS,
    "model.g_norm": NORMS,
    "model.d_norm": NORMS,
    "model.init": INITS,
    "loss.name": LOSSES,
    "train.opt_d": OPTIMIZERS,
    "train.opt_g": OPTIMIZERS,
    "train.device": DEVICES,
}

# (minimum, maximum) inclusive; None means unbounded on that side.
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "data.modes": (1, 1000), "data.radius": (1e-6, None), "data.std": (1e-6, None),
    "data.grid_n": (1, 100), "data.spacing": (1e-6, None), "data.noise": (0, None),
    "data.limit": (0, None),
    "model.latent_dim": (1, 4096), "model.g_depth": (0, 64), "model.g_width": (1, 65536),
    "model.d_depth": (0, 64), "model.d_width": (1, 65536), "model.latent_modes": (0, 1024),
    "loss.real_label": (0.5, 1.0), "loss.clip": (0, None), "loss.gp_lambda": (0, None),
    "loss.gp": (0, None), "loss.r1": (0, None),
    "train.steps": (0, None), "train.batch_size": (1, 1 << 20), "train.d_steps": (0, 1000),
    "train.lr_d": (0, 10), "train.lr_g": (0, 10), "train.beta1": (0, 0.9999),
    "train.beta2": (0, 0.99999), "train.momentum": (0, 0.9999), "train.ema": (0, 0.99999),
    "train.unrolled": (0, 100), "train.pack": (1, 64), "train.eval_every": (0, None),
    "train.log_every": (1, None),
}


def field_names() -> list[str]:
    """All dotted field names, in declaration order."""
    out = []
    for sec in SECTIONS:
        cls = type(getattr(Config(), sec))
        out += [f"{sec}.{f.name}" for f in fields(cls)]
    return out


def field_type(path: str) -> type:
    sec, name = _split(path)
    cls = type(getattr(Config(), sec))
    return get_type_hints(cls)[name]


def choices(path: str) -> tuple[str, ...] | None:
    return _CHOICES.get(path)


def value_range(path: str) -> tuple[float | None, float | None] | None:
    return _RANGES.get(path)


def _split(path: str) -> tuple[str, str]:
    parts = path.split(".")
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ConfigError(
            f"unknown config field '{path}': use section.field with a section among {', '.join(SECTIONS)}")
    sec, name = parts
    cls = type(getattr(Config(), sec))
    if name not in {f.name for f in fields(cls)}:
        known = ", ".join(f"{sec}.{f.name}" for f in fields(cls))
        raise ConfigError(f"unknown config field '{path}'; fields of [{sec}] are: {known}")
    return sec, name


def parse_value(path: str, raw: Any) -> Any:
    """Convert ``raw`` (a string from the CLI or a TOML value) to the field's type and check it."""
    typ = field_type(path)
    try:
        if typ is bool:
            if isinstance(raw, bool):
                val: Any = raw
            elif isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
                val = True
            elif isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
                val = False
            else:
                raise ValueError
        elif typ is int:
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            val = int(raw) if not isinstance(raw, str) else int(raw.strip())
        elif typ is float:
            if isinstance(raw, bool):
                raise ValueError
            val = float(raw)
        else:
            val = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"bad value {raw!r} for '{path}': expected {typ.__name__}") from None
    check_value(path, val)
    return val


def check_value(path: str, val: Any) -> None:
    import math

    if isinstance(val, float) and not math.isfinite(val):
        raise ConfigError(f"bad value {val!r} for '{path}': must be a finite number")
    opts = _CHOICES.get(path)
    if opts is not None and val not in opts:
        raise ConfigError(f"bad value {val!r} for '{path}': choose one of {', '.join(opts)}")
    rng = _RANGES.get(path)
    if rng is not None:
        lo, hi = rng
        if (lo is not None and val < lo) or (hi is not None and val > hi):
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            raise ConfigError(f"bad value {val!r} for '{path}': must lie in [{lo_s}, {hi_s}]")


def get_field(cfg: Config, path: str) -> Any:
    sec, name = _split(path)
    return getattr(getattr(cfg, sec), name)


def set_field(cfg: Config, path: str, raw: Any) -> None:
    sec, name = _split(path)
    setattr(getattr(cfg, sec), name, parse_value(path, raw))


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.field=value`` strings in order."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"bad override '{item}': expected section.field=value")
        path, raw = item.split("=", 1)
        set_field(cfg, path.strip(), raw.strip())
    return cfg


def validate(cfg: Config) -> None:
    for path in field_names():
        check_value(path, get_field(cfg, path))
    if cfg.train.batch_size % cfg.train.pack:
        raise ConfigError(
            f"bad value {cfg.train.batch_size} for 'train.batch_size': must be a multiple of "
            f"train.pack ({cfg.train.pack})")
    if cfg.model.arch == "dcgan" and cfg.data.name not in IMAGE_DATASETS:
        raise ConfigError("bad value 'dcgan' for 'model.arch': the DCGAN needs an image data set (mnist)")
    if cfg.model.latent_modes > cfg.model.latent_dim:
        raise ConfigError(
            f"bad value {cfg.model.latent_modes} for 'model.latent_modes': the mode is read from the "
            f"first latent_modes coordinates of z, so it must be at most model.latent_dim ({cfg.model.latent_dim})")
    if cfg.data.name == "points" and not cfg.data.path:
        raise ConfigError("'data.path' must name a .csv or .npy file when data.name is 'points'")


def to_dict(cfg: Config) -> dict[str, dict[str, Any]]:
    return dataclasses.asdict(cfg)


def from_dict(d: dict[str, Any], base: Config | None = None) -> Config:
    cfg = base.copy() if base is not None else Config()
    for sec, values in d.items():
        if sec not in SECTIONS:
            raise ConfigError(f"unknown config section '[{sec}]': sections are {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"config section '[{sec}]' must be a table")
        for name, raw in values.items():
            set_field(cfg, f"{sec}.{name}", raw)
    return cfg


def to_toml(cfg: Config) -> str:
    lines: list[str] = []
    for sec, values in to_dict(cfg).items():
        lines.append(f"[{sec}]")
        for name, val in values.items():
            lines.append(f"{name} = {_toml_value(val)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(val: Any) -> str:
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, (int, float)):
        return repr(val)
    s = str(val).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def load_toml(path: str | Path, base: Config | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{p}': {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{p}' is not valid TOML: {exc}") from None
    try:
        return from_dict(data, base)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
