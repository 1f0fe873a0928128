"""Shared pytest setup: Qt runs offscreen and the window's settings go to a temporary folder."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path_factory, request):
    """Point QSettings' user-scope INI files at a fresh folder so tests never read or write the
    user's real settings (only for tests that use Qt)."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield


@pytest.fixture(autouse=True)
def _no_modal_dialogs(request, monkeypatch):
    """A message box nobody answers would block a Qt test until its timeout: in Qt tests the
    static QMessageBox calls are recorded instead, and a test that did not expect one (did not
    patch it itself) fails with the dialog's text."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str, str]] = []

    def box(kind: str, answer: object):
        def show(parent, title, text, *args, **kwargs):
            shown.append((kind, str(title), str(text)))
            return answer
        return show

    for kind, answer in (("critical", QMessageBox.StandardButton.Ok), ("warning", QMessageBox.StandardButton.Ok),
                         ("information", QMessageBox.StandardButton.Ok), ("question", QMessageBox.StandardButton.No)):
        monkeypatch.setattr(QMessageBox, kind, box(kind, answer))
    yield
    if shown:
        pytest.fail(f"unexpected message box(es): {shown}")


@pytest.fixture(scope="module")
def ring_trainer():
    """A small ring GAN trained 5 steps, with EMA and BatchNorm in G (what export must carry)."""
    import torch

    from ganplay.engine import Config, Trainer
    from ganplay.engine.config import apply_overrides

    torch.set_num_threads(1)
    cfg = apply_overrides(Config(), ["model.g_width=32", "model.d_width=32", "train.batch_size=64",
                                     "train.device=cpu", "train.ema=0.9", "model.latent_dim=3",
                                     "model.g_norm=batch"])
    tr = Trainer(cfg)
    for _ in range(5):
        tr.step()
    return tr


@pytest.fixture
def one_torch_thread():
    """Train on one thread (quicker for tiny networks on a shared 2-core box), then restore."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def describe(qtbot):
    """Ask a window's worker (a thread or a process) for a summary of its live trainer."""

    def ask(w) -> dict:
        from ganplay.live import protocol as P

        with qtbot.waitSignal(w.worker.event, timeout=10_000,
                              check_params_cb=lambda ev: isinstance(ev, P.Described)) as blocker:
            w.worker.send(P.Describe())
        return blocker.args[0].info

    return ask


@pytest.fixture(autouse=True)
def _collect_qt_garbage_on_the_main_thread(request):
    """After a GUI test, collect its dead windows here, on the GUI thread. Left to Python's
    automatic collection, a cycle holding Qt objects may be finalised in a training thread of a
    later test while the window paints, and the two wait for each other."""
    yield
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        import gc

        gc.collect()


@pytest.fixture(scope="module")
def open_window(qapp, tmp_path_factory):
    """Open real playground windows shared by a module's tests (starting the engine is the slow
    part): ``open_window(config, backend="process", size=(1500, 900))`` returns the window once
    its ``engineReady`` signal has fired; each gets its own settings folder; all are closed (and
    their training stopped) after the module."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from ganplay.ui.main_window import MainWindow

    opened = []

    def open_(config, backend: str = "process", size: tuple[int, int] = (1500, 900)):
        folder = tmp_path_factory.mktemp("qsettings_window")
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
        w = MainWindow(config, backend=backend)
        assert w.worker.backend == backend
        w.resize(*size)
        loop = QEventLoop()
        w.engineReady.connect(loop.quit)
        QTimer.singleShot(60_000, loop.quit)
        w.show()
        loop.exec()
        assert w.engine_ready, "the training engine did not start"
        opened.append(w)
        return w

    yield open_
    for w in opened:
        w.close()
        assert not w.worker.isRunning()
