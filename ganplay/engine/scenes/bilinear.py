"""The bilinear game min_y max_x x·y: four ways of taking gradient steps, from one start point.

x ascends f(x, y) = x·y (its gradient is y), y descends it (its gradient is x). The only
equilibrium is (0, 0). Each update rule is a linear map of (x, y), so its distance to the
equilibrium after t steps has a closed form (``radius_after``), which the tests check:

- simultaneous:  x' = x + ηy,  y' = y − ηx             |(x, y)| grows by √(1 + η²) a step;
- alternating:   x' = x + ηy,  y' = y − ηx'            area-preserving: bounded cycles (η < 2);
- optimistic:    x' = x + η(2y − y₋₁), y' = y − η(2x − x₋₁)   spirals in for η < ½;
- extragradient: a look-ahead half step, then the step with the look-ahead's gradient
                 |(x, y)| shrinks by √(1 − η² + η⁴) a step.

Every rule's long-run factor a step is the spectral radius of its linear map (``rate``). In the
complex coordinate w = x + iy the optimistic step is w' = (1 − 2iη)w + iηw₋₁, whose roots
λ = (1 − 2iη ± √(1 − 4η²))/2 have |λ|² = (1 ± √(1 − 4η²))/2; alternating steps have determinant 1
and trace 2 − η², so both eigenvalues lie on the unit circle for η < 2.
"""
from __future__ import annotations

import math

import numpy as np

from . import LECTURE_2
from .base import Arrows, Curve, Param, Plot, Points, Scene, SceneFrame, fmt, speed_param

RULES = ("simultaneous", "alternating", "optimistic", "extragradient")
COLOURS = {"simultaneous": "c4", "alternating": "c1", "optimistic": "c2", "extragradient": "c0"}
MAX_STEPS = 4000
BLOW_UP = 1e3     # a trajectory this far out is stopped: the plane could not show it anyway


def step_rule(rule: str, eta: float, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """One step of ``rule`` from ``cur`` (``prev``: the point before it, for the optimistic rule)."""
    x, y = float(cur[0]), float(cur[1])
    if rule == "simultaneous":
        return np.array([x + eta * y, y - eta * x])
    if rule == "alternating":
        x2 = x + eta * y
        return np.array([x2, y - eta * x2])
    if rule == "optimistic":
        gx, gy = y, x
        gx0, gy0 = float(prev[1]), float(prev[0])
        return np.array([x + eta * (2 * gx - gx0), y - eta * (2 * gy - gy0)])
    if rule == "extragradient":
        xh, yh = x + eta * y, y - eta * x
        return np.array([x + eta * yh, y - eta * xh])
    raise ValueError(f"unknown update rule {rule!r}; rules: {', '.join(RULES)}")


def trajectory(rule: str, eta: float, start: tuple[float, float], steps: int) -> np.ndarray:
    """The points (steps + 1, 2) of ``rule`` from ``start``."""
    out = np.empty((steps + 1, 2))
    out[0] = start
    prev = out[0]
    for t in range(steps):
        out[t + 1] = step_rule(rule, eta, out[t], prev)
        prev = out[t]
    return out


def radius_after(rule: str, eta: float, r0: float, t: int) -> float | None:
    """The closed-form distance to (0, 0) after ``t`` steps, where the rule has one (a rotation
    times a scaling): simultaneous and extragradient. None for the others."""
    if rule == "simultaneous":
        return r0 * (1 + eta ** 2) ** (t / 2)
    if rule == "extragradient":
        return r0 * (1 - eta ** 2 + eta ** 4) ** (t / 2)
    return None


def rate(rule: str, eta: float) -> float:
    """The factor by which a step of ``rule`` scales the distance to (0, 0) in the long run (the
    spectral radius of its linear map): > 1 spirals out, 1 cycles, < 1 spirals in."""
    if rule == "simultaneous":
        return math.sqrt(1 + eta ** 2)
    if rule == "alternating":
        # eigenvalues (2 − η² ± √((2 − η²)² − 4))/2: a conjugate pair on the unit circle for η < 2
        disc = (2 - eta ** 2) ** 2 - 4
        return 1.0 if disc <= 0 else (abs(2 - eta ** 2) + math.sqrt(disc)) / 2
    if rule == "optimistic":
        disc = 1 - 4 * eta ** 2
        if disc >= 0:
            return math.sqrt((1 + math.sqrt(disc)) / 2)
        return math.sqrt(0.25 + (eta + math.sqrt(-disc) / 2) ** 2)
    if rule == "extragradient":
        return math.sqrt(1 - eta ** 2 + eta ** 4)
    raise ValueError(f"unknown update rule {rule!r}; rules: {', '.join(RULES)}")


class BilinearGame(Scene):
    name = "bilinear"
    title = "The bilinear game x·y"
    group = LECTURE_2
    caption = (
        "The simplest adversarial game: x maximises x·y, y minimises it, and the only equilibrium is "
        "the centre. The arrows are the game's vector field (y, −x): it circles the equilibrium and "
        "never points at it. <b>Simultaneous</b> gradient steps (red) spiral <i>out</i>, by √(1+η²) a "
        "step; <b>alternating</b> steps (orange) cycle for ever; <b>optimistic</b> (green) and "
        "<b>extragradient</b> (blue) steps correct for the rotation and spiral in. Drag in the plane "
        "to move the start; the right chart is each rule's distance to (0, 0), log scale, and the "
        "numbers give each rule's factor a step (its linear map's spectral radius)."
    )
    params = (
        Param("x0", "start x", 1.0, "where every trajectory starts", range=(-2.0, 2.0)),
        Param("y0", "start y", 0.5, "where every trajectory starts", range=(-2.0, 2.0)),
        Param("lr_simultaneous", "η simultaneous", 0.1, "learning rate of simultaneous steps", range=(0.001, 1.0),
              log=True),
        Param("lr_alternating", "η alternating", 0.1, "learning rate of alternating steps", range=(0.001, 1.9),
              log=True),
        Param("lr_optimistic", "η optimistic", 0.1, "learning rate of optimistic steps", range=(0.001, 0.5),
              log=True),
        Param("lr_extragradient", "η extragradient", 0.1, "learning rate of extragradient steps",
              range=(0.001, 1.0), log=True),
        Param("show_simultaneous", "show simultaneous", True),
        Param("show_alternating", "show alternating", True),
        Param("show_optimistic", "show optimistic", True),
        Param("show_extragradient", "show extragradient", True),
        speed_param(5),
    )
    drag = {"plane": ("x0", "y0")}

    def reset(self) -> None:
        super().reset()
        # preallocated, so that a frame draws views of the paths instead of copying lists of points
        self.xy = {r: np.empty((MAX_STEPS + 1, 2)) for r in RULES}
        for r in RULES:
            self.xy[r][0] = float(self.values["x0"]), float(self.values["y0"])
        self.length = dict.fromkeys(RULES, 1)

    def path(self, rule: str) -> np.ndarray:
        """The points (t + 1, 2) ``rule`` has visited (fewer than the steps if it blew up)."""
        return self.xy[rule][:self.length[rule]]

    def eta(self, rule: str) -> float:
        return float(self.values[f"lr_{rule}"])

    def advance(self, n: int = 1) -> None:
        n = min(n, MAX_STEPS - self.step)
        for rule in RULES:
            xy, k, eta = self.xy[rule], self.length[rule], self.eta(rule)
            for _ in range(n):
                if not math.hypot(xy[k - 1, 0], xy[k - 1, 1]) <= BLOW_UP:
                    break
                xy[k] = step_rule(rule, eta, xy[k - 1], xy[max(k - 2, 0)])
                k += 1
            self.length[rule] = k
        self.step += max(n, 0)

    def frame(self) -> SceneFrame:
        lim = 2.5
        g = np.linspace(-lim, lim, 11)
        gx, gy = np.meshgrid(g, g)
        start = np.column_stack([gx.ravel(), gy.ravel()])
        field = np.column_stack([gy.ravel(), -gx.ravel()]) * 0.12
        plane = [Arrows("_field", start, field, color="grey")]
        dist = []
        numbers = []
        r0 = math.hypot(float(self.values["x0"]), float(self.values["y0"]))
        for rule in RULES:
            if not self.values[f"show_{rule}"]:
                continue
            path = self.path(rule)
            plane.append(Curve(rule, path[:, 0], path[:, 1], color=COLOURS[rule]))
            plane.append(Points(f"_{rule}_now", path[-1:], color=COLOURS[rule], size=9))
            r = np.hypot(path[:, 0], path[:, 1])
            dist.append(Curve(rule, np.arange(len(r), dtype=float), np.maximum(r, 1e-12), color=COLOURS[rule]))
            closed = radius_after(rule, self.eta(rule), r0, len(r) - 1)
            per_step = f"×{fmt(rate(rule, self.eta(rule)), 6)} a step"
            numbers.append((f"|(x, y)| {rule}", fmt(float(r[-1])) + "  ("
                            + (f"closed form {fmt(closed)}; " if closed is not None else "") + per_step + ")"))
        plane.append(Points("equilibrium", np.zeros((1, 2)), color="black", size=10, symbol="+"))
        plane.append(Points("start", np.array([[self.values["x0"], self.values["y0"]]], dtype=float),
                            color="black", size=8, symbol="s"))
        return SceneFrame(
            plots=[Plot("plane", "The (x, y) plane", plane, xlabel="x (maximises x·y)", ylabel="y (minimises x·y)",
                        xrange=(-lim, lim), yrange=(-lim, lim), square=True, legend=False),
                   Plot("distance", "Distance to the equilibrium", dist, xlabel="step", ylabel="|(x, y)|",
                        log_y=True, legend_corner="bottom-left")],
            numbers=[("step", str(self.step))] + numbers,
            step=self.step,
            status="stopped: every rule ran its 4,000 steps" if self.step >= MAX_STEPS else "",
        )
