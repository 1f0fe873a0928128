"""Charts that mean something for the loss in use (issue 15, item 2): a critic's or an f-GAN's
raw scores and the distance it estimates, not a sigmoid of them and a JSD."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ganplay.engine.history import History  # noqa: E402
from ganplay.ui.charts import chart_kind, kind_plots  # noqa: E402


@pytest.mark.parametrize("loss, fam", [("ns", "prob"), ("minimax", "prob"), ("lsgan", "prob"), ("wgan", "critic"),
                                       ("wgan-gp", "critic"), ("hinge", "critic"), ("f-kl", "fgan"),
                                       ("f-reverse_kl", "fgan")])
def test_each_loss_gets_the_charts_that_mean_something(loss, fam):
    titles = [t for t, _ in kind_plots(chart_kind("2d", loss))]
    keys = {k for _, s in kind_plots(chart_kind("2d", loss)) for k, _, _ in s}
    if fam == "prob":
        assert "Mean D output" in titles and {"d_real", "jsd"} <= keys
    else:
        assert not {"d_real", "d_fake", "jsd", "jsd_eval"} & keys   # no sigmoid, no JSD
        assert {"score_real", "score_fake", "w1"} <= keys
        assert ("critic_gap" if fam == "critic" else "f_estimate") in keys


def test_history_derives_the_critics_estimate_and_the_f_bound():
    h = History()
    h.add_stats({"step": np.array([1.0, 2.0]), "score_real": np.array([3.0, 4.0]),
                 "score_fake": np.array([1.0, 1.5]), "loss_d": np.array([-0.5, -0.25])})
    np.testing.assert_array_equal(h.get("critic_gap").data()[1], [2.0, 2.5])
    np.testing.assert_array_equal(h.get("f_estimate").data()[1], [0.5, 0.25])


@pytest.mark.parametrize("loss", ["wgan-gp", "f-kl"])
def test_the_window_relabels_its_charts_for_the_loss(qtbot, loss):
    from ganplay.engine.config import Config
    from ganplay.ui.main_window import MainWindow

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    cfg.loss.name = loss
    w = MainWindow(cfg, backend="thread")
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.engineReady, timeout=60_000):
        w.show()
    for _ in range(5):
        w.step()
    qtbot.waitUntil(lambda: w.current_step == 5, timeout=20_000)
    qtbot.waitUntil(lambda: w.charts.kind == chart_kind("2d", loss), timeout=5_000)
    shown = [w.charts.layout_widget.ci.getItem(r, 0) for r in range(5)]
    titles = [p.titleLabel.text for p in shown]
    assert "Mean D output" not in titles and not any("JSD" in t for t in titles)
    key = "critic_gap" if loss == "wgan-gp" else "f_estimate"
    def points() -> int:
        x = w.charts.curves[key].getOriginalDataset()[0]
        return 0 if x is None else len(x)

    qtbot.waitUntil(lambda: points() == 5, timeout=10_000)
    g = w.history.get("loss_g").data()[1]
    assert np.isfinite(g).all()   # G was updated in each full step: no gaps there
    w.close()
