"""The rewind timeline in the real window (training in its own process): scrubbing shows that
step on the canvas and the charts, and "Branch from here" trains on from it with the current loss,
the old branch kept dashed on the charts."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ganplay.engine.config import Config, apply_overrides
from ganplay.live import protocol as P

TIMEOUT_MS = 20_000


def small_config() -> Config:
    return apply_overrides(Config(), ["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                      "train.device=cpu", "train.rewind_every=10"])


def reference(steps_ns: int, steps_hinge: int):
    """The same run headless: ``steps_ns`` steps with the NS loss, then hinge."""
    from ganplay.engine.trainer import Trainer

    tr = Trainer(small_config())
    stats = [tr.step() for _ in range(steps_ns)]
    tr.set("loss.name", "hinge")
    stats += [tr.step() for _ in range(steps_hinge)]
    return tr, stats


@pytest.mark.usefixtures("one_torch_thread")
def test_scrub_shows_that_step_and_branch_trains_on_with_the_current_loss(open_window, qtbot, describe):
    from ganplay.live.frames import N_FAKE, fixed_z

    w = open_window(small_config())
    w.worker.send(P.Step("both", 60))
    qtbot.waitUntil(lambda: w.timeline.steps[-1:] == (60,), timeout=TIMEOUT_MS)
    assert w.timeline.steps == (0, 10, 20, 30, 40, 50, 60) and w.timeline.slider.value() == 6
    assert w.history.series["loss_d"].x[w.history.series["loss_d"].n - 1] == 60

    # scrub back three snapshots with the keyboard (the slider asks for one rewind per 60 ms)
    events: list[P.Event] = []
    w.eventHandled.connect(events.append)
    w.timeline.slider.setFocus()
    for _ in range(3):
        qtbot.keyClick(w.timeline.slider, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: any(isinstance(e, P.Rewound) and e.step == 30 for e in events), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: w.latest_frame.step == 30 and w.model.step == 30, timeout=TIMEOUT_MS)
    assert w.charts.marker_step == 30 and w.timeline.rewound_at == 30 and w.timeline.branch_button.isEnabled()
    assert w.timeline.steps == (0, 10, 20, 30, 40, 50, 60)    # the future stays until a branch
    loss_30 = [w.history.series[k].y[29] for k in ("loss_d", "loss_g")]   # the charts' values at step 30
    assert w.history.series["loss_d"].x[29] == 30
    assert w.teaching.graph.bar_text.textItem.toPlainText() == f"{loss_30[0]:.2f} | {loss_30[1]:.2f}"
    # the canvas draws G at step 30: the fake points of the headless run at step 30
    at_30, stats = reference(30, 0)
    x, y = w.canvas.visuals["fake"].scatter.getData()
    np.testing.assert_allclose(np.c_[x, y], at_30.generate(fixed_z(at_30, N_FAKE)), atol=1e-5)

    # switch the loss, then "Branch from here" (the button, then the keyboard's Ctrl+B would do the same)
    with qtbot.waitSignal(w.eventHandled, timeout=TIMEOUT_MS,
                          check_params_cb=lambda ev: isinstance(ev, P.FieldSet)):
        w.model.edit("loss.name", "hinge")
    with qtbot.waitSignal(w.eventHandled, timeout=TIMEOUT_MS,
                          check_params_cb=lambda ev: isinstance(ev, P.Branched)) as got:
        qtbot.mouseClick(w.timeline.branch_button, Qt.MouseButton.LeftButton)
    assert got.args[0].step == 30 and got.args[0].snapshot_steps == (0, 10, 20, 30)
    qtbot.waitUntil(lambda: w.model.step >= 45, timeout=TIMEOUT_MS)
    w.pause()
    info = describe(w)
    assert info["config"].loss.name == "hinge" and info["step"] > 30
    assert max(info["rewind"]["steps"]) <= info["step"]
    qtbot.waitUntil(lambda: w.latest_frame.step == info["step"] and not w.latest_frame.running, timeout=TIMEOUT_MS)

    # the charts: the old branch (steps 30-60) dashed, the new one from 31 on, in order
    ghost = w.charts.ghost.series["loss_d"]
    gx, _ = ghost.data()
    assert gx[0] == 30 and gx[-1] == 60
    assert w.charts.ghost_curves[("Losses", "loss_d")].getOriginalDataset()[0][-1] == 60
    assert w.charts.ghost_curves[("Losses", "loss_g")].isVisible()
    hx, hy = w.history.series["loss_d"].data()
    assert np.all(np.diff(hx) > 0) and hx[-1] == info["step"]
    # ... and the new branch is the run that switched to hinge at step 30
    _, stats = reference(30, int(hx[-1]) - 30)
    np.testing.assert_allclose(hy[hx > 30], [s.loss_d for s in stats[30:]], rtol=1e-4, atol=1e-6)
