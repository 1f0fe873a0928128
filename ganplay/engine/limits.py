"""Upper bounds on what ganplay reads from user files, checked before anything is inflated or
allocated, so a hostile or damaged file is refused in milliseconds with a message instead of
costing gigabytes (issue 16, "Nothing trained is ever lost").

Every bound is far above what ganplay itself writes; the message that quotes one names the file.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# ---------------------------------------------------------------- MNIST IDX files
MNIST_TRAIN_IMAGES = 60_000
MNIST_SIDE = 28
# 5x the MNIST training set: 300,000 images of 28x28 (235 MB of uint8); EMNIST "digits"
# (240,000 training images, labels 0..9) still fits.
MAX_IDX_ITEMS = 5 * MNIST_TRAIN_IMAGES
MAX_IDX_BYTES = MAX_IDX_ITEMS * MNIST_SIDE * MNIST_SIDE

# ---------------------------------------------------------------- 2D point files
# 4 million (x, y) rows (32 MB as float32); a CSV may spend 64 bytes a row on average.
MAX_POINT_ROWS = 4_000_000
MAX_CSV_BYTES = MAX_POINT_ROWS * 64

# ---------------------------------------------------------------- sessions and bundles
# The GUI's chart series thin themselves at 400,000 points; a session may store 1,000,000
# float64 values per chart column.
MAX_CHART_POINTS = 1_000_000
# Room for the containers' own headers (safetensors JSON, the torch.export graph, ONNX protos).
MEMBER_MARGIN = 16 << 20


def _fmt(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB' (for messages)."""
    return _fmt(float(n))


def _data_stub(cfg: Any) -> SimpleNamespace:
    """What ``build_networks`` reads from a data set, derived from the config alone (no files)."""
    name = cfg.data.name
    if name in ("mnist", "stacked_mnist"):
        c = 3 if name == "stacked_mnist" else 1
        return SimpleNamespace(dim=c * MNIST_SIDE * MNIST_SIDE, n_classes=1000 if c == 3 else 10,
                               image_shape=(c, MNIST_SIDE, MNIST_SIDE))
    from .config import LABELED_2D

    if name in LABELED_2D:  # a mixture's labels are its modes; built from the config, no files
        from .data2d import make_dataset

        return SimpleNamespace(dim=2, image_shape=None, n_classes=make_dataset(cfg.data).n_classes)
    return SimpleNamespace(dim=2, image_shape=None)  # other 2D sets: no labels


def network_bytes(cfg: Any) -> tuple[int, int]:
    """Bytes of G's and D's state dicts (parameters and buffers) for a validated config, computed
    by building both networks on the ``meta`` device: nothing is allocated, whatever the config."""
    import torch

    from .trainer import build_networks

    with torch.device("meta"):
        G, D = build_networks(cfg, _data_stub(cfg))

    def size(m: Any) -> int:
        return sum(t.numel() * t.element_size() for t in m.state_dict().values())

    if cfg.model.bigan:  # the encoder learns with G, under G's optimiser
        return size(G) + size(D.encoder), size(D)
    return size(G), size(D)
