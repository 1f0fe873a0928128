"""The compare window's live loop: 2-8 GANs trained side by side on the same data, seed and
budget (the engine's ``Population``), in the training process like the playground's loop.

No Qt: ``transport.serve`` runs it in a process of its own, ``ganplay.ui.worker`` in a thread.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import protocol as P
from .budget import Budget
from .command_loop import CommandLoop

SURFACE_RES = 48
CHUNK_S = 0.03           # training between two looks at the command queue (in this process)
WORKER_CHUNK_S = 0.08   # one request to the workers: longer, as each costs a round trip and a wait for the slower
MAX_CHUNK = 256
N_FAKE = 400
N_REAL = 400


@dataclass
class MemberFrame:
    label: str
    step: int
    surface: np.ndarray | None       # (res, res) float32 in [0, 1], rows = y
    fake: np.ndarray                 # (N_FAKE, 2) float32
    stopped: str | None
    batched: bool


@dataclass
class CompareFrame:
    step: int
    members: list[MemberFrame]
    bounds: tuple[float, float, float, float]
    real: np.ndarray | None = None             # sent with the first frame after a reset
    metrics: list[dict[str, Any]] | None = None  # live ranking metrics, when refreshed
    steps_per_s: float = 0.0
    running: bool = False
    plan: list[str] = field(default_factory=list)


class CompareLoop(CommandLoop):
    """Owns the Population: builds it on ``BuildComparison``, trains all members, publishes
    ``CompareFrame``s (small multiples) and ranking metrics at bounded rates.

    On a CPU with 2+ cores the members train in worker processes of one thread each
    (``threads.choose_workers``), like ``ganplay compare``: the cores do independent work instead
    of splitting tiny operations. The workers then run a chunk of steps per request, sized so a
    chunk takes about :data:`WORKER_CHUNK_S` (commands are answered within ~0.2 s), and the
    frames are drawn while they train the next chunk."""

    commands = P.COMPARE_COMMANDS

    def __init__(self, *args: Any, population: Any = None, workers: int | None = None, **kwargs: Any):
        self._init: tuple[list, list | None, Any] = ([], None, None)
        self.pop: Any = population
        self._own_pop = population is None   # a population handed in is the caller's to close
        self._workers = workers               # None: threads.choose_workers decides
        self._chunk = 1
        self._overlapping = False
        self._last_done = time.perf_counter()
        self.frame_budget = Budget(0.10, 1 / 15)
        self.metrics_budget = Budget(0.05, 1.0)
        self._z_seed = 1
        self._real: np.ndarray | None = None
        self._send_real = True
        self._rate = (time.perf_counter(), 0)
        self._sps = 0.0
        super().__init__(*args, **kwargs)

    def handlers(self) -> dict[type, Callable[[Any], None]]:
        return {P.Play: self._play, P.Pause: self._pause, P.Step: self._step,
                P.BuildComparison: self._build_cmd, P.RequestMemberState: self._member_state,
                P.ExportComparison: self._export}

    def setup(self) -> None:
        super().setup()
        if self.pop is not None:  # a population built by the caller (tests)
            self._installed()

    def busy(self) -> bool:
        return self.running and self.pop is not None

    def describe(self) -> dict[str, Any]:
        pop = self.pop
        return {**super().describe(), "step": None if pop is None else pop.step_count,
                "labels": None if pop is None else list(pop.labels)}

    def _build(self) -> None:
        from ganplay.engine.population import Population, WorkerError
        from ganplay.engine.threads import choose_workers

        configs, labels, points = self._init
        self._close_pop()
        workers = choose_workers(configs) if self._workers is None else self._workers
        try:
            try:
                self.pop = Population(configs, labels, points=points, workers=workers)
            except (OSError, WorkerError) as exc:   # no worker processes here: train in this one
                if not workers:
                    raise
                self.emit(P.Failed("Compare", f"the comparison trains in one process: its worker processes "
                                              f"did not start ({exc})"))
                self.pop = Population(configs, labels, points=points, workers=0)
        except Exception as exc:
            self.pop = None
            self.emit(P.Failed("Compare", f"cannot build the comparison: {exc}"))
            return
        self._own_pop = True
        self._chunk = 1
        self._installed()

    def _close_pop(self, wait: bool = True) -> None:
        if self.pop is not None and self._own_pop:
            self.pop.close(wait)
        self.pop = None

    def teardown(self) -> None:
        self._close_pop(wait=False)   # the window is closing: its workers end on their own

    def _installed(self) -> None:
        assert self.pop is not None
        data = self.pop.members[0].trainer.data
        self._real = data.sample_numpy(N_REAL, seed=3).astype(np.float32)
        self._send_real = True
        self._dirty = True
        self.frame_budget.force()
        self.metrics_budget.force()
        self.emit(P.ComparisonReady(tuple(self.pop.labels), tuple(self.pop.plan()),
                                    tuple(c.copy() for c in self.pop.configs)))

    def _play(self, cmd: P.Play) -> None:
        self.running = self.pop is not None
        self._last_done = time.perf_counter()
        self._rate = (time.perf_counter(), 0)

    def _pause(self, cmd: P.Pause) -> None:
        self.running = False
        if self.pop is not None and self.pop.workers:
            self._train(0)   # the chunks still queued: the paused picture shows where they ended
        self.frame_budget.force()
        self.metrics_budget.force()

    def _step(self, cmd: P.Step) -> None:
        self.running = False
        if self.pop is not None:
            self._train(max(1, int(cmd.n)))
        self.frame_budget.force()
        self.metrics_budget.force()

    def _build_cmd(self, cmd: P.BuildComparison) -> None:
        self.running = False
        if cmd.configs is not None:
            self._init = (list(cmd.configs), list(cmd.labels) if cmd.labels else None, cmd.points)
        self._build()

    def _member_state(self, cmd: P.RequestMemberState) -> None:
        cfg, sd = self.pop.member_state(int(cmd.index))
        self.emit(P.MemberState(int(cmd.index), cfg, sd))

    def _export(self, cmd: P.ExportComparison) -> None:
        from ganplay.engine.population import comparison_records, ranking, to_csv, to_json

        rows = ranking(self.pop.evaluate(n=cmd.n))
        rec = comparison_records(self.pop.labels, self.pop.configs, rows)
        try:
            Path(cmd.path).write_text(to_json(rec) if cmd.fmt == "json" else to_csv(rec), encoding="utf-8")
        except OSError as exc:
            self.emit(P.FileFailed("export", cmd.path, f"cannot write '{cmd.path}': {exc.strerror or exc}"))
        else:
            self.emit(P.ComparisonExported(cmd.path))

    def _train(self, steps: int) -> int:
        """Exactly ``steps`` steps of every member (a Step command; 0: collect what is queued); a
        worker that failed stops the comparison, with why."""
        from ganplay.engine.population import WorkerError   # (torch: not at import, the GUI imports this)

        try:
            if steps <= 0 or self.pop.all_stopped:
                return self.pop.drain() if self.pop.workers else 0
            return self.pop.run(steps)
        except WorkerError as exc:
            self._worker_failed(exc)
            return 0

    def _worker_failed(self, exc: Exception) -> None:
        self.running = False
        self.emit(P.Failed("Compare", f"training stopped: {exc}"))

    def _pump(self) -> int:
        """Workers, while playing: two chunks always queued, so a worker goes on from one to the
        next without waiting for this process (niced, sharing the cores with the window) to ask;
        when a frame is due, a pull of the weights queued behind them, and the frame drawn when
        its turn comes, while the chunks behind it train. Returns the steps collected."""
        from ganplay.engine.population import WorkerError

        pop = self.pop
        try:
            if (not pop.pull_in_flight and self._dirty and self.frame_budget.due(time.perf_counter())
                    and self.ready()):
                pop.start_pull()
            while pop.chunks_in_flight < 2:
                pop.start_run(self._chunk)
            n = pop.finish_run()
        except WorkerError as exc:
            self._worker_failed(exc)
            return 0
        now = time.perf_counter()
        if n < 0:   # the pull: the views hold the weights; the frame is drawn as the next chunk trains
            self._overlapping = True
            try:
                self.maybe_publish()
            finally:
                self._overlapping = False
            return 0
        # with the queue full, chunks end one chunk-time apart: size them to WORKER_CHUNK_S
        took, self._last_done = now - self._last_done, now
        if took < WORKER_CHUNK_S / 2:
            self._chunk = min(self._chunk * 2, MAX_CHUNK)
        elif took > 2 * WORKER_CHUNK_S and self._chunk > 1:
            self._chunk //= 2
        return n

    def train_a_little(self) -> None:
        if self.pop.workers:
            n = self._pump()
        else:
            t_end = time.perf_counter() + CHUNK_S   # answer commands at least every ~30 ms (+ one step)
            n = 0
            while True:
                self.pop.step()
                n += 1
                if self.pop.all_stopped or time.perf_counter() >= t_end:
                    break
        if self.pop is not None and self.pop.all_stopped:
            self.running = False
        t0, k = self._rate
        self._rate = (t0, k + n)
        self._dirty = True

    def maybe_publish(self) -> None:
        if self.pop is None or not self._dirty:
            return
        if self.pop.workers and self.busy() and not self._overlapping:
            return   # drawn in train_a_little, while the workers train the next chunk
        now = time.perf_counter()
        if not self.frame_budget.due(now) or not self.ready():
            return
        self._dirty = False
        t0, k = self._rate
        if now - t0 > 0.5:
            inst = k / (now - t0)
            self._sps = inst if self._sps == 0 else 0.5 * (self._sps + inst)
            self._rate = (now, 0)
        if not self.running:
            self._sps = 0.0
        frame, fakes = self._frame()
        end = time.perf_counter()
        self.frame_budget.spent(now, end)
        if self.metrics_budget.due(end):
            frame.metrics = self._metrics(fakes)
            self.metrics_budget.spent(end, time.perf_counter())
        self.emit_frame(frame)

    def _frame(self) -> tuple[CompareFrame, list[np.ndarray]]:
        from ganplay.engine.metrics import decision_surface

        pop = self.pop
        data = pop.members[0].trainer.data
        bounds = tuple(getattr(data, "bounds", (-2.0, 2.0, -2.0, 2.0)))
        members, fakes = [], []
        for i, m in enumerate(pop.members):
            # while chunks are in flight the workers are not asked: the weights pulled before them
            t = pop.member_view(i) if pop.in_flight else pop.member_trainer(i, weights_only=True)
            two_d = getattr(t.data, "dim", 0) == 2
            fake = t.sample(N_FAKE, seed=self._z_seed) if two_d else np.zeros((0, 2), np.float32)
            surf = decision_surface(t, bounds, SURFACE_RES) if two_d else None
            if surf is not None:
                surf = np.ascontiguousarray(np.nan_to_num(surf, nan=0.5), dtype=np.float32)
            fakes.append(fake)
            members.append(MemberFrame(m.label, t.step_count, surf, fake.astype(np.float32, copy=True),
                                       m.stopped, m.batched))
        frame = CompareFrame(pop.step_count, members, bounds, steps_per_s=self._sps * len(pop),
                             running=self.running)
        if self._send_real and self._real is not None:
            frame.real = self._real.copy()
            frame.plan = pop.plan()
            self._send_real = False
        return frame, fakes

    def _metrics(self, fakes: list[np.ndarray]) -> list[dict[str, Any]]:
        from ganplay.engine.metrics import sample_metrics

        data = self.pop.members[0].trainer.data
        out = []
        for m, fake in zip(self.pop.members, fakes):
            row: dict[str, Any] = {"label": m.label, "steps": m.trainer.step_count if m.group is None
                                   else int(m.group.steps[m.slot]), "batched": m.batched}
            if len(fake) and self._real is not None:
                row.update(sample_metrics(fake, self._real, data))
            if m.stopped:
                row["stopped"] = m.stopped
            out.append(row)
        return out
