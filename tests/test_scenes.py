"""Every teaching scene follows the form (engine/scenes/base.py), headless; and the bilinear game
against its closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ganplay.engine.scenes import SCENES, make_scene, scene_class
from ganplay.engine.scenes.base import Arrows, Curve, Heatmap, Points, SceneFrame, Segments, VLine
from ganplay.engine.scenes.bilinear import RULES, radius_after, rate, step_rule, trajectory


def _arrays(item):
    if isinstance(item, Curve):
        return [item.x, item.y]
    if isinstance(item, Points):
        return [item.xy] + ([item.values] if item.values is not None else [])
    if isinstance(item, Heatmap):
        return [item.values]
    if isinstance(item, Arrows):
        return [item.start, item.delta]
    if isinstance(item, Segments):
        return [item.xy]
    if isinstance(item, VLine):
        return [np.array([item.x])]
    raise AssertionError(f"unknown drawable {type(item).__name__}")


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_follows_the_form(name):
    cls = scene_class(name)
    entry = SCENES[name]
    assert (cls.name, cls.title, cls.group) == (name, entry.title, entry.group)
    assert len(cls.caption) > 80, "each scene has a 'what you see' paragraph"
    scene = make_scene(name, seed=0)
    frame = scene.frame()
    assert isinstance(frame, SceneFrame) and frame.plots
    for plot in frame.plots:
        names = [i.name for i in plot.items]
        assert len(names) == len(set(names)), f"{plot.key}: item names repeat"
        for item in plot.items:
            for a in _arrays(item):
                a = np.asarray(a, dtype=float)
                assert a.size == 0 or np.isfinite(a).all() or isinstance(item, Curve), (plot.key, item.name)
    for key, (px, py) in cls.drag.items():
        assert key in [p.key for p in frame.plots]
        for p in (px, py):
            assert p is None or cls.param(p).range is not None
    if cls.live:
        scene.advance(3)
        assert scene.step == 3
        scene.frame()
    # every control accepts the ends of its range and its choices, and refuses nonsense
    for p in cls.params:
        if p.choices:
            for c in p.choices:
                scene.set(p.name, c)
        elif p.range and not isinstance(p.default, bool):
            scene.set(p.name, p.range[0])
            scene.set(p.name, p.range[1])
            with pytest.raises(ValueError, match=p.name):
                scene.set(p.name, p.range[1] + abs(p.range[1]) + 1)
        scene.set(p.name, p.default)
    scene.frame()


@pytest.mark.parametrize("eta", [0.05, 0.2, 0.5])
def test_simultaneous_steps_grow_by_sqrt_one_plus_eta_squared(eta):
    path = trajectory("simultaneous", eta, (1.0, 0.5), 60)
    r = np.hypot(path[:, 0], path[:, 1])
    r0 = math.hypot(1.0, 0.5)
    expected = [radius_after("simultaneous", eta, r0, t) for t in range(61)]
    np.testing.assert_allclose(r, expected, rtol=1e-10)
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 + eta ** 2), rtol=1e-10)


@pytest.mark.parametrize("eta", [0.05, 0.2, 0.5])
def test_extragradient_shrinks_by_its_closed_form(eta):
    path = trajectory("extragradient", eta, (1.0, 0.5), 60)
    r = np.hypot(path[:, 0], path[:, 1])
    np.testing.assert_allclose(r[-1], radius_after("extragradient", eta, r[0], 60), rtol=1e-10)
    assert (np.diff(r) < 0).all()


@pytest.mark.parametrize("eta", [0.1, 0.5, 1.5])
def test_alternating_steps_stay_bounded_and_do_not_converge(eta):
    path = trajectory("alternating", eta, (1.0, 0.5), 5000)
    r = np.hypot(path[:, 0], path[:, 1])
    r0 = r[0]
    # the map has determinant 1 and conserves x² + y² + η·x·y (for |η| < 2): an ellipse, so the
    # radius stays within the ellipse's axes and never shrinks to the equilibrium
    q = path[:, 0] ** 2 + path[:, 1] ** 2 + eta * path[:, 0] * path[:, 1]
    np.testing.assert_allclose(q, q[0], rtol=1e-8)
    bound = math.sqrt(q[0] / (1 - eta / 2))
    assert r.max() <= bound * (1 + 1e-9) and r.max() < 4 * r0
    assert r[-1000:].min() > 0.2 * r0


def test_optimistic_steps_converge_for_a_small_rate():
    path = trajectory("optimistic", 0.1, (1.0, 0.5), 2000)
    r = np.hypot(path[:, 0], path[:, 1])
    assert r[-1] < 1e-3 * r[0]


def _companion(rule: str, eta: float) -> np.ndarray:
    """The rule's linear map on (x, y, x₋₁, y₋₁), read off step_rule column by column."""
    m = np.zeros((4, 4))
    for j in range(4):
        e = np.eye(4)[j]
        m[:2, j] = step_rule(rule, eta, e[:2], e[2:])
    m[2:, :2] = np.eye(2)
    return m


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("eta", [0.05, 0.2, 0.45, 0.8, 1.5])
def test_each_rules_rate_is_the_spectral_radius_of_its_map(rule, eta):
    rho = np.abs(np.linalg.eigvals(_companion(rule, eta))).max()
    assert rate(rule, eta) == pytest.approx(rho, rel=1e-7)


@pytest.mark.parametrize("eta", [0.05, 0.2, 0.4])
def test_optimistic_steps_shrink_at_their_closed_form_rate(eta):
    path = trajectory("optimistic", eta, (1.0, 0.5), 1500)
    r = np.hypot(path[:, 0], path[:, 1])
    observed = (r[1500] / r[1000]) ** (1 / 500)
    assert observed == pytest.approx(math.sqrt((1 + math.sqrt(1 - 4 * eta ** 2)) / 2), rel=1e-4)
    assert rate("optimistic", eta) < 1


def test_the_scene_reports_the_closed_form_beside_each_trajectory():
    scene = make_scene("bilinear", lr_simultaneous=0.3)
    scene.advance(40)
    frame = scene.frame()
    shown = frame.number("|(x, y)| simultaneous")
    assert "closed form" in shown
    value, closed = shown.split("  (closed form ")
    closed, per_step = closed.rstrip(")").split("; ×")
    assert float(value) == pytest.approx(float(closed), rel=1e-3)
    assert per_step == f"{rate('simultaneous', 0.3):.6g} a step"
    assert float(value) == pytest.approx(math.hypot(1, 0.5) * 1.09 ** 20, rel=1e-3)
    assert set(RULES) == {c.name for c in frame.plot("distance").items}
    scene.set("show_alternating", False)
    assert "alternating" not in {c.name for c in scene.frame().plot("distance").items}
