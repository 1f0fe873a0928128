"""The form every teaching scene takes: a Qt-free ``Scene`` that computes its picture as a
``SceneFrame`` of plain plot specs (curves, points, heat maps, arrows, segments), and declares its
controls as ``Param`` specs. One generic view (``ganplay/ui/scene_window.py``) draws any frame and
builds any scene's controls, so a new scene is one engine module, its test and a registry line.

A scene is small enough to step on the GUI thread: the view calls ``advance(n)`` with an ``n`` it
sizes from the measured cost of a step so that a tick stays within its time budget.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

Value = float | int | bool | str


@dataclass(frozen=True)
class Param:
    """One control of a scene. The kind follows the default: a ``bool`` is a check box, a ``str``
    with ``choices`` a drop-down, an ``int`` or ``float`` with ``range`` a slider with a spin box
    (``log`` makes the slider logarithmic)."""
    name: str
    label: str
    default: Value
    help: str = ""
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    log: bool = False
    resets: bool = True    # changing it restarts the scene's training (False: applied live)

    def check(self, value: Any) -> Value:
        """The value converted to this parameter's type, or ValueError naming the parameter."""
        if isinstance(self.default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(f"{self.name}: expected true or false, got {value!r}")
                return value.lower() in ("true", "1", "yes", "on")
            return bool(value)
        if self.choices is not None:
            if str(value) not in self.choices:
                raise ValueError(f"{self.name}: expected one of {', '.join(self.choices)}, got {value!r}")
            return str(value)
        try:
            v = int(value) if isinstance(self.default, int) else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: expected a number, got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"{self.name}: expected a finite number, got {value!r}")
        if self.range is not None and not (self.range[0] <= v <= self.range[1]):
            raise ValueError(f"{self.name}: {v} is outside [{self.range[0]}, {self.range[1]}]")
        return v


# ---- what a frame draws -----------------------------------------------------------------------
# Colours are hex strings or one of the roles the view maps to ganplay's canvas colours:
# "real", "fake", "d", "dstar", "g", "grey", "black", and "c0".."c7" (a colour-blind-safe cycle).

@dataclass
class Curve:
    name: str
    x: np.ndarray
    y: np.ndarray
    color: str = "c0"
    style: str = "solid"        # "solid", "dash" or "dot"
    fill: float | None = None   # fill down to this y (a density), or None


@dataclass
class Points:
    name: str
    xy: np.ndarray               # (n, 2)
    color: str = "c0"
    size: float = 6.0
    symbol: str = "o"            # pyqtgraph symbols: "o", "s", "t", "d", "+", "x", "star"
    values: np.ndarray | None = None   # per-point values in [0, 1] coloured by the D map, or None


@dataclass
class Heatmap:
    name: str
    values: np.ndarray           # (ny, nx), row 0 at y0
    extent: tuple[float, float, float, float]   # x0, x1, y0, y1
    levels: tuple[float, float] = (0.0, 1.0)
    cmap: str = "d"              # "d" (D's diverging map), "viridis" or "grey"


@dataclass
class Arrows:
    name: str
    start: np.ndarray            # (n, 2)
    delta: np.ndarray            # (n, 2)
    color: str = "black"


@dataclass
class Segments:
    name: str
    xy: np.ndarray               # (n, 2, 2): n segments from xy[i, 0] to xy[i, 1]
    color: str = "grey"
    style: str = "solid"


@dataclass
class VLine:
    name: str
    x: float
    color: str = "grey"
    style: str = "dash"


@dataclass
class Plot:
    """One panel of the scene. ``key`` names it across frames so the view reuses its items."""
    key: str
    title: str
    items: list[Any]
    xlabel: str = ""
    ylabel: str = ""
    xrange: tuple[float, float] | None = None
    yrange: tuple[float, float] | None = None
    log_y: bool = False
    square: bool = False         # equal scales on both axes (a plane, not a chart)
    legend: bool = True
    legend_corner: str = "top-left"   # "top-left", "top-right", "bottom-left" or "bottom-right"


@dataclass
class SceneFrame:
    plots: list[Plot]
    numbers: list[tuple[str, str]] = field(default_factory=list)   # (label, formatted value)
    step: int = 0
    status: str = ""             # one line under the plots: what is happening now

    def number(self, label: str) -> str:
        return dict(self.numbers)[label]

    def plot(self, key: str) -> Plot:
        return next(p for p in self.plots if p.key == key)

    def item(self, plot_key: str, name: str) -> Any:
        return next(i for i in self.plot(plot_key).items if i.name == name)


def fmt(x: float, digits: int = 4) -> str:
    """A number as the scenes' number panels show it ("inf" and "nan" spelled out)."""
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.{digits}g}" if abs(x) < 1e5 else f"{x:.3e}"


class Scene:
    """Base of the teaching scenes. Subclasses set the class attributes, and implement ``reset``
    (build the starting state from ``self.values`` and ``self.seed``), ``advance`` (``n`` steps of
    whatever the scene trains; scenes without training leave it a no-op and set ``live = False``)
    and ``frame``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    group: ClassVar[str] = ""          # the lecture part, e.g. "Lecture 1: the game"
    caption: ClassVar[str] = ""        # "what you see": one paragraph, may hold simple HTML
    params: ClassVar[tuple[Param, ...]] = ()
    live: ClassVar[bool] = True        # advance() trains something
    # Dragging in plot KEY sets these parameters from the pointer's (x, y); None ignores that axis.
    drag: ClassVar[dict[str, tuple[str | None, str | None]]] = {}

    def __init__(self, seed: int = 0, **values: Any):
        self.seed = int(seed)
        self.values: dict[str, Value] = {p.name: p.default for p in self.params}
        for k, v in values.items():
            self.values[k] = self.param(k).check(v)
        self.step = 0
        self.reset()

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(f"scene {cls.name!r} has no parameter {name!r}; it has: "
                       f"{', '.join(p.name for p in cls.params) or 'none'}")

    def set(self, name: str, value: Any) -> None:
        """Change one control; a parameter with ``resets`` restarts the scene from its new start."""
        p = self.param(name)
        self.values[name] = p.check(value)
        if p.resets:
            self.reset()
        else:
            self.changed(name)

    def changed(self, name: str) -> None:
        """A live (non-resetting) parameter changed; the next step uses it."""

    @property
    def steps_per_tick(self) -> int | None:
        """The most steps the view runs per frame: the ``speed`` control's value where the scene
        has one (``speed_param``), else None (as many as fit in the view's time budget)."""
        v = self.values.get("speed")
        return None if v is None else int(v)

    def reset(self) -> None:
        self.step = 0

    def advance(self, n: int = 1) -> None:
        """Run ``n`` training steps."""

    def frame(self) -> SceneFrame:
        raise NotImplementedError


def speed_param(default: int = 5) -> Param:
    """The "steps per frame" control of a scene whose steps are so cheap that, unbounded, the view
    would run all of them within a second or two: it keeps the dynamics watchable."""
    return Param("speed", "steps per frame", default,
                 "training steps drawn per frame (about 30 frames a second); at most what fits in "
                 "the frame's time budget", range=(1, 1000), resets=False)


def grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.linspace(lo, hi, n)


def curve_xy(xy: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(xy, dtype=float).reshape(-1, 2)
    return a[:, 0], a[:, 1]
