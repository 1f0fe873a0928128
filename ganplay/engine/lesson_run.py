"""A lesson played headless, as a class would play it (Qt-free): each page's setup applied, the
training or the scene stepped until the page's condition holds or its step budget is spent, the
user actions the condition asks for (a layer switched, a field changed) done on the way.

The window's lessons panel evaluates the same conditions on the same figures (``values``), so a
lesson that passes here unlocks its pages in the window too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lessons import Lesson, Page, ident


@dataclass
class PageResult:
    index: int
    title: str
    reached: bool            # the page's ``until`` held within its budget (True when it has none)
    steps: int               # steps taken on this page
    values: dict[str, float] = field(default_factory=dict)
    expect_ok: bool | None = None


def scene_values(scene: Any) -> dict[str, float]:
    """A lecture scene's numbers as condition values: each number's label made an identifier, its
    first number read (``"0.53  (closed form 0.53)"`` -> 0.53; ∞ -> inf)."""
    values: dict[str, float] = {"step": float(scene.step)}
    for label, text in scene.frame().numbers:
        t = str(text).replace("−", "-").replace("∞", "inf")
        m = re.search(r"[-+]?(?:inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)", t)
        if m:
            values[ident(label)] = float(m.group(0))
    if hasattr(scene, "values_for_lessons"):
        values.update(scene.values_for_lessons())
    return values


def trainer_values(trainer: Any, last: Any = None, n: int = 1000) -> dict[str, float]:
    """The playground's figures: the last step's statistics and the 2D metrics on ``n`` samples
    (the live charts' figures, as ``frames.live_metrics`` computes them, on fewer samples)."""
    from . import metrics as M

    out: dict[str, float] = {"step": float(trainer.step_count)}
    if last is not None:
        out.update({k: float(v) for k, v in last.as_dict().items() if k != "step"})
    data = trainer.data
    if getattr(data, "image_shape", None) is None:
        fake = trainer.sample(n, seed=10_000).astype(np.float64)
        real = data.sample_numpy(n, seed=20_000)
        m = M.sample_metrics(fake, real, data, w1_n=200)
        out.update({k: float(v) for k, v in m.items() if v is not None})
    return out


class LessonRun:
    """Plays ``lesson`` headless; ``check_every`` steps between two looks at the figures."""

    def __init__(self, lesson: Lesson, check_every: int = 50):
        self.lesson = lesson
        self.check_every = check_every
        self.trainer: Any = None
        self.scene: Any = None
        self.last: Any = None
        self.layers: set[str] = set()
        self.results: list[PageResult] = []

    # ---- one page
    def apply(self, page: Page) -> None:
        """The page's setup, as the window applies it."""
        s = page.setup
        if s.playground:
            from .trainer import Trainer

            self.scene = None
            if s.reset or self.trainer is None:
                self.trainer = Trainer(s.build_config())
                self.last = None
            else:
                for item in s.live_overrides():
                    path, _, raw = item.partition("=")
                    self.trainer.set(path.strip(), raw.strip())
        else:
            from .scenes import make_scene

            if s.reset or self.scene is None or self.scene.name != s.scene:
                self.scene = make_scene(s.scene, seed=s.seed or 0, **s.params)
            else:
                for k, v in s.params.items():
                    self.scene.set(k, v)
        if s.layers is not None:
            self.layers = set(s.layers)

    def values(self) -> dict[str, float]:
        if self.scene is not None:
            return scene_values(self.scene)
        return trainer_values(self.trainer, self.last) if self.trainer is not None else {}

    def fields(self) -> dict[str, Any]:
        if self.trainer is None:
            return {}
        from .config import get_field

        return FieldView(lambda p: get_field(self.trainer.cfg, p))

    def _user_actions(self, page: Page) -> None:
        """What the page asks the user to do (switch a layer, change a field), done."""
        if page.until is None:
            return
        for c in page.until.clauses:
            if c.kind == "layer":
                (self.layers.add if c.value == "on" else self.layers.discard)(c.name)
            elif c.kind == "field" and self.trainer is not None:
                self.trainer.set(c.name, c.value)

    def advance(self, n: int) -> None:
        if self.scene is not None:
            self.scene.advance(n)
        else:
            for _ in range(n):
                self.last = self.trainer.step()

    def run_page(self, i: int) -> PageResult:
        page = self.lesson.pages[i]
        self.apply(page)
        self._user_actions(page)
        steps = 0
        vals = self.values()
        until = page.until
        reached = until is None or until.holds(vals, self.layers, self.fields())
        while not reached and steps < page.budget:
            n = min(self.check_every, page.budget - steps)
            self.advance(n)
            steps += n
            vals = self.values()
            reached = until.holds(vals, self.layers, self.fields())  # type: ignore[union-attr]
        expect_ok = None if page.expect is None else page.expect.holds(vals, self.layers, self.fields())
        res = PageResult(i, page.title, reached, steps, vals, expect_ok)
        self.results.append(res)
        return res

    def run(self) -> list[PageResult]:
        return [self.run_page(i) for i in range(len(self.lesson.pages))]


class FieldView(dict):
    """Config fields read on demand (a condition names one or two of them)."""

    def __init__(self, get: Any):
        super().__init__()
        self._get = get

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self._get(key)
        except Exception:
            return default
