"""The teaching scenes (the lecture's pictures, live): one Qt-free module each, listed here.

``SCENES`` maps a scene's name to its entry (title, lecture group, ``"module:Class"``); modules
are imported when a scene is first asked for, so menus list the scenes without importing them.
The form every scene follows is in ``base.py``; a test checks each entry against its class.
"""
from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from .base import Scene

LECTURE_1 = "Lecture 1: the game and its divergences"
LECTURE_2 = "Lecture 2: games and dynamics"


class SceneEntry(NamedTuple):
    title: str
    group: str
    target: str   # "module:Class"


SCENES: dict[str, SceneEntry] = {
    "optimal_d": SceneEntry("The optimal discriminator and the JSD", LECTURE_1,
                            "ganplay.engine.scenes.optimal_d:OptimalD"),
    "saturation": SceneEntry("Saturating vs non-saturating G losses", LECTURE_1,
                             "ganplay.engine.scenes.saturation:Saturation"),
    "divergences": SceneEntry("Divergence explorer (f-GAN)", LECTURE_1,
                              "ganplay.engine.scenes.divergences:DivergenceExplorer"),
    "segments": SceneEntry("Wasserstein on parallel segments", LECTURE_1,
                           "ganplay.engine.scenes.segments:ParallelSegments"),
    "bilinear": SceneEntry("The bilinear game x·y", LECTURE_2, "ganplay.engine.scenes.bilinear:BilinearGame"),
    "dirac": SceneEntry("The Dirac GAN", LECTURE_2, "ganplay.engine.scenes.dirac:DiracGAN"),
}


def scene_class(name: str) -> type[Scene]:
    try:
        target = SCENES[name].target
    except KeyError:
        raise KeyError(f"no scene {name!r}; scenes: {', '.join(SCENES)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def make_scene(name: str, seed: int = 0, **values: Any) -> Scene:
    return scene_class(name)(seed=seed, **values)


def scene_classes() -> list[type[Scene]]:
    """Every scene class, in the registry's (the lecture's) order."""
    return [scene_class(n) for n in SCENES]
