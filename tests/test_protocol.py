"""The typed protocol walked end to end: every command through the real process transport to a
handler of the loop, every event through the same pipe back to a handler of the window."""
from __future__ import annotations

import dataclasses
import os
import pickle

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from ganplay.engine.config import Config  # noqa: E402
from ganplay.live import protocol as P  # noqa: E402
from ganplay.live.compare_loop import CompareLoop  # noqa: E402
from ganplay.live.layers import LAYER_NAMES  # noqa: E402
from ganplay.live.loop import TrainLoop  # noqa: E402

ENGINE_START_MS = 60_000


def small_config() -> Config:
    cfg = Config()
    cfg.train.batch_size = 32
    cfg.model.g_width = cfg.model.d_width = 16
    return cfg


def playground_commands(tmp_path) -> list[P.Command]:
    """One of each playground command, in an order that makes each meaningful."""
    from ganplay.engine.trainer import Trainer

    cfg = small_config()
    tr = Trainer(cfg)
    tr.step()
    session = str(tmp_path / "s.gpsession")
    return [P.Reset(cfg), P.SetField("train.lr_d", 1e-3), P.SetSpeed(0), P.StopAt(0),
            P.ShowLayers(LAYER_NAMES), P.SetView((-3.0, 3.0, -2.0, 2.0)), P.ShowLabel(3), P.SetBudgets((("frame", 0.05),)),
            P.Step(), P.Play(), P.Pause(), P.TraceStep(),
            P.Rewind(0), P.Branch(), P.Pause(),
            P.RestoreGood(), P.ExportGenerator(str(tmp_path / "g.ganplay")), P.SaveSession(session),
            P.LoadSession(session), P.InstallState(cfg, tr.state_dict()), P.Ping(7),
            P.Echo(P.Pong(8)), P.Describe()]


def compare_commands(tmp_path) -> list[P.Command]:
    return [P.BuildComparison(), P.Step(), P.Play(), P.Pause(), P.RequestMemberState(0),
            P.ExportComparison(str(tmp_path / "c.csv"), "csv", 200), P.Ping(), P.Echo(P.Pong()),
            P.Describe()]


def example_events(tmp_path) -> list[P.Event]:
    """One of each event the window handles, except the transport's own (tested elsewhere: a
    killed child, a refused process)."""
    from ganplay.engine.iteration import trace_step
    from ganplay.engine.trainer import Trainer

    cfg = small_config()
    path = str(tmp_path / "x")
    trace = trace_step(Trainer(cfg), (-2.0, 2.0, -2.0, 2.0), 8)
    return [P.IterationTraced(trace), P.EngineReset("cpu", cfg), P.ResetFailed("bad"), P.Loading(1.0), P.DeviceFallback("moved", "cpu"),
            P.FieldSet("train.lr_d", 1e-3), P.FieldRejected("train.lr_d", "bad"), P.Diverged("nan", 3, 2),
            P.Restored(2), P.StoppedAt(3), P.GeneratorExported(path), P.SessionSaved(path),
            P.SessionLoaded(path, cfg), P.StateInstalled("ns at step 1", cfg), P.FileFailed("export", path, "no"),
            P.Rewound(0, cfg, (0,)), P.Branched(0, (0,)),
            P.Failed("t", "m"), P.Pong(1), P.Described({"step": 0})]


def test_the_message_lists_name_every_message_type_once():
    commands = {c for c in vars(P).values() if isinstance(c, type) and issubclass(c, P.Command) and c is not P.Command}
    events = {c for c in vars(P).values() if isinstance(c, type) and issubclass(c, P.Event) and c is not P.Event}
    assert commands == set(P.PLAYGROUND_COMMANDS) | set(P.COMPARE_COMMANDS)
    assert events == set(P.PLAYGROUND_EVENTS) | set(P.COMPARE_EVENTS)
    for cls in commands | events:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls


def test_the_examples_cover_every_type_and_pickle(tmp_path):
    sent = playground_commands(tmp_path)
    assert {type(c) for c in sent} == set(P.PLAYGROUND_COMMANDS) - {P.Stop}
    assert {type(c) for c in compare_commands(tmp_path)} == set(P.COMPARE_COMMANDS) - {P.Stop}
    events = example_events(tmp_path)
    assert {type(e) for e in events} == set(P.PLAYGROUND_EVENTS) - {P.WorkerFailed, P.WorkerDied}
    for msg in sent + events:
        assert type(pickle.loads(pickle.dumps(msg))) is type(msg)


@pytest.mark.parametrize("loop_cls, build", [(TrainLoop, playground_commands), (CompareLoop, compare_commands)])
def test_every_command_reaches_a_handler_in_the_training_process(qtbot, tmp_path, loop_cls, build):
    from ganplay.ui.worker import ProcessWorker

    cmds = build(tmp_path)
    if loop_cls is CompareLoop:
        first = P.BuildComparison((small_config(), small_config()), ("a", "b"))
    else:
        first, cmds = cmds[0], cmds[1:]
    worker = ProcessWorker(loop_cls, first)
    events: list[P.Event] = []
    worker.event.connect(events.append)

    def described() -> dict:
        n = len(events)
        worker.send(P.Describe())
        qtbot.waitUntil(lambda: any(isinstance(e, P.Described) for e in events[n:]), timeout=ENGINE_START_MS)
        return next(e for e in events[n:] if isinstance(e, P.Described)).info

    worker.start()
    try:
        described()
        for cmd in cmds:
            worker.send(cmd)
        info = described()
    finally:
        assert worker.stop(5000)
        qtbot.wait(100)            # deliver what the relay queued before the worker goes away
    failures = [e for e in events if isinstance(e, (P.Failed, P.FileFailed))]
    assert not failures, failures
    handled = set(info["handled"])
    expected = {type(c).__name__ for c in [first] + cmds}
    assert expected <= handled, expected - handled
    assert (tmp_path / ("c.csv" if loop_cls is CompareLoop else "g.ganplay")).exists()


def test_every_event_crosses_the_pipe_to_a_handler_of_the_window(qtbot, tmp_path, monkeypatch):
    from ganplay.ui.main_window import MainWindow

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: shown.append(title))
    w = MainWindow(small_config(), backend="process")
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.engineReady, timeout=ENGINE_START_MS):
        w.show()
    handled: list[P.Event] = []
    w.eventHandled.connect(handled.append)
    events = example_events(tmp_path)
    for ev in events:
        w.worker.send(P.Echo(ev))
    qtbot.waitUntil(lambda: len(handled) >= len(events), timeout=20_000)
    assert [type(e) for e in handled] == [type(e) for e in events]
    assert "Cannot reset" in shown and "Export failed" in shown
    w.close()


def test_the_compare_view_handles_every_compare_event():
    from ganplay.ui.compare_view import CompareView

    view = CompareView()
    try:
        assert set(P.COMPARE_EVENTS) <= set(view._event_handlers)
    finally:
        view.close()
