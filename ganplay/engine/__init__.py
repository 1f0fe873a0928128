"""The Qt-free engine: data, models, losses, trainer, metrics, runs and export."""
from __future__ import annotations

from typing import Any

__all__ = ["Config", "ConfigError", "NeedsReset", "StepStats", "Trainer", "TrainingDiverged"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562) so that `ganplay.engine.config` can be imported without torch: the window
    # builds its setup panel from the config before torch (a 2-3 s import) is loaded.
    if name in ("Config", "ConfigError"):
        from . import config

        return getattr(config, name)
    if name in ("NeedsReset", "StepStats", "Trainer", "TrainingDiverged"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'ganplay.engine' has no attribute {name!r}")
