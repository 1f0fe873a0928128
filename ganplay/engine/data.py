"""One entry point for every data set a config can name (2D toys and images)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .config import DATASETS_2D, DataConfig
from .data2d import make_dataset


def make_data(cfg: DataConfig, points: np.ndarray | None = None) -> Any:
    """Return a data set with ``sample(n, generator, device)``, ``dim`` and optional
    ``n_classes``/``sample_labeled`` (labelled image data) or ``centers``/``density`` (2D)."""
    if cfg.name in DATASETS_2D:
        return make_dataset(cfg, points)
    from .mnist import make_image_dataset  # imported lazily: 2D users never pay for it

    return make_image_dataset(cfg)
