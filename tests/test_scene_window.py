"""The Scenes window: every scene opens and paints quickly, controls and dragging change the
scene, live scenes step on the timer; the playground's Scenes menu opens it."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from ganplay.engine.scenes import SCENES  # noqa: E402

FIRST_PAINT_S = 1.0   # the bound; a busy CI box gets twice that


@pytest.fixture
def scene_window(qtbot):
    import torch  # noqa: F401  (as in the playground, whose Scenes menu opens them: the first paint
    # measures the scene, not importing torch, 1 to 4 s here, which a torch scene run alone paid)

    from ganplay.ui.scene_window import SceneWindow

    w = SceneWindow("bilinear")
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.mark.parametrize("name", list(SCENES))
def test_every_scene_opens_paints_and_steps(scene_window, qtbot, name):
    w = scene_window
    w.open_scene(name)
    assert w.first_paint_s is not None and w.first_paint_s < 2 * FIRST_PAINT_S
    assert w.scene.name == name and w.title_label.text() == SCENES[name].title
    assert set(w.views) == {p.key for p in w.frame.plots}
    assert set(w.controls) == {p.name for p in w.scene.params}
    if w.scene.live:
        assert w.playing
        with qtbot.waitSignal(w.framePainted, timeout=5000, check_params_cb=lambda step: step > 0):
            pass
        w.set_playing(False)
        step = w.scene.step
        w.step_button.click()
        assert w.scene.step == step + 1


def test_a_control_changes_the_scene_and_the_scene_its_control(scene_window, qtbot):
    w = scene_window
    w.set_playing(False)
    spin = w.controls["lr_simultaneous"].spin
    spin.setValue(0.5)
    assert w.scene.values["lr_simultaneous"] == pytest.approx(0.5)
    assert w.scene.step == 0, "a resetting parameter restarts the trajectories"
    w.advance(10)
    assert "closed form" in w.frame.number("|(x, y)| simultaneous")
    w.set_param("x0", -1.5)
    assert w.controls["x0"].spin.value() == pytest.approx(-1.5)
    box = w.controls["show_optimistic"]
    box.setChecked(False)
    assert not w.views["plane"].items["optimistic"].isVisible()


def test_dragging_in_the_plane_moves_the_start(scene_window, qtbot):
    w = scene_window
    w.set_playing(False)
    w.resize(1400, 800)
    qtbot.wait(50)
    view = w.views["plane"]
    from PySide6.QtCore import QPointF

    target = view.pi.vb.mapViewToScene(QPointF(-1.0, 1.25))
    assert w._drag_to(target)
    assert w.scene.values["x0"] == pytest.approx(-1.0, abs=0.02)
    assert w.scene.values["y0"] == pytest.approx(1.25, abs=0.02)
    assert w.controls["y0"].spin.value() == pytest.approx(w.scene.values["y0"], abs=1e-3)


def test_the_playground_menu_opens_the_scenes(open_window, qtbot):
    from ganplay.engine.config import Config

    w = open_window(Config(), backend="thread")
    titles = [a.text() for a in w.scenes_menu.actions() if not a.isSeparator()]
    for entry in SCENES.values():
        assert entry.title in titles
    act = next(a for a in w.scenes_menu.actions() if a.text() == SCENES["bilinear"].title)
    act.trigger()
    view = w.scene_window
    assert view.isVisible() and view.scene.name == "bilinear"
    view.close()


@pytest.mark.parametrize("name", ["bilinear", "dirac"])
def test_a_speed_control_caps_the_steps_of_a_tick(scene_window, name):
    """Scenes with cheap steps would otherwise run all of them within a second or two."""
    w = scene_window
    w.open_scene(name)
    w.set_param("speed", 3)
    w.step_cost = 1e-6           # a tick's budget would fit thousands of steps
    step = w.scene.step
    w._tick()
    assert w.scene.step == step + 3
