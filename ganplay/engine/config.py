"""Configuration dataclasses, dotted-path overrides and TOML round trips.

A config is four sections (data, model, loss, train). Every field can be
addressed as ``section.field`` from the CLI (``--set data.modes=6``) and from
the GUI, and every value is validated here so both front ends share one set of
error messages.

Each field describes itself in one place, its ``dataclasses.field(metadata=...)`` (written with
:func:`option`): a one-line help, its choices or its inclusive range, and whether it is *live*
(changeable between training steps without rebuilding the networks). :func:`field_info` and
:func:`all_fields` read that metadata as :class:`FieldInfo` records; validation, the CLI's
``--set`` and ``--print-config``, and the window's setup panel (widgets, ranges, tooltips) all
read them, so a field's rules and help are written once.
"""
from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w


class ConfigError(ValueError):
    """A config field name or value that cannot be used; the message names it."""


DATASETS_2D = (
    "ring", "grid", "two_gaussians", "gaussian", "line", "blobs", "spiral", "moons",
    "circles", "checkerboard", "swiss_roll", "segments", "points",
)
# 2D mixtures whose samples know their mode: the mode index is the label of a conditional GAN
LABELED_2D = ("ring", "grid", "two_gaussians", "gaussian", "blobs")
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

Range = tuple[float | None, float | None]

# Honest upper bounds on sizes: far above what any recipe uses, low enough that one field alone
# (the others at their defaults) cannot ask for memory no desktop has. The presets use widths of
# 8-128 (the DCGAN recipes 64-128 channels), depths 1-2, latent sizes 2-64, batches of 64-256.
# - width <= 4096: an MLP hidden layer is width^2 weights, 16.8M (64 MiB) at 4096; with its
#   gradient and Adam's two moments 256 MiB a layer, so 16 layers stay near 4 GiB. The DCGAN's
#   widest layer is 8 * width^2 weights (134M at 4096, 2 GiB with Adam). 65536 would be 4.3G
#   weights (16 GiB) in a single MLP layer.
# - depth <= 16: deeper plain MLPs (no residuals) do not train as GANs; 16 x 4096^2 is the 4 GiB
#   above, where 64 layers would be 16 GiB.
# - latent size <= 4096: z's layer is latent_dim x width, small next to the hidden layers.
# - batch <= 65536: activations are batch x width per layer, 64 MiB per layer at the default
#   width 128 (MNIST: 65536 images are 205 MiB of input and ~1.6 GiB of DCGAN activations at
#   width 128); 2^20 samples would be 3.2 GiB of MNIST input alone.
MAX_WIDTH = 4096
MAX_DEPTH = 16
MAX_LATENT = 4096
MAX_BATCH = 65536
MAX_SEED = 2 ** 31 - 1   # torch.manual_seed overflows past 64 bits; 31 bits also fit a spin box


def option(default: Any, help: str, *, choices: tuple[str, ...] | None = None,
           range: Range | None = None, live: bool = False) -> Any:
    """A dataclass field that carries its own help, choices or (min, max) range (inclusive, None
    for unbounded) and live-ness."""
    return field(default=default, metadata={"help": help, "choices": choices, "range": range, "live": live})


@dataclass
class DataConfig:
    name: str = option(
        "ring", "Which distribution to learn: 2D toys (ring, grid, ...), your own points, or MNIST images.",
        choices=DATASETS)
    modes: int = option(8, "Number of Gaussians on the ring.", range=(1, 1000))
    radius: float = option(
        1.0, "Radius of the ring (or distance of the two Gaussians / blobs from the centre).",
        range=(1e-6, None))
    std: float = option(
        0.05, "Standard deviation of each Gaussian mode; 'high quality' means within 3 of them.",
        range=(1e-6, None))
    grid_n: int = option(5, "The grid has grid_n x grid_n Gaussians.", range=(1, 100))
    spacing: float = option(2.0, "Distance between neighbouring grid centres.", range=(1e-6, None))
    noise: float = option(0.05, "Noise added to the line, spiral, moons, circles or swiss roll.", range=(0, None))
    theta: float = option(1.0, "x position of the second segment (the WGAN paper's parallel-lines example).")
    path: str = option("", "A .csv or .npy file of (x, y) rows for 'points', or a folder of MNIST IDX files.")
    limit: int = option(0, "MNIST: train on the first N images only (0 = all).", range=(0, None))


@dataclass
class ModelConfig:
    arch: str = option(
        "mlp", "Network family: fully connected MLPs, or the convolutional DCGAN (images only).", choices=ARCHS)
    latent_dim: int = option(
        2, "Dimension of z; 1 or 2 lets the canvas draw G's manifold as a mesh.", range=(1, MAX_LATENT))
    prior: str = option(
        "gaussian", "Distribution of z: standard Gaussian N(0, I) or uniform U(-1, 1).", choices=PRIORS)
    g_depth: int = option(2, "Number of hidden layers in the generator.", range=(0, MAX_DEPTH))
    g_width: int = option(
        128, "Units per hidden layer of the generator (DCGAN: channels of its 7x7 layer).", range=(1, MAX_WIDTH))
    d_depth: int = option(2, "Number of hidden layers in the discriminator.", range=(0, MAX_DEPTH))
    d_width: int = option(
        128, "Units per hidden layer of the discriminator (DCGAN: channels of its 7x7 layer).",
        range=(1, MAX_WIDTH))
    g_activation: str = option("relu", "Hidden-layer non-linearity of the generator.", choices=ACTIVATIONS)
    d_activation: str = option(
        "relu", "Hidden-layer non-linearity of the discriminator (LeakyReLU is the DCGAN rule).",
        choices=ACTIVATIONS)
    g_norm: str = option(
        "none", "Normalisation after each hidden layer of G (BatchNorm or LayerNorm).", choices=NORMS)
    d_norm: str = option("none", "Normalisation after each hidden layer of D.", choices=NORMS)
    spectral_norm: bool = option(
        False, "Divide every D weight by its largest singular value, so D is 1-Lipschitz.")
    init: str = option("default", "Weight initialisation: PyTorch's default or orthogonal.", choices=INITS)
    conditional: bool = option(
        False, "Conditional GAN: G(z, y) and D(x, y) with y a class label (MNIST's digit, or the mode "
               "index of a 2D mixture: ring, grid, two_gaussians, gaussian, blobs).")
    # BiGAN (Donahue et al. 2016): an encoder E trained with G; D judges joint pairs (engine/bigan.py)
    bigan: bool = option(
        False, "BiGAN: an encoder E: x -> z learns with G, and D judges pairs (x, E(x)) against (G(z), z), "
               "so E learns to invert G (MLP networks; not with conditional, pack or unrolled).")
    # > 0: G reads a discrete mode k = argmax(z[:latent_modes]) next to z (models.latent_mode_code),
    # so the prior acts as a mixture of that many separated Gaussians (DeLiGAN-style)
    latent_modes: int = option(
        0, "K > 0: G also reads which of z's first K coordinates is largest, as a one-hot code, so its "
           "input is a mixture of K separated Gaussians and it need not draw in-between shapes (0 = off).",
        range=(0, 1024))
    # G's output and D's input in units of the data's own spread (models.MLPGenerator/MLPDiscriminator):
    # a grid 8 units wide then looks to both networks like the ring of radius 1 their init suits
    data_norm: bool = option(
        False, "Scale the data for the networks: G draws, and D reads, points in units of the data's own "
               "centre and spread (the RMS distance of a mixture's modes from their mean), so wide data sets "
               "train like the unit ring (2D MLPs only; ignored for images and BiGAN).")


@dataclass
class LossConfig:
    name: str = option("ns", "The game G and D play (in the window, hover over a loss for its formula).", choices=LOSSES, live=True)
    real_label: float = option(
        1.0, "Target for real samples in D's loss; 0.9 is one-sided label smoothing.",
        range=(0.5, 1.0), live=True)
    clip: float = option(
        0.01, "WGAN: D's weights are clipped to [-c, c] after each update.", range=(0, None), live=True)
    gp_lambda: float = option(
        10.0, "WGAN-GP: weight lambda of the (|grad D(x_hat)| - 1)^2 penalty on interpolates.",
        range=(0, None), live=True)
    gp: float = option(0.0, "Extra one-centred gradient penalty weight, for any loss.", range=(0, None), live=True)
    r1: float = option(0.0, "R1 penalty gamma/2 E|grad D(x)|^2 on real data (0 = off).", range=(0, None), live=True)


@dataclass
class TrainConfig:
    steps: int = option(
        2000, "Total steps of a CLI run (the window trains until you pause or reach 'stop at').",
        range=(0, None), live=True)
    batch_size: int = option(
        256, "Samples per batch for real and for generated data.", range=(1, MAX_BATCH), live=True)
    lr_decay_from: float = option(
        1.0, "From this fraction of train.steps on, both learning rates fall linearly to a tenth of their "
             "value at train.steps, and stay there: the last steps refine instead of jitter (1 = constant).",
        range=(0, 1), live=True)
    steps_per_mode: int = option(
        0, "A step budget that grows with the data: a run on a mixture of K modes trains at least "
           "steps_per_mode x K steps (train.steps is the floor; an explicit --steps wins; 0 = off).",
        range=(0, 1_000_000))
    narrow_width: float = option(
        0.0, "Narrow modes: on a mixture whose modes' std is below narrow_width x the data's spread, the "
             "batch grows by that ratio (4x at most) from the step the rates start to fall (train.late_batch_size; "
             "from the start where the modes are more than 4x narrower), "
             "and a per-mode budget (steps_per_mode) by its square root (the base budget, train.steps, by the "
             "square root of the whole ratio, up to 4x, where the batch is capped), since narrow modes need "
             "steadier gradients and longer refinement (0 = off).",
        range=(0, 1))
    late_batch_size: int = option(
        0, "The batch from the step the learning rates start to fall (train.lr_decay_from) on; before it, "
           "train.batch_size (0 = train.batch_size throughout). train.narrow_width sets it; a batch changed "
           "while training cancels it.", range=(0, MAX_BATCH))
    instance_noise: float = option(
        0.0, "Instance noise: the std of Gaussian noise added to every point D trains on, real and generated, "
             "in units of the data's spread (2D data) or of pixel values (images). It fades linearly to none at "
             "noise_until x train.steps: blurred modes give D smooth slopes that lead G to all of them (0 = off).",
        range=(0, 10), live=True)
    noise_until: float = option(
        1.0, "Instance noise fades linearly to none at this fraction of train.steps.", range=(0, 1), live=True)
    d_steps: int = option(1, "k: discriminator updates per generator update.", range=(0, 1000), live=True)
    lr_d: float = option(
        2e-4, "Learning rate of D's optimiser (TTUR: it is often higher than G's).", range=(0, 10), live=True)
    lr_g: float = option(2e-4, "Learning rate of G's optimiser.", range=(0, 10), live=True)
    opt_d: str = option("adam", "Optimiser of the discriminator.", choices=OPTIMIZERS)
    opt_g: str = option("adam", "Optimiser of the generator.", choices=OPTIMIZERS)
    beta1: float = option(0.5, "Adam's beta1 (momentum); 0.5 or 0 is usual for GANs.", range=(0, 0.9999), live=True)
    beta2: float = option(0.999, "Adam's beta2.", range=(0, 0.99999), live=True)
    momentum: float = option(0.9, "Momentum of SGD and RMSprop.", range=(0, 0.9999), live=True)
    ema: float = option(
        0.0, "Exponential moving average of G's weights (0 = off, e.g. 0.999); the views show the average.",
        range=(0, 0.99999), live=True)
    unrolled: int = option(
        0, "Unrolled GAN: G's loss looks this many D steps ahead (0 = off).", range=(0, 100), live=True)
    pack: int = option(1, "PacGAN: D judges packs of m samples, which penalises collapse.", range=(1, 64))
    many_modes: int = option(
        0, "Many modes: the recipe's D and pack are made for up to this many modes; on a mixture of more, "
           "D's width and the PacGAN pack double for each doubling of the modes, and the batch grows to hold "
           "256 packs (0 = off).", range=(0, 1_000_000))
    seed: int = option(
        0, "Random seed of the networks' initialisation and of the data and z streams.", range=(0, MAX_SEED))
    device: str = option("auto", "Where to train: auto (CUDA when present), CPU or CUDA.", choices=DEVICES)
    threads: int = option(
        0, "CPU threads for torch's operations: 0 = auto (chosen per workload by measurement: one for the "
           "2D MLPs, whose small operations only wait for each other on more), or a number to override it.",
        range=(0, 1024), live=True)
    eval_every: int = option(
        500, "Metrics every N steps (the window also bounds their cost in time; CLI: 0 = only at the end).",
        range=(0, None), live=True)
    log_every: int = option(10, "CLI: write the loss history every N steps.", range=(1, None), live=True)
    # engine/tensorboard.py; needs the tensorboard extra
    tensorboard: bool = option(
        False, "Write TensorBoard event files (losses, metrics, D(x) or sample grids): the CLI into "
               "RUN/tensorboard, the window into runs/<time>-window-<loss>-<data>/tensorboard; needs pip install "
               "'ganplay[tensorboard]'.", live=True)
    # engine/rewind.py: one snapshot is 0.4 MB for the default ring GAN, 11 MB for the MNIST DCGAN
    rewind_every: int = option(
        50, "Window: keep a snapshot of the training state every N steps, to rewind and branch from "
            "(0 = off).", range=(0, None), live=True)
    rewind_mb: int = option(
        128, "Window: memory for the rewind snapshots in MB; the oldest are dropped first (128 MB: the "
             "last 16,000 steps of the default ring GAN, 550 of the MNIST DCGAN).", range=(0, None), live=True)


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
_SECTION_CLASSES: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig,
                                     "train": TrainConfig}


@dataclass(frozen=True)
class FieldInfo:
    """What one config field is and accepts, read from its dataclass metadata."""
    path: str                                   # "section.name"
    type: type                                  # bool, int, float or str
    default: Any
    choices: tuple[str, ...] | None             # the accepted strings, or None
    range: Range | None                         # inclusive (min, max), None on an open side
    live: bool                                  # changeable between steps without a rebuild
    help: str                                   # one line

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.path.split(".", 1)[1]

    def allowed(self) -> str | None:
        """What values are accepted, in words ("one of a, b", "in [1, 4096]", "at least 0"), or
        None for a free string or number."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.type is bool:
            return "true or false"
        if self.range is None:
            return None
        lo, hi = self.range
        if lo is not None and hi is not None:
            return f"in [{_num(lo)}, {_num(hi)}]"
        if lo is not None:
            return f"at least {_num(lo)}"
        return f"at most {_num(hi)}"


def _num(x: float) -> str:
    """A bound as written by a person: 4096, 2147483647, 0.9999, 1e-06."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _build_fields() -> dict[str, FieldInfo]:
    out: dict[str, FieldInfo] = {}
    for sec in SECTIONS:
        cls = _SECTION_CLASSES[sec]
        hints = get_type_hints(cls)
        for f in fields(cls):
            md = f.metadata
            out[f"{sec}.{f.name}"] = FieldInfo(
                path=f"{sec}.{f.name}", type=hints[f.name], default=f.default,
                choices=md.get("choices"), range=md.get("range"), live=bool(md.get("live", False)),
                help=md.get("help", ""))
    return out


_FIELDS: dict[str, FieldInfo] = _build_fields()

# Fields that may change between steps without rebuilding the networks (from the metadata).
LIVE_FIELDS = frozenset(p for p, info in _FIELDS.items() if info.live)


def all_fields() -> list[FieldInfo]:
    """Every field's description, in declaration order (data, model, loss, train)."""
    return list(_FIELDS.values())


def field_info(path: str) -> FieldInfo:
    """The description of ``section.field``; a ConfigError naming it when there is none."""
    return _FIELDS[_check_path(path)]


def field_names() -> list[str]:
    """All dotted field names, in declaration order."""
    return list(_FIELDS)


def field_type(path: str) -> type:
    return field_info(path).type


def choices(path: str) -> tuple[str, ...] | None:
    info = _FIELDS.get(path)
    return info.choices if info else None


def value_range(path: str) -> Range | None:
    info = _FIELDS.get(path)
    return info.range if info else None


@cache
def _check_path(path: str) -> str:
    if path in _FIELDS:
        return path
    parts = path.split(".")
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ConfigError(
            f"unknown config field '{path}': use section.field with a section among {', '.join(SECTIONS)}")
    known = ", ".join(p for p in _FIELDS if p.startswith(parts[0] + "."))
    raise ConfigError(f"unknown config field '{path}'; fields of [{parts[0]}] are: {known}")


def _split(path: str) -> tuple[str, str]:
    sec, name = _check_path(path).split(".")
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
            if isinstance(raw, os.PathLike):
                raw = os.fspath(raw)
            if not isinstance(raw, str):  # a TOML number or list where a name or path belongs
                raise ValueError
            val = raw
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"bad value {raw!r} for '{path}': expected {typ.__name__}") from None
    check_value(path, val)
    return val


def check_value(path: str, val: Any) -> None:
    info = field_info(path)
    if isinstance(val, float) and not math.isfinite(val):
        raise ConfigError(f"bad value {val!r} for '{path}': must be a finite number")
    if info.choices is not None and val not in info.choices:
        raise ConfigError(f"bad value {val!r} for '{path}': choose one of {', '.join(info.choices)}")
    if info.range is not None:
        lo, hi = info.range
        if (lo is not None and val < lo) or (hi is not None and val > hi):
            lo_s = "-inf" if lo is None else _num(lo)
            hi_s = "inf" if hi is None else _num(hi)
            raise ConfigError(f"bad value {val!r} for '{path}': must lie in [{lo_s}, {hi_s}]")


def get_field(cfg: Config, path: str) -> Any:
    sec, name = _split(path)
    return getattr(getattr(cfg, sec), name)


def set_field(cfg: Config, path: str, raw: Any) -> None:
    sec, name = _split(path)
    setattr(getattr(cfg, sec), name, parse_value(path, raw))


def split_override(item: str) -> tuple[str, str]:
    """``"section.field=value"`` -> ``("section.field", "value")``, both stripped."""
    if "=" not in item:
        raise ConfigError(f"bad override '{item}': expected section.field=value")
    path, raw = item.split("=", 1)
    return path.strip(), raw.strip()


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.field=value`` strings in order."""
    for item in overrides:
        set_field(cfg, *split_override(item))
    return cfg


def validate(cfg: Config) -> None:
    for path in field_names():
        check_value(path, get_field(cfg, path))
    if cfg.train.batch_size % cfg.train.pack:
        raise ConfigError(
            f"bad value {cfg.train.batch_size} for 'train.batch_size': must be a multiple of "
            f"train.pack ({cfg.train.pack})")
    if cfg.train.late_batch_size % cfg.train.pack:
        raise ConfigError(
            f"bad value {cfg.train.late_batch_size} for 'train.late_batch_size': must be a multiple of "
            f"train.pack ({cfg.train.pack})")
    if cfg.model.arch == "dcgan" and cfg.data.name not in IMAGE_DATASETS:
        raise ConfigError("bad value 'dcgan' for 'model.arch': the DCGAN needs an image data set (mnist)")
    if cfg.model.latent_modes > cfg.model.latent_dim:
        raise ConfigError(
            f"bad value {cfg.model.latent_modes} for 'model.latent_modes': the mode is read from the "
            f"first latent_modes coordinates of z, so it must be at most model.latent_dim ({cfg.model.latent_dim})")
    if cfg.model.conditional and cfg.data.name in DATASETS_2D and cfg.data.name not in LABELED_2D:
        raise ConfigError(
            f"bad value True for 'model.conditional': the 2D data set '{cfg.data.name}' has no labels; a "
            f"conditional GAN needs mnist or a mixture whose mode is the label ({', '.join(LABELED_2D)})")
    if cfg.model.bigan:
        clash = [why for bad, why in (
            (cfg.model.arch != "mlp", "model.arch=mlp"), (cfg.model.conditional, "model.conditional=false"),
            (cfg.train.pack != 1, "train.pack=1"), (cfg.train.unrolled != 0, "train.unrolled=0"),
            (cfg.train.instance_noise > 0, "train.instance_noise=0")) if bad]
        if clash:
            raise ConfigError(f"bad value True for 'model.bigan': a BiGAN needs {', '.join(clash)}")
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


def to_toml(cfg: Config, *, comments: bool = False) -> str:
    """The config as TOML (written by tomli-w, so any string round-trips). ``comments``: precede
    each field with its help and what it accepts as ``#`` lines (still valid TOML)."""
    d = to_dict(cfg)
    if not comments:
        return tomli_w.dumps(d)
    lines: list[str] = []
    for sec, values in d.items():
        lines.append(f"[{sec}]")
        for name, val in values.items():
            info = _FIELDS[f"{sec}.{name}"]
            lines.append(f"# {_comment(info.help)}")
            notes = [n for n in (info.allowed(), "live: may change between training steps" if info.live
                                 else None) if n]
            if notes:
                lines.append(f"# {'; '.join(notes)}")
            lines.append(tomli_w.dumps({name: val}).rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def _comment(text: str) -> str:
    # a TOML comment may hold no control character but tab; help is one line, keep it so
    return "".join(ch if ch == "\t" or (ord(ch) >= 0x20 and ord(ch) != 0x7F) else " " for ch in text)


def load_toml(path: str | Path, base: Config | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{p}': {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file '{p}' is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "TOML files must be UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{p}' is not valid TOML: {exc}") from None
    try:
        return from_dict(data, base)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
