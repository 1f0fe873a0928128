"""2D toy distributions: samplers with their mode centres and exact densities where known."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from scipy.special import ndtr

from .config import ConfigError, DataConfig
from .limits import MAX_CSV_BYTES, MAX_POINT_ROWS, human_bytes


class DataFileError(ValueError):
    """A user data file that cannot be used; the message names the file."""


SampleFn = Callable[[int, torch.Generator, torch.device], torch.Tensor]
LabeledFn = Callable[[int, torch.Generator, torch.device], tuple[torch.Tensor, torch.Tensor]]
DensityFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class Dataset2D:
    """A 2D distribution: ``sample`` draws on a device from a seeded generator.

    ``centers``/``std`` are set for Gaussian mixtures (the VEEGAN mode metrics use them);
    ``density`` evaluates the exact density on an (N, 2) array where it is known.
    ``labeled_fn`` (mixtures) draws the same samples with their mode index: the label of a
    conditional GAN on 2D data (``sample_labeled``, ``n_classes``).
    """

    name: str
    sample_fn: SampleFn
    centers: np.ndarray | None = None
    std: float | None = None
    density: DensityFn | None = None
    bounds: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)
    dim: int = 2
    labeled_fn: LabeledFn | None = None

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        return self.sample_fn(n, generator, torch.device(device))

    def sample_numpy(self, n: int, seed: int = 0) -> np.ndarray:
        g = torch.Generator().manual_seed(seed)
        return self.sample(n, g, "cpu").numpy().astype(np.float64)

    @property
    def n_modes(self) -> int:
        return 0 if self.centers is None else len(self.centers)

    @property
    def n_classes(self) -> int:
        """Labels a conditional GAN can ask for: the mixture's modes, 0 for unlabeled data."""
        return self.n_modes if self.labeled_fn is not None else 0

    def spread(self) -> tuple[np.ndarray, float]:
        """(centre, scale): where the data lies and how far it reaches, the units ``model.data_norm``
        gives the networks. A mixture's are exact: its modes' mean and their RMS distance from it
        (the ring of radius r: 0 and r); other data's come from 10,000 seeded samples."""
        pts = self.centers if self.centers is not None and len(self.centers) > 1 else self.sample_numpy(10_000)
        centre = pts.mean(0)
        scale = float(np.sqrt(((pts - centre) ** 2).sum(1).mean()))
        return centre, max(scale, 1e-3)

    @property
    def relative_width(self) -> float | None:
        """A mixture's mode std over its spread (the protocol's ring: 0.01); ``None`` for data
        without Gaussian modes. ``train.narrow_width`` compares against it."""
        if self.centers is None or len(self.centers) < 2 or not self.std:
            return None
        return float(self.std) / self.spread()[1]

    def sample_labeled(self, n: int, generator: torch.Generator,
                       device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(x, the index of the mode each x was drawn from)."""
        if self.labeled_fn is None:
            raise ValueError(f"the 2D data set '{self.name}' has no labels")
        return self.labeled_fn(n, generator, torch.device(device))


def _mixture(centers: np.ndarray, std: float) -> tuple[SampleFn, DensityFn, LabeledFn]:
    c_t = torch.as_tensor(centers, dtype=torch.float32)
    cache: dict[torch.device, torch.Tensor] = {}

    def labeled(n: int, g: torch.Generator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        c = cache.get(device)
        if c is None:
            c = cache[device] = c_t.to(device)
        idx = torch.randint(len(c), (n,), generator=g, device=device)
        return c[idx] + std * torch.randn(n, 2, generator=g, device=device), idx

    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        return labeled(n, g, device)[0]

    def density(xy: np.ndarray) -> np.ndarray:
        d2 = ((xy[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * std**2)).mean(1) / (2 * math.pi * std**2)

    return sample, density, labeled


def _bounds_from_centers(centers: np.ndarray, std: float, margin: float = 0.25) -> tuple[float, float, float, float]:
    lo = centers.min(0) - 4 * std
    hi = centers.max(0) + 4 * std
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2
    half = span / 2 * (1 + margin)
    return (float(mid[0] - half), float(mid[0] + half), float(mid[1] - half), float(mid[1] + half))


def _bounds_from_samples(sample_fn: SampleFn) -> tuple[float, float, float, float]:
    pts = sample_fn(4000, torch.Generator().manual_seed(1234), torch.device("cpu")).numpy()
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2
    half = span / 2 * 1.25
    return (float(mid[0] - half), float(mid[0] + half), float(mid[1] - half), float(mid[1] + half))


def ring_centers(k: int, radius: float) -> np.ndarray:
    ang = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(ang), np.sin(ang)], 1)


def grid_centers(n: int, spacing: float) -> np.ndarray:
    ax = spacing * (np.arange(n) - (n - 1) / 2)
    xx, yy = np.meshgrid(ax, ax, indexing="xy")
    return np.stack([xx.ravel(), yy.ravel()], 1)


def _mixture_dataset(name: str, centers: np.ndarray, std: float) -> Dataset2D:
    s, d, lab = _mixture(centers, std)
    return Dataset2D(name, s, centers, std, d, _bounds_from_centers(centers, std), labeled_fn=lab)


def _line(noise: float) -> Dataset2D:
    half = math.sqrt(2.0)  # segment from (-1,-1) to (1,1) has half-length sqrt(2)
    s_ = max(noise, 1e-6)

    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        t = torch.rand(n, 1, generator=g, device=device) * 2 - 1
        return t.expand(n, 2) + noise * torch.randn(n, 2, generator=g, device=device)

    def density(xy: np.ndarray) -> np.ndarray:
        u = (xy[:, 0] + xy[:, 1]) / math.sqrt(2)
        w = (xy[:, 1] - xy[:, 0]) / math.sqrt(2)
        along = (ndtr((half - u) / s_) - ndtr((-half - u) / s_)) / (2 * half)
        across = np.exp(-(w**2) / (2 * s_**2)) / (math.sqrt(2 * math.pi) * s_)
        return along * across

    return Dataset2D("line", sample, None, None, density, _bounds_from_samples(sample))


def _spiral(noise: float) -> Dataset2D:
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        t = torch.sqrt(torch.rand(n, generator=g, device=device)) * 3 * math.pi
        r = t / (3 * math.pi) * 2
        x = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
        return x + noise * torch.randn(n, 2, generator=g, device=device)

    return Dataset2D("spiral", sample, None, None, None, _bounds_from_samples(sample))


def _moons(noise: float) -> Dataset2D:
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        t = torch.rand(n, generator=g, device=device) * math.pi
        which = torch.randint(2, (n,), generator=g, device=device).float()
        x = torch.where(which > 0, 1 - torch.cos(t), torch.cos(t))
        y = torch.where(which > 0, 0.5 - torch.sin(t), torch.sin(t))
        pts = torch.stack([x - 0.5, y - 0.25], 1)
        return pts + noise * torch.randn(n, 2, generator=g, device=device)

    return Dataset2D("moons", sample, None, None, None, _bounds_from_samples(sample))


def _circles(noise: float) -> Dataset2D:
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        t = torch.rand(n, generator=g, device=device) * 2 * math.pi
        r = torch.where(torch.randint(2, (n,), generator=g, device=device) > 0, 1.0, 0.5)
        pts = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
        return pts + noise * torch.randn(n, 2, generator=g, device=device)

    return Dataset2D("circles", sample, None, None, None, _bounds_from_samples(sample))


def _checkerboard() -> Dataset2D:
    # 4x4 board on [-2, 2]^2, the 8 squares with (i + j) even are filled.
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        x1 = torch.rand(n, generator=g, device=device) * 4 - 2
        x2_ = torch.rand(n, generator=g, device=device) - torch.randint(2, (n,), generator=g, device=device) * 2.0
        x2 = x2_ + (torch.floor(x1) % 2)
        return torch.stack([x1, x2], 1) * 1.0

    def density(xy: np.ndarray) -> np.ndarray:
        inside = (np.abs(xy) < 2).all(1)
        parity = (np.floor(xy[:, 0]) + np.floor(xy[:, 1])) % 2 == 0
        return np.where(inside & parity, 1.0 / 8.0, 0.0)

    return Dataset2D("checkerboard", sample, None, None, density, (-2.5, 2.5, -2.5, 2.5))


def _swiss_roll(noise: float) -> Dataset2D:
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g, device=device))
        pts = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / 7.0
        return pts + noise * torch.randn(n, 2, generator=g, device=device)

    return Dataset2D("swiss_roll", sample, None, None, None, _bounds_from_samples(sample))


def _segments(theta: float) -> Dataset2D:
    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        y = torch.rand(n, generator=g, device=device)
        return torch.stack([torch.full_like(y, theta), y], 1)

    b = (min(theta, 0.0) - 1.0, max(theta, 0.0) + 1.0, -0.5, 1.5)
    return Dataset2D("segments", sample, None, None, None, b)


def _npy_header(p: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a .npy file, from its header alone."""
    from numpy.lib import format as npformat

    with open(p, "rb") as fh:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = npformat.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _fortran, dtype = npformat.read_array_header_2_0(fh)
        else:
            raise DataFileError(f"data file '{p}' is a .npy of format version {version[0]}.{version[1]}, "
                                "which ganplay does not read; save it with numpy.save")
        return tuple(int(d) for d in shape), dtype, fh.tell()


def _load_npy(p: Path) -> np.ndarray:
    """A .npy of (N, 2) numbers, its header checked before anything is allocated."""
    shape, dtype, offset = _npy_header(p)
    if dtype.hasobject or dtype.kind not in "fiu":
        raise DataFileError(f"data file '{p}' holds {dtype} values; ganplay reads numbers only")
    if len(shape) != 2 or shape[1] != 2:
        raise DataFileError(f"data file '{p}' has shape {shape}; expected (N, 2)")
    rows = shape[0]
    if rows > MAX_POINT_ROWS:
        raise DataFileError(f"data file '{p}' claims {rows:,} rows in its header; ganplay reads at most "
                            f"{MAX_POINT_ROWS:,} points")
    need = rows * 2 * dtype.itemsize
    have = p.stat().st_size - offset
    if have < need:
        raise DataFileError(f"data file '{p}' is truncated: its header promises {rows:,} rows "
                            f"({need} bytes), the file holds {max(have, 0)}")
    return np.load(p, allow_pickle=False)


def _load_csv(p: Path) -> np.ndarray:
    """Rows of ``x,y`` (an optional header line), at most ``MAX_POINT_ROWS`` of them."""
    import warnings

    size = p.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataFileError(f"data file '{p}' is {human_bytes(size)}; ganplay reads CSV files up to "
                            f"{human_bytes(MAX_CSV_BYTES)} ({MAX_POINT_ROWS:,} points)")
    cap = MAX_POINT_ROWS + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            arr = np.loadtxt(p, delimiter=",", ndmin=2, max_rows=cap)
        except ValueError:
            arr = np.loadtxt(p, delimiter=",", ndmin=2, skiprows=1, max_rows=cap)  # a header line
    if len(arr) > MAX_POINT_ROWS:
        raise DataFileError(f"data file '{p}' has more than {MAX_POINT_ROWS:,} rows; ganplay reads at most "
                            f"{MAX_POINT_ROWS:,} points")
    return arr


def load_points(path: str | Path) -> np.ndarray:
    """Read an (N, 2) array from a .csv or .npy file, with errors that name the file.

    Sizes are checked before reading: a .npy header's shape against the file's size and
    ``limits.MAX_POINT_ROWS``, a CSV's bytes against ``limits.MAX_CSV_BYTES`` and its rows as read.
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"data file '{p}' does not exist")
    if p.is_dir():
        raise DataFileError(f"data file '{p}' is a folder; give a .csv or .npy file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            arr = _load_npy(p)
        elif suffix in (".csv", ".txt"):
            arr = _load_csv(p)
        else:
            raise DataFileError(f"data file '{p}': unsupported type '{suffix}', use .csv or .npy")
    except DataFileError:
        raise
    except MemoryError:
        raise DataFileError(f"data file '{p}' is too large to read into memory") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"data file '{p}' could not be read: {exc}") from None
    return check_points(arr, str(p))


def check_points(arr: np.ndarray, source: str = "points") -> np.ndarray:
    arr = np.asarray(arr)
    if arr.size == 0:
        raise DataFileError(f"data file '{source}' is empty: it needs at least one (x, y) row")
    if arr.dtype.kind not in "fiu":
        raise DataFileError(f"data file '{source}' holds non-numeric values ({arr.dtype})")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise DataFileError(f"data file '{source}' has shape {arr.shape}; expected (N, 2)")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(1).sum())
        raise DataFileError(f"data file '{source}' has {bad} row(s) with NaN or infinite values")
    return arr.astype(np.float32)


def points_dataset(points: np.ndarray, name: str = "points") -> Dataset2D:
    pts = torch.as_tensor(check_points(points, name))
    cache: dict[torch.device, torch.Tensor] = {}

    def sample(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        p = cache.get(device)
        if p is None:
            p = cache[device] = pts.to(device)
        return p[torch.randint(len(p), (n,), generator=g, device=device)]

    lo, hi = pts.numpy().min(0), pts.numpy().max(0)
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2
    half = span / 2 * 1.25
    b = (float(mid[0] - half), float(mid[0] + half), float(mid[1] - half), float(mid[1] + half))
    return Dataset2D("points", sample, None, None, None, b)


def make_dataset(cfg: DataConfig, points: np.ndarray | None = None) -> Dataset2D:
    """Build the 2D data set a config names. ``points`` overrides ``cfg.path`` for drawn data."""
    n = cfg.name
    if n == "ring":
        return _mixture_dataset(n, ring_centers(cfg.modes, cfg.radius), cfg.std)
    if n == "grid":
        return _mixture_dataset(n, grid_centers(cfg.grid_n, cfg.spacing), cfg.std)
    if n == "two_gaussians":
        return _mixture_dataset(n, np.array([[-cfg.radius, 0.0], [cfg.radius, 0.0]]), cfg.std)
    if n == "gaussian":
        return _mixture_dataset(n, np.zeros((1, 2)), cfg.std)
    if n == "blobs":
        return _mixture_dataset(n, ring_centers(3, cfg.radius) @ np.array([[0, 1], [-1, 0]]), cfg.std)
    if n == "line":
        return _line(cfg.noise)
    if n == "spiral":
        return _spiral(cfg.noise)
    if n == "moons":
        return _moons(cfg.noise)
    if n == "circles":
        return _circles(cfg.noise)
    if n == "checkerboard":
        return _checkerboard()
    if n == "swiss_roll":
        return _swiss_roll(cfg.noise)
    if n == "segments":
        return _segments(cfg.theta)
    if n == "points":
        if points is not None:
            return points_dataset(points)
        return points_dataset(load_points(cfg.path), cfg.path)
    raise ConfigError(f"bad value {n!r} for 'data.name': not a 2D data set")
