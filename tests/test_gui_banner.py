"""The window's banner: what the data changed in a recipe is told as information, not as a fault;
a new reset with nothing to say hides it."""
from __future__ import annotations

import pytest

from ganplay.engine.config import Config, apply_overrides
from ganplay.ui.main_window import BANNER_COLOURS

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

NARROW_RING = ["data.name=ring", "data.modes=12", "data.radius=2.0", "data.std=0.005"]   # 4x narrow


@pytest.fixture(scope="module")
def window(open_window):
    return open_window(apply_overrides(Config(), NARROW_RING), "thread")


def test_narrow_modes_show_an_information_banner_and_keep_the_preset(qtbot, window):
    w = window
    assert not w.banner.isVisible()     # the default recipe changes nothing for this data
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.apply_preset("stable")
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    text = w.banner_label.text()
    assert "train.batch_size 256 -> 1,024 from step 20,000" in text and "train.narrow_width" in text
    assert w.banner_kind == "info" and BANNER_COLOURS["info"][0] in w.banner.styleSheet()
    assert not w.banner_restore.isVisible() and not w.banner_reset.isVisible()
    assert w.setup_panel.preset_combo.currentText() == "stable"
    trains = w.worker.trainer.cfg.train                        # what trains: 1,024 a batch from half-way
    assert (trains.batch_size, trains.late_batch_size) == (256, 1024)
    assert w.config.train.batch_size == 256                    # what the panel shows: the recipe


def test_a_reset_with_nothing_to_say_hides_the_banner(qtbot, window):
    w = window
    protocol_ring = apply_overrides(w.model.draft, ["data.radius=1.0", "data.std=0.01", "data.modes=8"])
    w.model.set_draft(protocol_ring)
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.reset()
    assert not w.banner.isVisible()
    assert w.worker.trainer.cfg.train.batch_size == 256
