"""Lessons and scene files in the real window: a lesson's pages apply their setups, highlight
parts of the window and unlock Next on their conditions; a saved scene opens in a fresh window
with the same first frames; a bad file leaves the session untouched; teacher mode hides controls."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from ganplay.engine.config import Config, apply_overrides, to_dict  # noqa: E402
from ganplay.engine.lessons import load_lesson, save_scene_file  # noqa: E402
from ganplay.live.layers import LAYER_NAMES  # noqa: E402

SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64"]
LESSON = '''ganplay = "lesson"
title = "A short lesson"

[[page]]
title = "Train a little"
preset = "vanilla"
seed = 2
set = ["model.g_width=32", "model.d_width=32", "train.batch_size=64"]
layers = ["surface", "real", "fake", "centers"]
play = true
highlight = ["layer:centers", "chart:Losses", "widget:play", "graph:D"]
text = "<p>Press Play and watch the generated samples move for thirty steps.</p>"
until = "step >= 30"
budget = 30

[[page]]
title = "Switch on the arrows"
reset = false
highlight = ["panel:formulas"]
text = "<p>Switch on the gradient arrows in the View menu to see where G's loss pushes each sample.</p>"
until = "layer arrows on"

[[page]]
title = "The x·y game"
scene = "bilinear"
params = { lr_simultaneous = 0.3 }
play = true
text = "<p>Simultaneous gradient steps on x·y spiral out; the other rules do not. Watch ten steps.</p>"
until = "step >= 10"
budget = 10
'''


@pytest.fixture(scope="module")
def window(open_window):
    return open_window(apply_overrides(Config(), SMALL), backend="thread")


def _reset(qtbot, w):
    with qtbot.waitSignal(w.resetDone, timeout=30_000):
        pass


def test_a_lesson_applies_highlights_and_unlocks_its_pages(window, qtbot, tmp_path):
    w = window
    path = tmp_path / "short.toml"
    path.write_text(LESSON, encoding="utf-8")
    panel = w.lesson_panel
    with qtbot.waitSignal(w.resetDone, timeout=30_000):
        w.open_file(str(path))
    assert panel.dock.isVisible() and panel.index == 0
    assert w.config.train.seed == 2 and w.config.model.g_width == 32
    assert w._visible_layers() == {"surface", "real", "fake", "centers"}
    assert not panel.next_button.isEnabled()
    # the highlights: the layer forward (the others faded), the chart's border, a frame on Play, the graph's D
    qtbot.waitUntil(lambda: bool(panel.highlighter.active), timeout=5000)
    assert set(panel.highlighter.active) == {"layer:centers", "chart:Losses", "widget:play", "graph:D"}
    assert w.canvas.visuals["surface"].items[0].opacity() < 1.0
    assert len(panel.highlighter.frames) == 1 and panel.highlighter.frames[0].isVisible()
    with qtbot.waitSignal(panel.pageUnlocked, timeout=60_000):
        pass
    assert panel.next_button.isEnabled() and w.current_step >= 30
    panel.next()
    assert panel.index == 1 and not panel.next_button.isEnabled()
    assert w.canvas.visuals["surface"].items[0].opacity() == 1.0, "the first page's highlights are gone"
    with qtbot.waitSignal(panel.pageUnlocked, timeout=5000):
        w.layer_actions["arrows"].setChecked(True)
    with qtbot.waitSignal(panel.pageUnlocked, timeout=20_000):
        panel.next()
    view = w.scene_window
    assert view.scene.name == "bilinear" and view.scene.values["lr_simultaneous"] == pytest.approx(0.3)
    assert panel.next_button.text() == "Done"
    panel.back()
    assert panel.index == 1
    view.close()
    panel.close_lesson()


def test_help_lists_the_shipped_lessons(window):
    titles = [a.text() for a in window.lessons_menu.actions()]
    from ganplay.engine.lessons import shipped_lessons

    assert titles == [load_lesson(p, LAYER_NAMES).title for p in shipped_lessons()]


def test_a_saved_scene_opens_in_a_fresh_window_with_the_same_first_frames(open_window, qtbot, tmp_path):
    from ganplay.ui.lessons_panel import current_setup

    cfg = apply_overrides(Config(), SMALL + ["train.seed=11", "loss.name=hinge", "data.modes=6"])
    a = open_window(cfg, backend="thread")
    a.layer_actions["density"].setChecked(False)
    a.teaching.act_formulas.setChecked(False)
    qtbot.waitUntil(lambda: a.latest_frame is not None and "fake" in a.latest_frame.layers, timeout=10_000)
    first_a = a.latest_frame.layers["fake"].copy()
    path = save_scene_file(tmp_path / "saved", "saved", current_setup(a), a.config)
    b = open_window(apply_overrides(Config(), SMALL), backend="thread")
    with qtbot.waitSignal(b.resetDone, timeout=30_000):
        b.open_file(str(path))
    assert to_dict(b.config) == to_dict(a.config)
    assert b._visible_layers() == a._visible_layers() and not b.teaching.act_formulas.isChecked()
    qtbot.waitUntil(lambda: b.latest_frame is not None and b.latest_frame.step == 0
                    and "fake" in b.latest_frame.layers, timeout=10_000)
    np.testing.assert_array_equal(b.latest_frame.layers["fake"], first_a)
    for win in (a, b):
        win.step()
    qtbot.waitUntil(lambda: a.current_step == 1 and b.current_step == 1
                    and a.latest_frame.step == 1 and b.latest_frame.step == 1, timeout=10_000)
    np.testing.assert_array_equal(a.latest_frame.layers["fake"], b.latest_frame.layers["fake"])


def test_a_bad_file_names_its_line_and_field_and_touches_nothing(window, qtbot, tmp_path, monkeypatch):
    w = window
    calls = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: calls.append((title, text)))
    before = to_dict(w.config)
    bad = tmp_path / "bad.toml"
    bad.write_text('ganplay = "lesson"\n[[page]]\ntitle = "x"\nset = ["train.lr_d=-3"]\n', encoding="utf-8")
    w.open_file(str(bad))
    assert calls and "bad.toml, line 4, field 'set'" in calls[0][1] and "unchanged" in calls[0][1]
    assert to_dict(w.config) == before


def test_teacher_mode_hides_the_named_controls(window, qtbot, tmp_path):
    w = window
    path = tmp_path / "class.toml"
    path.write_text('ganplay = "scene"\ntitle = "for the class"\nhide = ["setup", "charts", "reset", "speed"]\n'
                    'teacher = true\nset = ["model.g_width=32", "model.d_width=32"]\n', encoding="utf-8")
    with qtbot.waitSignal(w.resetDone, timeout=30_000):
        w.open_file(str(path))
    assert not w.setup_dock.isVisible() and not w.charts_dock.isVisible()
    assert not w.act_reset.isVisible() and not w.speed_slider.isVisible()
    assert w.layer_bar.isVisible() and w.act_play.isVisible(), "only the named controls"
    assert w.hidden_controls == ["setup", "charts", "reset", "speed"]
    from ganplay.ui.lessons_panel import set_hidden

    set_hidden(w, [])
    assert w.setup_dock.isVisible() and w.act_reset.isVisible()
