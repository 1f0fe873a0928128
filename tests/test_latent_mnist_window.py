"""The latent explorer on MNIST in the real window (issue 15, item 9): the classifier's label and
confidence under the explorer's image at 1600x1000, and a click on a digit of the canvas's sample
grid making it A (then B) of the interpolation."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402

from ganplay.engine import config as C  # noqa: E402
from ganplay.engine.config import Config  # noqa: E402
from ganplay.engine.presets import apply_preset  # noqa: E402
from ganplay.live import frames as F  # noqa: E402

ENGINE_START_MS = 60_000
LABEL = re.compile(r"^classifier: \d \(\d+%\)$")
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def small(preset: str) -> Config:
    """The preset on the shipped MNIST test set, with networks small enough for a quick test."""
    cfg = apply_preset(preset, Config(), adapt_data=True)
    for path, value in (("data.name", "mnist"), ("data.limit", 300), ("model.g_width", 16),
                        ("model.d_width", 8), ("model.latent_dim", 16), ("train.batch_size", 16)):
        C.set_field(cfg, path, value)
    return cfg


@pytest.fixture(scope="module")
def window(open_window):
    return open_window(small("dcgan"), size=(1600, 1000))


def _settled(qtbot, w, step):
    """Paused at ``step``, and the explorer's generator snapshot is of the step the grid shows."""
    w.act_pause.trigger()

    def ok():
        fr, panel = w.latest_frame, w.latent_panel
        return (fr is not None and not fr.running and fr.images is not None and fr.step == step
                and panel is not None and panel._snap is not None and panel._snap.step == step
                and w.canvas.image_mode and not panel._dirty and not w._undrawn)
    qtbot.waitUntil(ok, timeout=30_000)
    return w.latest_frame


def _grid_z(w, n):
    snap = w.latent_panel._snap
    trainer = SimpleNamespace(latent_dim=snap.latent_dim, n_classes=snap.n_classes,
                              cfg=SimpleNamespace(model=SimpleNamespace(prior=snap.prior)))
    return F.image_grid_inputs(trainer)   # what the training loop draws the grid from


def _click_sample(qtbot, w, k, fr):
    """Click the middle of sample k of the canvas grid (tile_images' layout: row-major, 1-pixel
    gaps, the first row at the top)."""
    n, (_, h, wd) = len(fr.images), fr.images.shape[1:]
    cols = fr.image_cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    r, c = divmod(k, cols)
    height = rows * (h + 1) - 1
    x = c * (wd + 1) + wd / 2
    y = height - (r * (h + 1) + h / 2)
    canvas = w.canvas
    scene = canvas.image_view.mapViewToScene(QPointF(x, y))
    pos = canvas.image_widget.mapFromScene(scene)
    with qtbot.waitSignal(canvas.sampleClicked, timeout=3000) as sig:
        qtbot.mouseClick(canvas.image_widget.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))
    assert sig.args == [k]


def test_classifier_label_shows_under_the_mnist_image_at_1600x1000(qtbot, window):
    w = window
    assert w.width() == 1600 and w.height() == 1000
    qtbot.waitUntil(lambda: w.latent_panel is not None and w.latent_panel._snap is not None, timeout=60_000)
    panel = w.latent_panel
    qtbot.waitUntil(lambda: bool(LABEL.match(panel.class_label.text())), timeout=20_000)
    label = panel.class_label
    assert panel.image_box.isVisible() and label.isVisible()
    assert label.height() >= label.sizeHint().height()   # not squeezed away
    assert not label.visibleRegion().isEmpty()
    top_left = label.mapTo(w, QPoint(0, 0))
    assert w.rect().contains(top_left) and w.rect().contains(top_left + QPoint(label.width() - 1, label.height() - 1))
    # the label follows z: it names what the classifier sees in the image shown
    from ganplay.engine.image_metrics import classify

    panel.randomise()
    qtbot.waitUntil(lambda: not panel._dirty, timeout=3000)
    probs = classify(panel.current_output()[None])[0]
    assert label.text() == f"classifier: {probs.argmax()} ({probs.max():.0%})"


def test_clicking_grid_digits_sets_a_then_b(qtbot, window):
    w = window
    step = w.current_step
    for _ in range(2):
        w.act_step.trigger()
    fr = _settled(qtbot, w, step + 2)
    panel = w.latent_panel
    z, _, cols = _grid_z(w, len(fr.images))
    assert fr.image_cols == cols and len(z) == len(fr.images) == 64
    _click_sample(qtbot, w, 10, fr)
    a, _ = panel.endpoints()
    assert np.array_equal(a, z[10])
    # the explorer moves to the clicked digit: its image is the grid's sample 10, with its label
    qtbot.waitUntil(lambda: not panel._dirty, timeout=3000)
    assert np.allclose(panel.current_output(), fr.images[10], atol=1e-4)
    assert LABEL.match(panel.class_label.text())
    assert "A" in w.statusBar().currentMessage()
    # the next click sets B
    _click_sample(qtbot, w, 45, fr)
    a2, b = panel.endpoints()
    assert np.array_equal(a2, z[10]) and np.array_equal(b, z[45])
    qtbot.waitUntil(lambda: not panel._dirty, timeout=3000)
    assert np.allclose(panel.current_output(), fr.images[45], atol=1e-4)
    # the strip runs from the first digit to the second
    assert np.allclose(panel.last_frames[0], fr.images[10], atol=1e-4)
    assert np.allclose(panel.last_frames[-1], fr.images[45], atol=1e-4)


def test_conditional_grid_click_selects_the_rows_digit(qtbot, window):
    w = window
    w.setup_panel.set_config(small("cdcgan"))
    with qtbot.waitSignal(w.resetDone, timeout=30_000):
        w.act_reset.trigger()
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.latent_panel._snap is not None and w.latent_panel._snap.n_classes == 10,
                    timeout=30_000)
    fr = _settled(qtbot, w, 1)
    panel = w.latent_panel
    assert len(fr.images) == 80 and fr.image_cols == 8   # one row per digit
    z, y, _ = _grid_z(w, 80)
    k = 7 * 8 + 3   # the row of 7s, column 3
    _click_sample(qtbot, w, k, fr)
    assert np.array_equal(panel.endpoints()[0], z[k]) and y[k] == 7
    assert panel.class_group.checkedId() == 7
    qtbot.waitUntil(lambda: not panel._dirty, timeout=3000)
    assert np.allclose(panel.current_output(), fr.images[k], atol=1e-4)
