"""The Compare view driven with pytest-qt: build, play, pause, step, open a multiple, export, close."""
from __future__ import annotations

import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from ganplay.engine.config import Config, apply_overrides  # noqa: E402
from ganplay.engine.threads import available_cores  # noqa: E402
from ganplay.engine.trainer import Trainer  # noqa: E402
from ganplay.live.compare_loop import N_FAKE, SURFACE_RES  # noqa: E402
from ganplay.ui.compare_view import CompareView  # noqa: E402

SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64"]


def _configs() -> tuple[list[Config], list[str]]:
    extra = [["loss.name=ns"], ["loss.name=hinge", "model.spectral_norm=true"], ["train.unrolled=1"]]
    return [apply_overrides(Config(), SMALL + e).validate() for e in extra], ["ns", "hinge-sn", "unrolled"]


@pytest.fixture(scope="module")
def view(qapp):
    # One view for the module (building three GANs and the first frame is the slow part);
    # the tests below only rely on step counts relative to their own start.
    # It trains in a process of its own, as in the app.
    cfgs, labels = _configs()
    v = CompareView(cfgs, labels)
    assert v.worker.backend == "process"
    v.resize(1200, 800)
    v.show()
    deadline = time.perf_counter() + 60
    while v.step_count < 0 and time.perf_counter() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert len(v.multiples) == 3 and v.step_count == 0
    yield v
    v.close()


def _step_of(v: CompareView) -> int:
    return v.step_count


def test_play_pause_step_draws_every_multiple(qtbot, view) -> None:
    # on 2+ cores the members train in worker processes of one thread each, as `ganplay compare`
    workers = ["in 2 worker processes of 1 thread each"] if available_cores() >= 2 else []
    assert view.plan == ["batched (2): ns, hinge-sn", "one by one: unrolled"] + workers
    view.play()
    qtbot.waitUntil(lambda: _step_of(view) >= 5, timeout=20000)
    view.pause()
    qtbot.waitUntil(lambda: not view.running, timeout=5000)
    qtbot.wait(200)
    paused_at = _step_of(view)
    qtbot.wait(300)
    assert _step_of(view) == paused_at            # pause really stops all three
    view.step()
    qtbot.waitUntil(lambda: _step_of(view) == paused_at + 1, timeout=5000)
    # the redraw timer puts each member's surface and samples on its own canvas
    qtbot.waitUntil(lambda: all(m.surface.image is not None for m in view.multiples), timeout=5000)
    for m in view.multiples:
        assert m.surface.image.shape == (SURFACE_RES, SURFACE_RES)
        assert 0.0 <= float(m.surface.image.min()) and float(m.surface.image.max()) <= 1.0
        assert len(m.fake.data) == N_FAKE
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=10000)
    names = {view.table.item(r, 1).text() for r in range(3)}
    assert names == {"ns", "hinge-sn", "unrolled"}
    assert all(len(view._history[lab]) >= 1 for lab in names)


def test_clicking_a_multiple_opens_it_with_its_state(qtbot, view) -> None:
    before = _step_of(view)
    view.step()
    qtbot.waitUntil(lambda: _step_of(view) == before + 1, timeout=5000)
    target = view.multiples[1].plot
    pos = view.grid.mapFromScene(target.sceneBoundingRect().center())
    with qtbot.waitSignal(view.openInPlayground, timeout=10000) as blocker:
        QTest.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    cfg, sd = blocker.args[0]
    assert cfg.loss.name == "hinge" and cfg.model.spectral_norm
    assert sd["step"] == before + 1
    t = Trainer(cfg, device="cpu")
    t.load_state_dict(sd)                        # the playground can continue from it
    assert t.step_count == before + 1 and np.isfinite(t.step().loss_d)


def test_export_json_and_csv(qtbot, view, tmp_path) -> None:
    view.step()
    for name in ("cmp.json", "cmp.csv"):
        path = tmp_path / name
        with qtbot.waitSignal(view.exported, timeout=30000, check_params_cb=lambda p, path=path: p == str(path)):
            view.export(path, n=500)
    data = json.loads((tmp_path / "cmp.json").read_text())
    assert [m["metrics"]["rank"] for m in data["members"]] == [1, 2, 3]
    assert {m["label"] for m in data["members"]} == {"ns", "hinge-sn", "unrolled"}
    lines = (tmp_path / "cmp.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("label,")


def test_picker_builds_a_variation_of_the_base_config(qtbot, view) -> None:
    base = apply_overrides(Config(), SMALL + ["data.name=grid", "loss.name=lsgan"]).validate()
    view.set_base_config(base)
    view.choice.setCurrentIndex(view.choice.findData("spectral_norm"))
    old = view.worker
    with qtbot.waitSignal(view.comparisonReady, timeout=90000):   # a new process and its workers import torch
        view.compare_chosen()
        assert old.isFinished()                   # the previous comparison's loop has ended
    assert len(view.multiples) == 2
    assert [c.model.spectral_norm for c in view.configs] == [False, True]
    assert all(c.data.name == "grid" and c.loss.name == "lsgan" for c in view.configs)
    if available_cores() >= 2:   # one member per worker process beats batching both on one core
        assert view.plan == ["one by one: " + ", ".join(view.labels), "in 2 worker processes of 1 thread each"]
    else:
        assert view.plan == ["batched (2): " + ", ".join(view.labels)]
    live = view.worker
    view.presets_edit.setText("vanilla")          # one recipe is not a comparison
    view.choice.setCurrentIndex(view.choice.findData("chosen"))
    view.compare_chosen()
    assert "2 to 8" in view.status.text() and view.worker is live


def test_close_while_playing_stops_within_a_second(qtbot, view) -> None:
    view.play()
    qtbot.waitUntil(lambda: _step_of(view) >= 2, timeout=20000)
    worker = view.worker
    t0 = time.perf_counter()
    view.close()
    assert time.perf_counter() - t0 < 1.0
    assert worker.isFinished() and view.worker is None
