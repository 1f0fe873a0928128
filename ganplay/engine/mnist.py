"""MNIST and Stacked MNIST as image data sets for the trainer.

Images are read from IDX files (gzipped or not) into one uint8 tensor per device and scaled to
[-1, 1] per batch, so 60,000 digits cost 47 MB, not 188 MB of floats. The 10,000 test digits ship
in ``assets/mnist`` so a fresh install trains offline; ``data.path`` names a folder with the full
training set instead.
"""
from __future__ import annotations

import functools
import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .config import DataConfig
from .data2d import DataFileError
from .limits import MAX_IDX_BYTES, MAX_IDX_ITEMS, human_bytes

Progress = Callable[[float, str], None]

IMAGES_MAGIC = 2051   # 0x00000803: unsigned byte, 3 dimensions
LABELS_MAGIC = 2049   # 0x00000801: unsigned byte, 1 dimension
SIDE = 28
STACKED_MODES = 1000

# File names in the order they are tried; the first existing pair wins.
_SPLITS = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    ("t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"),
)


# ---------------------------------------------------------------- IDX files
_CHUNK = 1 << 20


def _check_dims(p: Path, magic: int, dims: tuple[int, ...]) -> int:
    """The data bytes the header promises, after refusing shapes ganplay never reads; checked
    before any data is read or decompressed, so a small .gz that claims gigabytes costs nothing."""
    n = dims[0]
    if magic == IMAGES_MAGIC:
        if dims[1:] != (SIDE, SIDE):
            raise DataFileError(f"MNIST file '{p}' holds {dims[1]}x{dims[2]} images; 28x28 expected")
        if n == 0:
            raise DataFileError(f"MNIST file '{p}' holds no images (its header says 0): "
                                "it needs at least one 28x28 digit")
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    need = int(np.prod(dims, dtype=np.int64))
    if n > MAX_IDX_ITEMS or need > MAX_IDX_BYTES:
        raise DataFileError(
            f"MNIST file '{p}' claims {n:,} {kind} ({human_bytes(need)}) in its header; ganplay reads at "
            f"most {MAX_IDX_ITEMS:,} (5x the MNIST training set), so it was refused before decompressing")
    return need


def read_idx(path: str | Path, magic: int, progress: Progress | None = None, what: str = "") -> np.ndarray:
    """Read one IDX file (``magic`` 2051 images or 2049 labels, gzipped or not) into a uint8 array.

    The header is read first and its promised size checked against ``limits.MAX_IDX_ITEMS``; then
    exactly that many bytes are read (one more to refuse trailing data), never the whole stream.
    Every failure raises ``DataFileError`` naming the file: missing, not IDX, empty, too large,
    truncated.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"MNIST file '{p}' does not exist")
    what = what or p.name
    total = max(1, p.stat().st_size)
    ndim = magic & 0xFF
    head_len = 4 + 4 * ndim
    try:
        with open(p, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if gz else raw
            head = stream.read(head_len)
            if len(head) < 8:
                raise DataFileError(f"MNIST file '{p}' is too short to be an IDX file ({len(head)} bytes)")
            found = int.from_bytes(head[:4], "big")
            if found != magic:
                kind = "images (magic 2051)" if magic == IMAGES_MAGIC else "labels (magic 2049)"
                raise DataFileError(f"MNIST file '{p}' has magic number {found}, expected IDX {kind}")
            if len(head) < head_len:
                raise DataFileError(f"MNIST file '{p}' is truncated inside its header")
            dims = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
            need = _check_dims(p, magic, dims)
            buf = bytearray(need)
            view = memoryview(buf)
            got = 0
            while got < need:
                n = stream.readinto(view[got:got + _CHUNK])
                if not n:
                    break
                got += n
                if progress is not None:
                    progress(min(1.0, raw.tell() / total), f"reading {what} ({p.name})")
            if got < need:
                raise DataFileError(
                    f"MNIST file '{p}' is truncated: header promises {need} bytes of data for shape {dims}, "
                    f"found {got}")
            if stream.read(1):
                raise DataFileError(
                    f"MNIST file '{p}' holds more than the {need} bytes its header promises for shape {dims}: "
                    "trailing data or a damaged header")
            if progress is not None:
                progress(min(1.0, raw.tell() / total), f"reading {what} ({p.name})")
    except DataFileError:
        raise
    except (EOFError, OSError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(f"MNIST file '{p}' is damaged or truncated: {exc}") from None
    return np.frombuffer(buf, np.uint8).reshape(dims)


def _find(folder: Path, base: str) -> Path | None:
    for name in (base + ".gz", base):
        if (folder / name).is_file():
            return folder / name
    return None


def find_mnist_files(folder: str | Path) -> tuple[Path, Path]:
    """The (images, labels) files in a folder of MNIST IDX files, training split preferred."""
    f = Path(folder)
    if not f.exists():
        raise DataFileError(f"MNIST folder '{f}' does not exist")
    if f.is_file():  # an images file named directly: its labels sit beside it
        labels = f.parent / f.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
        if labels == f:
            raise DataFileError(f"'{f}' is not an MNIST images file name (e.g. train-images-idx3-ubyte.gz)")
        return f, labels
    for img_base, lab_base in _SPLITS:
        img = _find(f, img_base)
        if img is not None:
            lab = _find(f, lab_base)
            if lab is None:
                raise DataFileError(f"MNIST labels file '{f / (lab_base + '.gz')}' does not exist "
                                    f"(needed beside '{img.name}')")
            return img, lab
    raise DataFileError(
        f"no MNIST images in folder '{f}': expected train-images-idx3-ubyte[.gz] and "
        "train-labels-idx1-ubyte[.gz] (or the t10k files)")


@functools.lru_cache(maxsize=4)
def _load_cached(img: str, lab: str, stamp: tuple[float, int, float, int]) -> tuple[np.ndarray, np.ndarray]:
    # ``stamp`` (mtimes and sizes) makes an edited file a cache miss
    return _load_pair(Path(img), Path(lab), None)


def _load_pair(img: Path, lab: Path, progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(img, IMAGES_MAGIC, progress, "images")
    if x.shape[1:] != (SIDE, SIDE):
        raise DataFileError(f"MNIST file '{img}' holds {x.shape[1]}x{x.shape[2]} images; 28x28 expected")
    if len(x) == 0:
        raise DataFileError(f"MNIST file '{img}' holds no images: it needs at least one 28x28 digit")
    y = read_idx(lab, LABELS_MAGIC, progress, "labels")
    if len(y) != len(x):
        raise DataFileError(f"MNIST file '{lab}' has {len(y)} labels but '{img.name}' has {len(x)} images")
    if y.max(initial=0) > 9:
        raise DataFileError(f"MNIST file '{lab}' holds labels above 9")
    return x, y


def load_mnist(folder: str | Path | None = None, limit: int = 0,
               progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from ``folder`` or the shipped test set."""
    if folder:
        img, lab = find_mnist_files(folder)
    else:
        from ..assets import asset_path

        img, lab = find_mnist_files(asset_path("mnist"))
    for p in (img, lab):
        if not p.is_file():
            raise DataFileError(f"MNIST file '{p}' does not exist")
    if progress is not None:  # an uncached read, so the caller sees it move
        x, y = _load_pair(img, lab, progress)
    else:
        si, sl = os.stat(img), os.stat(lab)
        x, y = _load_cached(str(img.resolve()), str(lab.resolve()),
                            (si.st_mtime, si.st_size, sl.st_mtime, sl.st_size))
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y


# ---------------------------------------------------------------- data sets
@dataclass
class ImageDataset:
    """Digits as flat vectors in [-1, 1]: ``sample`` gives (n, C*28*28) like the 2D sets give (n, 2).

    ``stacked`` makes Stacked MNIST: three independent digits in three channels, label
    100*d0 + 10*d1 + d2 (1,000 modes).
    """

    name: str
    images: np.ndarray            # uint8 (N, 28, 28)
    labels: np.ndarray            # uint8 (N,)
    stacked: bool = False
    source: str = ""
    bounds: None = None           # no 2D plane to draw
    centers: None = None
    _cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict, repr=False)
    # classifier statistics of real images, filled by image_metrics.real_stats
    reference_cache: dict = field(default_factory=dict, repr=False)

    @property
    def channels(self) -> int:
        return 3 if self.stacked else 1

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, SIDE, SIDE)

    @property
    def dim(self) -> int:
        return self.channels * SIDE * SIDE

    @property
    def n_classes(self) -> int:
        return STACKED_MODES if self.stacked else 10

    def __len__(self) -> int:
        return len(self.images)

    def _tensors(self, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(torch.device(device))
        t = self._cache.get(key)
        if t is None:
            x = torch.from_numpy(self.images.reshape(len(self.images), -1)).to(device)
            y = torch.from_numpy(self.labels.astype(np.int64)).to(device)
            t = self._cache[key] = (x, y)
        return t

    def sample_labeled(self, n: int, generator: torch.Generator,
                       device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        x_all, y_all = self._tensors(device)
        k = self.channels
        idx = torch.randint(len(x_all), (n * k,), generator=generator, device=x_all.device)
        x = x_all[idx].reshape(n, k * SIDE * SIDE).float().div_(127.5).sub_(1.0)
        y = y_all[idx].reshape(n, k)
        if self.stacked:
            y = y[:, 0] * 100 + y[:, 1] * 10 + y[:, 2]
        return x, y.reshape(n)

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        return self.sample_labeled(n, generator, device)[0]

    def real_numpy(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n real images (n, C, 28, 28) in [-1, 1] and their labels, drawn with a fixed seed."""
        x, y = self.sample_labeled(n, torch.Generator().manual_seed(seed), "cpu")
        return x.reshape((n,) + self.image_shape).numpy(), y.numpy()


def make_image_dataset(cfg: DataConfig, progress: Progress | None = None) -> ImageDataset:
    """MNIST (``data.name`` 'mnist') or Stacked MNIST ('stacked_mnist') from ``data.path`` or the
    shipped 10,000 test digits, cut to the first ``data.limit`` images when set."""
    if cfg.name not in ("mnist", "stacked_mnist"):
        raise ValueError(f"'{cfg.name}' is not an image data set")
    x, y = load_mnist(cfg.path or None, cfg.limit, progress)
    src = cfg.path or "shipped MNIST test set"
    return ImageDataset(cfg.name, x, y, stacked=cfg.name == "stacked_mnist", source=src)
