"""The live loop's Qt-free parts: frame building, layer payloads, chart histories, budgets,
contour/mesh/tile helpers, the loop driven headless."""
from __future__ import annotations

import numpy as np
import pytest

from ganplay.engine.config import Config
from ganplay.live import frames as F
from ganplay.live import layers as L
from ganplay.live import protocol as P


@pytest.fixture(scope="module")
def trainer():
    import torch

    from ganplay.engine.trainer import Trainer

    torch.set_num_threads(1)
    cfg = Config()
    cfg.train.batch_size = 64
    cfg.model.g_width = cfg.model.d_width = 32
    tr = Trainer(cfg)
    for _ in range(5):
        tr.step()
    return tr


def test_frame_holds_numpy_copies_of_every_layer(trainer):
    fr = F.Frame(step=trainer.step_count, running=True, steps_per_sec=0.0, stats={})
    z = F.fixed_z(trainer, F.N_FAKE)
    F.build_2d(trainer, fr, z, L.LAYER_NAMES, {"frame", "slow", "once"})
    lay = fr.layers
    # every layer of the registry has a payload on the ring, but a training mode's (BiGAN, cGAN)
    assert set(lay) == {s.name for s in L.LAYERS if not s.mode}
    assert lay["fake"].shape == (F.N_FAKE, 2) and lay["fake"].dtype == np.float32
    assert lay["real"].shape == (L.N_REAL, 2)
    assert lay["surface"]["grid"].shape == (L.SURFACE_RES, L.SURFACE_RES)
    assert 0 <= lay["surface"]["grid"].min() and lay["surface"]["grid"].max() <= 1
    assert lay["surface"]["contour"].shape[1] == 2
    assert lay["optimal"].ndim == 2 and lay["optimal"].shape[1] == 2  # D* = 1/2 segments
    assert lay["arrows"].shape == (6 * L.N_ARROWS, 2) and np.abs(lay["arrows"]).sum() > 0  # shaft + head
    assert lay["mesh"].shape == (2 * L.MESH_RES * (L.MESH_RES + 1), 2)
    assert lay["centers"]["pos"].shape == (8, 2) and lay["centers"]["ok"].shape == (8,)
    assert len(lay["density"]) > 0 and len(lay["density"]) % 2 == 0
    assert fr.covered.shape == (8,) and fr.mode_counts.sum() <= F.N_FAKE
    # the same z gives the same points: motion on screen is G changing
    fr2 = F.Frame(step=0, running=False, steps_per_sec=0.0, stats={})
    F.build_2d(trainer, fr2, z, {"fake"}, {"frame"})
    np.testing.assert_array_equal(lay["fake"], fr2.layers["fake"])
    assert set(fr2.layers) == {"fake"}  # hidden layers cost nothing
    fr3 = F.Frame(step=0, running=False, steps_per_sec=0.0, stats={})
    F.build_2d(trainer, fr3, z, L.LAYER_NAMES, {"frame"})
    assert not {"real", "density", "optimal"} & set(fr3.layers)  # once / slow layers wait their turn


def test_live_metrics_follow_the_veegan_protocol(trainer):
    m = F.live_metrics(trainer)
    assert m["modes_total"] == 8 and 0 <= m["modes_covered"] <= 8
    assert 0 <= m["hq_fraction"] <= 1 and m["w1"] > 0 and m["jsd"] >= 0


def test_history_thins_old_points_and_writes_csv(tmp_path, monkeypatch):
    from ganplay.engine import history as H

    monkeypatch.setattr(H, "MAX_POINTS", 1000)
    h = H.History()
    steps = np.arange(1, 1501, dtype=float)
    h.add_stats({"step": steps, "loss_d": steps * 2})
    s = h.get("loss_d")
    x, y = s.data()
    assert s.n <= 1000 and x[-1] == 1500 and np.all(np.diff(x) > 0)
    np.testing.assert_array_equal(y, 2 * x)
    h.add_metrics(1500, {"modes_covered": 3, "hq_fraction": 0.5, "jsd": 0.2, "modes_total": None})
    assert h.get("hq_pct").data()[1][-1] == 50.0
    assert h.get("jsd_eval").n == 1 and "jsd" not in h.series
    path = tmp_path / "h.csv"
    h.write_csv(path)
    rows = path.read_text().splitlines()
    assert rows[0].split(",")[:2] == ["step", "loss_d"]
    last = rows[-1].split(",")
    assert last[0] == "1500" and float(last[1]) == 3000.0
    d = h.as_dict()
    h2 = H.History()
    h2.load_any(d)
    np.testing.assert_array_equal(h2.get("loss_d").data()[1], y)
    assert all(a.ndim == 1 for a in d.values())  # what a saved session can store

    class Rows:  # the CLI's history: rows of dicts
        rows = [{"step": 10, "loss_d": 0.5, "w1": None}, {"step": 20, "loss_d": 0.25, "w1": 0.1}]

    h2.load_any(Rows())
    np.testing.assert_array_equal(h2.get("loss_d").data()[0], [10, 20])
    assert h2.get("w1").n == 1


def test_history_buffers_stop_growing_at_the_cap():
    """A long run's series (the window's largest memory) hold at most the cap plus one chunk."""
    from ganplay.engine import history as H

    h = H.History()
    for start in range(0, 1_000_000, 5000):
        steps = np.arange(start, start + 5000, dtype=float)
        h.add_stats({"step": steps, "loss_d": steps})
        s = h.get("loss_d")
        held = s.x if s.x.base is None else s.x.base  # the memory behind it, not a view's length
        assert held.nbytes <= 8 * (H.MAX_POINTS + 5000) and s.n <= H.MAX_POINTS
    x, y = s.data()
    assert x[-1] == 999_999 and np.all(np.diff(x) > 0)


@pytest.mark.parametrize("block", [7, 64, 8192])
def test_history_thinning_in_blocks_keeps_the_same_points(monkeypatch, block):
    """Thinning in place, block by block (no whole-series temporaries), keeps exactly every other
    point of the older half and all of the newer half, whatever the block size."""
    from ganplay.engine import history as H

    monkeypatch.setattr(H, "MAX_POINTS", 1000)
    monkeypatch.setattr(H, "THIN_BLOCK", block)
    s = H.Series()
    ref = np.empty(0)
    for start in range(0, 5007, 333):
        x = np.arange(start, min(5007, start + 333), dtype=float)
        s.extend(x, 2 * x + 1)
        ref = np.concatenate([ref, x])
        while len(ref) > 1000:
            half = len(ref) // 2
            ref = np.concatenate([ref[:half:2], ref[half:]])
    x, y = s.data()
    np.testing.assert_array_equal(x, ref)
    np.testing.assert_array_equal(y, 2 * ref + 1)


def test_budget_bounds_the_share_of_time():
    from ganplay.live.budget import Budget

    b = Budget(0.05, 0.01)
    assert b.due(0.0)
    b.spent(10.0, 10.1)   # a 0.1 s job may take 5 %: the next one waits ~1.9 s more
    assert not b.due(11.0) and b.due(12.0)
    b.spent(20.0, 20.0001)  # cheap jobs still wait the minimum interval
    assert not b.due(20.005) and b.due(20.011)


def test_contour_mesh_and_tiles():
    pytest.importorskip("pyqtgraph")
    from ganplay.live.contours import iso_segments
    from ganplay.ui.canvas import tile_images

    ys, xs = np.mgrid[0:33, 0:33]
    grid = ((xs - 16) ** 2 + (ys - 16) ** 2 < 100).astype(np.float32)  # a disc of radius 10 cells
    seg = iso_segments(grid, (-1.0, 1.0, -1.0, 1.0))
    r = np.hypot(seg[:, 0], seg[:, 1])
    assert abs(np.median(r) - 10 / 16) < 0.08  # the contour sits on the disc's edge in data units
    mesh = np.stack(np.meshgrid(np.arange(3.0), np.arange(3.0)), -1)
    path = L.mesh_path(mesh)
    assert np.isnan(path[:, 0]).sum() == 6 and np.isfinite(path[:, 0]).sum() == 18
    imgs = np.linspace(-1, 1, 4 * 1 * 2 * 3, dtype=np.float32).reshape(4, 1, 2, 3)
    tiled = tile_images(imgs)
    assert tiled.shape == (2 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(tiled[::-1][0:2, 0:3], imgs[0, 0])  # top-left is sample 0


def test_iso_segments_trace_a_closed_circle():
    """contourpy's lines as segments: a smooth radial field's 0.5 level is the circle r = 0.5,
    closed (every end point shared by two segments), in data units."""
    from ganplay.live.contours import iso_segments

    g = np.hypot(*np.meshgrid(np.linspace(-1, 1, 48), np.linspace(-1, 1, 48)))
    seg = iso_segments(g, (-1.0, 1.0, -1.0, 1.0), 0.5)
    assert seg.shape[1] == 2 and len(seg) % 2 == 0 and len(seg) > 40
    r = np.hypot(seg[:, 0], seg[:, 1])
    assert np.abs(r - 0.5).max() < 2e-3
    _, counts = np.unique(np.round(seg, 5), axis=0, return_counts=True)
    assert set(counts.tolist()) == {2}
    assert iso_segments(np.zeros((5, 5)), (0.0, 1.0, 0.0, 1.0)).shape == (0, 2)  # no crossing


def test_iso_segments_keep_separate_lines_apart():
    """Two discs give two closed lines: no segment bridges the gap between them."""
    from ganplay.live.contours import iso_segments

    x, y = np.meshgrid(np.linspace(-1, 1, 60), np.linspace(-1, 1, 60))
    g = np.maximum(np.exp(-((x + 0.5) ** 2 + y ** 2) / 0.02), np.exp(-((x - 0.5) ** 2 + y ** 2) / 0.02))
    g[10, 10] = np.nan  # a diverged cell far from the lines is skipped, not an error
    seg = iso_segments(g, (-1.0, 1.0, -1.0, 1.0), 0.5)
    lengths = np.linalg.norm(seg[1::2] - seg[0::2], axis=1)
    assert lengths.max() < 2 * 2 / 59                  # at most a cell's diagonal
    assert (seg[:, 0] < 0).sum() == (seg[:, 0] > 0).sum() > 20   # both circles, the same size


def test_cgan_sample_grid_has_one_row_per_digit():
    from ganplay.engine.config import Config
    from ganplay.engine.presets import apply_preset
    from ganplay.engine.trainer import Trainer
    from ganplay.ui.canvas import tile_images

    cfg = apply_preset("cdcgan", Config())
    cfg.data.name, cfg.data.limit = "mnist", 64
    cfg.train.batch_size, cfg.train.device = 16, "cpu"
    tr = Trainer(cfg)
    z, y, cols = F.image_grid_inputs(tr)
    assert cols == 8 and len(z) == 80
    assert (y.reshape(10, 8) == np.arange(10)[:, None]).all()  # row r is digit r
    fr = F.Frame(step=0, running=False, steps_per_sec=0.0, stats={}, device="cpu")
    F.build_images(tr, fr, z, None, y, cols)
    assert fr.images.shape == (80, 1, 28, 28) and fr.image_cols == 8
    # batched vs single evaluation differ only by float rounding on the CPU
    assert np.allclose(fr.images[8], tr.generate(z[8:9], y[8:9])[0].reshape(1, 28, 28), atol=1e-5)
    assert tile_images(fr.images, cols=fr.image_cols).shape == (10 * 29 - 1, 8 * 29 - 1)


def test_train_loop_runs_without_qt_from_its_queue():
    """The loop both transports share, driven headless: typed commands in order, frames and
    events out."""
    import queue

    from ganplay.live.loop import TrainLoop

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    inbox: queue.Queue = queue.Queue()
    frames: list = []
    events: list = []
    loop = TrainLoop(inbox, frames.append, events.append,
                     stopped=lambda: bool(frames), torch_threads=1)  # ends after its first frame
    for cmd in (P.SetBudgets((("frame", 0.5),)), P.Step("both"), P.Step("d"), P.Describe(),
                P.SetField("loss.name", "nope")):
        inbox.put(cmd)
    loop.run(P.Reset(cfg))
    assert isinstance(events[0], P.EngineReset)
    assert any(isinstance(e, P.FieldRejected) and e.path == "loss.name" for e in events)
    described = next(e for e in events if isinstance(e, P.Described)).info
    assert described["step"] == 2 and described["config"].train.batch_size == 32
    assert described["handled"]["Step"] == 2 and described["handled"]["Reset"] == 1
    assert loop.frame_budget.fraction == 0.5
    assert frames and frames[-1].step == 2 and frames[-1].layers["fake"].shape[1] == 2


def test_a_loop_refuses_to_exist_without_a_handler_for_each_of_its_commands():
    import queue

    from ganplay.live.loop import TrainLoop

    class Forgetful(TrainLoop):
        def handlers(self):
            table = super().handlers()
            del table[P.SaveSession]
            return table

    with pytest.raises(TypeError, match="SaveSession"):
        Forgetful(queue.Queue(), lambda f: None, lambda e: None)


def test_a_failing_training_step_pauses_and_keeps_the_trainer():
    """An error other than divergence (here: out of memory) stops training with a message; the
    trainer and its step stay, so nothing trained is lost."""
    import queue

    from ganplay.live.loop import TrainLoop

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    inbox: queue.Queue = queue.Queue()
    events: list = []
    loop = TrainLoop(inbox, lambda f: None, events.append, stopped=lambda: inbox.empty(), torch_threads=1)
    inbox.put(P.Step())
    loop.run(P.Reset(cfg))
    tr = loop.trainer

    def boom(*a, **k):
        raise MemoryError("cannot allocate")

    tr.step = boom
    inbox.put(P.Step())
    inbox.put(P.Describe())
    loop.run(None)
    failed = [e for e in events if isinstance(e, P.Failed)]
    assert failed and "MemoryError" in failed[0].message and "step 1" in failed[0].message
    assert loop.trainer is tr and not loop.running


def test_headless_loop_publishes_a_final_frame_when_it_stops_at_a_step():
    """Reaching 'stop at' right after a frame went out must still send one with running=False,
    or the window (and anything waiting on it) keeps showing a run that has ended."""
    import queue
    import time

    from ganplay.live.loop import TrainLoop

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    inbox: queue.Queue = queue.Queue()
    frames: list = []
    events: list = []
    deadline = time.monotonic() + 60
    loop = TrainLoop(inbox, frames.append, events.append,
                     stopped=lambda: any(f.step >= 8 and not f.running for f in frames) or time.monotonic() > deadline,
                     torch_threads=1)
    for cmd in (P.SetBudgets((("frame", 1.0),)), P.StopAt(8), P.Play()):
        inbox.put(cmd)
    loop.run(P.Reset(cfg))
    assert P.StoppedAt(8) in events
    assert frames[-1].step == 8 and not frames[-1].running
