"""The latent explorer panel, driven with the mouse (pytest-qt, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from ganplay.engine import latent as L
from ganplay.engine.config import Config
from ganplay.engine.models import MLPGenerator
from ganplay.engine.snapshot import GeneratorSnapshot, snapshot_generator
from ganplay.engine.trainer import Trainer
from ganplay.ui.latent_panel import AXES_JACOBIAN, LatentPanel


def _ring_snapshot(latent: int = 2, prior: str = "gaussian") -> GeneratorSnapshot:
    cfg = Config()
    cfg.model.latent_dim, cfg.model.g_width, cfg.model.prior = latent, 32, prior
    return snapshot_generator(Trainer(cfg, device="cpu"))


def _image_snapshot(latent: int = 8, n_classes: int = 0, seed: int = 0) -> GeneratorSnapshot:
    """A tiny MLP to 28x28 with tanh: the same interface an MNIST generator snapshot has."""
    cfg = Config().model
    cfg.latent_dim, cfg.g_width = latent, 32
    torch.manual_seed(seed)
    G = MLPGenerator(cfg, 784, n_classes, out_tanh=True).eval()
    for p in G.parameters():
        p.requires_grad_(False)
    return GeneratorSnapshot(G, latent, "gaussian", n_classes, (1, 28, 28), step=7)


class Recorder:
    def __init__(self, panel: LatentPanel):
        self.points: list = []
        self.paths: list = []
        self.cells: list = []
        self.zs: list = []
        panel.pointsChanged.connect(self.points.append)
        panel.pathChanged.connect(self.paths.append)
        panel.cellChanged.connect(self.cells.append)
        panel.zChanged.connect(self.zs.append)


@pytest.fixture
def panel(qtbot):
    p = LatentPanel()
    qtbot.addWidget(p)
    p.resize(380, 820)
    p.show()
    qtbot.waitExposed(p)
    return p


def _settle(qtbot, panel: LatentPanel, before: int) -> None:
    qtbot.waitUntil(lambda: panel.draw_count > before, timeout=3000)


def _handle_center(slider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    r = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider)
    return r.center()


def _drag_slider(qtbot, slider, dx: int) -> None:
    start = _handle_center(slider)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(slider, QPoint(start.x() + dx * k // 4, start.y()))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(start.x() + dx, start.y()))


def test_zpad_drag_moves_g_of_z(qtbot, panel: LatentPanel) -> None:
    snap = _ring_snapshot(2)
    rec = Recorder(panel)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    pad = panel.zpad
    assert pad is not None and pad.isVisible()
    w, h = pad.width(), pad.height()
    positions = [QPoint(w // 2 + 30, h // 2 - 20), QPoint(w // 2 - 40, h // 2 + 10), QPoint(w // 2 + 5, h // 2 + 50)]
    n0 = panel.draw_count
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=positions[0])
    _settle(qtbot, panel, n0)
    seen = []
    for k, pos in enumerate(positions):
        if k:
            n = panel.draw_count
            qtbot.mouseMove(pad, pos)
            _settle(qtbot, panel, n)
        z = pad.pos_to_z(QPointF(pos))
        assert np.array_equal(panel.z(), z)
        assert np.array_equal(rec.zs[-1], z)
        # the emitted point is G(z) for the z under the mouse, exactly
        assert np.array_equal(rec.points[-1][0], L.generate_one(snap, z))
        assert rec.cells[-1] == L.manifold_cell(z, "gaussian", panel.mesh_res, panel.mesh_span)
        seen.append(rec.points[-1][0])
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=positions[-1])
    # the point moved, and the trail holds earlier positions under the current G
    assert np.linalg.norm(seen[0] - seen[1]) > 1e-4
    pts = rec.points[-1]
    assert pts.shape[1] == 2 and len(pts) >= 3
    z_prev = pad.pos_to_z(QPointF(positions[1]))
    np.testing.assert_allclose(pts[1], L.generate_one(snap, z_prev), atol=1e-5)
    # the pad mirrors z in its two numeric entries
    assert [round(r.spin.value(), 3) for r in panel.axis_rows] == [round(float(v), 3) for v in panel.z()]


def test_slider_drag_moves_point_along_one_dim(qtbot, panel: LatentPanel) -> None:
    snap = _ring_snapshot(16)
    rec = Recorder(panel)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    assert panel.zpad is None and len(panel.axis_rows) == 16
    row = panel.axis_rows[3]
    z_before = panel.z()
    p_before = rec.points[-1][0].copy()
    n = panel.draw_count
    _drag_slider(qtbot, row.slider, 60)
    _settle(qtbot, panel, n)
    qtbot.waitUntil(lambda: not panel._dirty)
    z = panel.z()
    changed = np.flatnonzero(z != z_before)
    assert changed.tolist() == [3]
    assert z[3] == pytest.approx(row.slider_to_value(row.slider.value()), abs=1e-6)
    assert z[3] > z_before[3] or row.slider.value() == 1000
    assert np.array_equal(rec.points[-1][0], L.generate_one(snap, z))
    assert not np.array_equal(rec.points[-1][0], p_before)
    assert row.spin.value() == pytest.approx(float(z[3]), abs=1e-3)


def test_numeric_entry_sets_z_beyond_slider_range(qtbot, panel: LatentPanel) -> None:
    snap = _ring_snapshot(16)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    n = panel.draw_count
    panel.axis_rows[0].spin.setValue(4.5)      # the slider only spans [-3, 3]
    _settle(qtbot, panel, n)
    assert panel.z()[0] == pytest.approx(4.5)
    assert panel.axis_rows[0].slider.value() == panel.axis_rows[0].slider.maximum()


def test_image_slider_drag_updates_live_image(qtbot, panel: LatentPanel) -> None:
    snap = _image_snapshot(8)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    assert panel.image_box.isVisible() and panel.zpad is None
    img0 = panel.image_item.image.copy()
    assert img0.shape == (28, 28)
    assert tuple(panel.image_item.levels) == (-1.0, 1.0)
    n = panel.draw_count
    _drag_slider(qtbot, panel.axis_rows[0].slider, -70)
    _settle(qtbot, panel, n)
    qtbot.waitUntil(lambda: not panel._dirty)
    expected = L.generate_one(snap, panel.z())[0]
    assert np.array_equal(panel.image_item.image, expected)
    assert np.abs(panel.image_item.image - img0).max() > 1e-4


@pytest.mark.parametrize("method", L.INTERPOLATIONS)
def test_interpolation_endpoints_reproduce_g_of_a_and_b(qtbot, panel: LatentPanel, method: str) -> None:
    snap = _ring_snapshot(16)
    rec = Recorder(panel)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    panel.method_combo.setCurrentText(method)
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    panel.set_endpoint("A", A)
    panel.set_endpoint("B", B)
    for value, ref in ((1000, B), (0, A)):
        n = panel.draw_count
        panel.t_slider.setValue(value)
        _settle(qtbot, panel, n)
        assert np.array_equal(panel.z(), ref)
        assert np.array_equal(rec.points[-1][0], L.generate_one(snap, ref))
    qtbot.waitUntil(lambda: not panel._dirty)
    path = rec.paths[-1]
    assert path.shape == ((panel.n_frames - 1) * panel.frame_stride + 1, 2)
    assert np.array_equal(path[0], L.generate_one(snap, A)) and np.array_equal(path[-1], L.generate_one(snap, B))
    frames = panel.last_frames
    assert len(frames) == panel.n_frames and np.array_equal(frames, path[:: panel.frame_stride])
    # clicking the middle frame of the strip jumps there
    strip = panel.strip
    n = panel.draw_count
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(strip.width() // 2, strip.height() // 2))
    _settle(qtbot, panel, n)
    assert panel.t_slider.value() == 500
    np.testing.assert_allclose(panel.z(), L.interpolate(A, B, 0.5, method), atol=1e-6)


def test_image_interpolation_strip_and_endpoint_buttons(qtbot, panel: LatentPanel) -> None:
    snap = _image_snapshot(8)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    z_a = panel.z()
    qtbot.mouseClick(panel.btn_a_current, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.btn_random, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not np.array_equal(panel.z(), z_a))
    z_b = panel.z()
    qtbot.mouseClick(panel.btn_b_current, Qt.MouseButton.LeftButton)
    A, B = panel.endpoints()
    assert np.array_equal(A, z_a) and np.array_equal(B, z_b)
    qtbot.waitUntil(lambda: not panel._dirty)
    frames = panel.last_frames
    assert frames.shape == (panel.n_frames, 1, 28, 28)
    assert np.array_equal(frames[0], L.generate_one(snap, A)) and np.array_equal(frames[-1], L.generate_one(snap, B))
    assert len(panel.strip.images) == panel.n_frames
    panel.t_slider.setValue(1)
    n = panel.draw_count
    panel.t_slider.setValue(0)
    _settle(qtbot, panel, n)
    assert np.array_equal(panel.image_item.image, L.generate_one(snap, A)[0])
    qtbot.mouseClick(panel.btn_a_random, Qt.MouseButton.LeftButton)
    assert not np.array_equal(panel.endpoints()[0], A)
    # reset to 0 with the mouse
    qtbot.mouseClick(panel.btn_zero, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._dirty)
    assert np.array_equal(panel.z(), np.zeros(8, np.float32))
    assert np.array_equal(panel.image_item.image, L.generate_one(snap, np.zeros(8))[0])


def test_conditional_digit_selector_and_classifier(qtbot, panel: LatentPanel) -> None:
    snap = _image_snapshot(8, n_classes=10)
    calls = []

    def classifier(images: np.ndarray) -> np.ndarray:
        calls.append(images.shape)
        probs = np.full((len(images), 10), 0.1 / 9)
        probs[:, 7] = 0.9
        return probs

    panel.set_classifier(classifier)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    assert panel.class_group is not None and len(panel.class_group.buttons()) == 10
    z = panel.z()
    assert np.array_equal(panel.image_item.image, snap(z[None], np.array([0]))[0, 0])
    n = panel.draw_count
    qtbot.mouseClick(panel.class_group.button(3), Qt.MouseButton.LeftButton)
    _settle(qtbot, panel, n)
    expected = L.generate_one(snap, z, 3)[0]
    assert np.array_equal(panel.image_item.image, expected)
    assert not np.array_equal(expected, L.generate_one(snap, z, 0)[0])
    assert calls[-1] == (1, 1, 28, 28)
    assert "7" in panel.class_label.text() and "90%" in panel.class_label.text()
    # set_endpoint with a label selects that digit too
    panel.set_endpoint("A", z, y=5)
    assert panel.class_group.checkedId() == 5
    # a failing classifier shows a message instead of raising
    panel.set_classifier(lambda images: 1 / 0)
    qtbot.waitUntil(lambda: "failed" in panel.class_label.text())


def test_jacobian_axes_move_along_principal_directions(qtbot, panel: LatentPanel) -> None:
    snap = _ring_snapshot(16)
    rec = Recorder(panel)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    z0 = panel.z()
    panel.axes_combo.setCurrentText(AXES_JACOBIAN)
    qtbot.waitUntil(lambda: panel._dirs is not None)
    V, _ = L.principal_directions(snap, z0)
    np.testing.assert_allclose(panel._dirs, V, atol=1e-6)
    assert panel.axis_rows[0].label.text() == "d1"
    n = panel.draw_count
    _drag_slider(qtbot, panel.axis_rows[0].slider, 50)
    _settle(qtbot, panel, n)
    qtbot.waitUntil(lambda: not panel._dirty)
    step = panel.z().astype(np.float64) - z0
    c = panel.axis_rows[0].slider_to_value(panel.axis_rows[0].slider.value())
    np.testing.assert_allclose(step, c * V[0], atol=1e-5)
    assert np.array_equal(rec.points[-1][0], L.generate_one(snap, panel.z()))
    # the first direction moves G(z) more than the 16th (which is in the null space for 2-D data)
    g0 = L.generate_one(snap, z0)
    far1 = np.linalg.norm(L.generate_one(snap, z0 + 0.1 * V[0]) - g0)
    far16 = np.linalg.norm(L.generate_one(snap, z0 + 0.1 * V[15]) - g0)
    assert far1 > 10 * far16


def test_new_snapshot_keeps_state_and_recomputes(qtbot, panel: LatentPanel) -> None:
    cfg = Config()
    cfg.model.latent_dim, cfg.model.g_width = 2, 32
    tr = Trainer(cfg, device="cpu")
    rec = Recorder(panel)
    panel.set_generator(snapshot_generator(tr))
    _settle(qtbot, panel, 0)
    z, (A, B) = panel.z(), panel.endpoints()
    for _ in range(5):
        tr.step()
    snap2 = snapshot_generator(tr)
    n = panel.draw_count
    panel.set_generator(snap2)
    _settle(qtbot, panel, n)
    assert np.array_equal(panel.z(), z)
    A2, B2 = panel.endpoints()
    assert np.array_equal(A2, A) and np.array_equal(B2, B)
    assert np.array_equal(rec.points[-1][0], L.generate_one(snap2, z))
    qtbot.waitUntil(lambda: not panel._dirty)
    assert np.array_equal(rec.paths[-1][0], L.generate_one(snap2, A))
    assert "step 5" in panel.header.text() and "mode" not in panel.header.text()
    # a generator with latent modes says where it switches
    cfg_m = Config()
    cfg_m.model.latent_dim, cfg_m.model.latent_modes, cfg_m.model.g_width = 4, 3, 16
    panel.set_generator(snapshot_generator(Trainer(cfg_m, device="cpu")))
    qtbot.waitUntil(lambda: "largest of z1..z3" in panel.header.text())
    # a different latent size starts afresh
    panel.set_generator(_ring_snapshot(16))
    qtbot.waitUntil(lambda: panel.z().shape == (16,) and not panel._dirty)
    assert len(panel.axis_rows) == 16 and panel.zpad is None
    # switching to an image generator clears the canvas overlays (images draw in the panel)
    assert rec.paths[-1] is not None
    panel.set_generator(_image_snapshot(8))
    assert rec.points[-1].shape == (0, 2) and rec.paths[-1] is None
    qtbot.waitUntil(lambda: not panel._dirty)
    assert rec.paths[-1] is None and panel.image_box.isVisible()


def test_updates_are_coalesced(qtbot, panel: LatentPanel) -> None:
    snap = _ring_snapshot(16)
    panel.set_generator(snap)
    _settle(qtbot, panel, 0)
    n = panel.draw_count
    for k, row in enumerate(panel.axis_rows):
        row.slider.setValue(100 + 40 * k)
    panel.set_generator(snap)
    qtbot.waitUntil(lambda: panel.draw_count > n)
    qtbot.wait(50)
    assert panel.draw_count == n + 1      # 17 requests, one redraw of the latest z
    assert panel.z()[15] == pytest.approx(panel.axis_rows[15].slider_to_value(100 + 40 * 15))


def test_clear_with_none_and_bad_input(qtbot, panel: LatentPanel) -> None:
    rec = Recorder(panel)
    panel.set_generator(None)                       # before any generator: harmless
    panel.set_generator(_ring_snapshot(2, prior="uniform"))
    _settle(qtbot, panel, 0)
    assert np.all(np.abs(panel.z()) <= 1) and panel.zpad.limit == 1.0
    with pytest.raises(ValueError, match="latent has 2"):
        panel.set_endpoint("A", np.zeros(3))
    with pytest.raises(ValueError):
        panel.set_endpoint("C", np.zeros(2))
    panel.set_generator(None)
    assert rec.points[-1].shape == (0, 2) and rec.paths[-1] is None and rec.cells[-1] is None
    assert not panel.explore_box.isEnabled()
    n = panel.draw_count
    panel.randomise()
    panel.reset_zero()
    qtbot.mouseClick(panel.btn_random, Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert panel.draw_count == n
    with pytest.raises(RuntimeError):
        panel.set_z(np.zeros(2))
