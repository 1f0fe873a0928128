"""The window explains one iteration: slow motion plays the sub-steps of a traced step (and
changes nothing: the weights equal a normal step's), the formulas panel shows the trainer's own
losses, the model graph lights the active nodes, a node click emphasises its canvas layer, and
hovering G morphs the noise grid into the manifold."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

from ganplay.engine.config import Config, apply_overrides  # noqa: E402
from ganplay.live import protocol as P  # noqa: E402

SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64", "train.seed=3"]


@pytest.fixture(scope="module")
def window(open_window):
    return open_window(apply_overrides(Config(), SMALL), backend="thread")


def _wait_event(qtbot, w, kind, timeout=20_000):
    return qtbot.waitSignal(w.eventHandled, timeout=timeout, check_params_cb=lambda ev: isinstance(ev, kind))


def test_slow_motion_plays_one_iteration_and_changes_nothing(window, qtbot):
    w = window
    t = w.teaching
    t.slow.bar.pause_spin.setValue(0.3)
    step0 = w.worker.loop.trainer.step_count if hasattr(w.worker, "loop") else None
    with _wait_event(qtbot, w, P.IterationTraced) as blocker:
        t.act_slow.setChecked(True)
    trace = blocker.args[0].trace
    assert t.caption_bar.isVisible() and t.slow.on
    subs = trace.substeps()
    assert len(subs) == 10 and t.slow.index == 0
    assert t.caption_bar.caption.text() == subs[0].caption
    # auto-advance: the sub-steps follow one another at the chosen pause
    with qtbot.waitSignal(t.slow.substepShown, timeout=5000, check_params_cb=lambda i: i == 2):
        pass
    assert "non-saturating" in t.caption_bar.caption.text()
    # the graph lights the sub-step's nodes and dims the others
    lit = {n for n, vb in t.graph.boxes.items() if vb.opacity() == 1.0}
    assert lit == {"D(x)", "L"}
    # Right / Left step through the sub-steps (and stop the auto-advance)
    t.slow.next()
    assert t.slow.index == 3 and not t.slow.playing
    t.slow.prev()
    assert t.slow.index == 2
    for i in range(3, 10):
        t.slow.next()
        assert t.slow.index == i
    assert t.overlay.before.isVisible(), "G's update shows where the samples were"
    # after the last sub-step, Right asks for the next iteration
    with _wait_event(qtbot, w, P.IterationTraced) as blocker:
        t.slow.next()
    assert blocker.args[0].trace.step == trace.step + 1
    t.act_slow.setChecked(False)
    assert not t.caption_bar.isVisible() and not t.overlay.fake.isVisible()
    assert w.canvas.visuals["fake"].items[0].isVisible()
    if step0 is not None:
        assert w.worker.loop.trainer.step_count == step0 + 2


def test_traced_steps_leave_the_weights_of_normal_steps(window, qtbot):
    """The window's trainer after two slow-motion iterations equals a fresh trainer stepped twice."""
    from ganplay.engine.trainer import Trainer

    w = window
    with _wait_event(qtbot, w, P.EngineReset):
        w.reset()
    with _wait_event(qtbot, w, P.IterationTraced):
        w.teaching.act_slow.setChecked(True)
    w.teaching.slow.set_playing(False)
    with _wait_event(qtbot, w, P.IterationTraced):
        for _ in range(10):
            w.teaching.slow.next()
    w.teaching.act_slow.setChecked(False)
    live = w.worker.loop.trainer
    ref = Trainer(apply_overrides(Config(), SMALL))
    ref.step()
    ref.step()
    assert live.step_count == 2
    for a, b in zip(live.G.state_dict().values(), ref.G.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(live.D.state_dict().values(), ref.D.state_dict().values()):
        assert torch.equal(a, b)


def test_formulas_panel_shows_the_trainers_losses(window, qtbot):
    w = window
    w.step()
    qtbot.waitUntil(lambda: w.latest_frame is not None and w.latest_frame.formulas is not None
                    and w.latest_frame.formulas[0] == w.current_step, timeout=10_000)
    w.redraw()
    step, loss, fd, fg = w.latest_frame.formulas
    # the window's history, not the latest frame's stats: a frame sent after the step's own (a
    # redraw) carries the formulas again but no new stats
    d, g = w.history.get("loss_d"), w.history.get("loss_g")
    assert d.n and d.x[d.n - 1] == step == g.x[g.n - 1]
    assert fd.total == pytest.approx(float(d.y[d.n - 1]), abs=1e-6)
    assert fg.total == pytest.approx(float(g.y[g.n - 1]), abs=1e-6)
    text = w.teaching.formulas.d_label.text()
    assert f"{fd.total:.3f}" in text and "E[log D(x)]" in text
    assert f"{fg.total:.3f}" in w.teaching.formulas.g_label.text()
    w.teaching.act_formulas.setChecked(False)
    assert not w.teaching.formulas.isVisible()
    w.teaching.act_formulas.setChecked(True)


def test_a_graph_click_emphasises_its_layer_and_hovering_g_morphs(window, qtbot):
    w = window
    t = w.teaching
    w.step()
    qtbot.waitUntil(lambda: w.latest_frame is not None and "mesh" in w.latest_frame.layers, timeout=10_000)
    with qtbot.waitSignal(t.emphasised, timeout=2000):
        t.graph.nodeClicked.emit("x")
    real = w.canvas.visuals["real"].items[0]
    surface = w.canvas.visuals["surface"].items[0]
    assert surface.opacity() < 0.5 and real.opacity() == 1.0
    qtbot.waitUntil(lambda: surface.opacity() == 1.0, timeout=4000)
    with qtbot.waitSignal(t.morphFinished, timeout=5000):
        t.graph.generatorHovered.emit()
    x, y = t.morph_curve.getData()
    mesh = w.latest_frame.layers["mesh"]
    assert x is not None and len(x) == len(mesh)
    import numpy as np

    np.testing.assert_allclose(np.column_stack([x, y]), mesh, atol=1e-5, equal_nan=True)
