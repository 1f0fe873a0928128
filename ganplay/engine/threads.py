"""How many CPU threads torch gets, and how a comparison spreads over the cores.

Measured on 2 cores (``bench/contention.py``; README, "Threads"): a GAN step here is hundreds of
small operations (an MLP layer of 128 on a batch of 256 is ~0.1 ms), and torch splits each one
over its intra-op threads, which meet at a barrier after every operation. On an idle machine a
second thread gains little or loses (the 2D recipes on two threads: 0.77-0.9x the speed of one;
``wgan-gp`` 1.1x). Beside one CPU-bound process the barrier waits, at every operation, for a
thread the scheduler has parked, and OpenMP's default wait policy makes it worse: the waiting
thread spins and burns the time slice its partner needs. Measured: ``stable`` at 0.02-0.30x its
quiet speed, ``wgan-gp`` at 0.03-0.29x. With ``OMP_WAIT_POLICY=PASSIVE`` a waiting thread sleeps:
the DCGAN on two threads beside a busy process keeps 0.55-0.7x its quiet speed instead of
0.12-0.36x; on an idle machine that costs it 0.82-0.95x of the spinning speed, and its
convolutions (milliseconds each) still gain 1.6-1.75x from the second thread.

So: one thread for the 2D MLPs; for the DCGAN (and very wide MLPs) one or up to
:data:`DCGAN_THREADS`, chosen while it trains by a :class:`ThreadTuner` (:func:`tuner_for`) that
measures both, since passive waiting costs the quiet machine 10-15 % and spinning threads lose
two thirds beside a busy process; without a tuner, more than one thread only where OpenMP waits
passively (:func:`waits_passively`). A comparison uses the other cores through worker processes
of one thread each (``Population(workers=...)``, :func:`choose_workers`).

``train.threads`` (0 = auto) overrides the choice for one run.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Sequence

# The DCGAN's convolutions (batch 64, 64-128 channels on 7x7 and 14x14) are large enough to share;
# measured on 2 cores, quiet and beside a busy process (README, "Threads").
DCGAN_THREADS = 2
# An MLP whose forward pass is at least this many multiply-adds (batch x sum of width^2 over both
# networks' hidden layers) may share them too. Measured, two threads over one, quiet, passive:
# 67M (width 256, batch 256) 0.6x; 537M (512, 512) 0.9-1.2x; 2.1G (512, 2048) 1.6x; 4.3G (1024,
# 1024) 1.5x. The presets' largest MLP is 17M.
BIG_MLP_MACS = 1 << 30
BIG_MLP_THREADS = 2
# Starting the workers of a comparison (each imports torch and builds its trainers) costs 3-5 s of
# wall time on 2 cores. Measured: `ganplay compare --presets vanilla,stable,wgan-gp,lsgan --steps
# 300` took 11.7 s with 2 workers against 11.4 s in one process (training alone: 5.2 s against
# 8.0 s), so workers are used only where they are estimated to save more than this.
WORKER_START_S = 5.0


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_set_before_torch = False   # passive_openmp() ran before this process loaded torch


def passive_openmp() -> bool:
    """Ask OpenMP to sleep, not spin, while a thread waits for its partners (``OMP_WAIT_POLICY``),
    for this process if torch is not loaded yet and for every process it starts. A value the
    user set is kept. Returns True when this process's torch will wait passively."""
    global _set_before_torch
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "torch" not in sys.modules:
        _set_before_torch = True
    return waits_passively()


def waits_passively() -> bool:
    """Whether this process's OpenMP waits passively: ``OMP_WAIT_POLICY=PASSIVE`` in the
    environment the process started with, or set here before torch loaded. (Set later, it only
    reaches the processes this one starts.)"""
    if os.environ.get("OMP_WAIT_POLICY", "").strip().upper() != "PASSIVE":
        return False
    if _set_before_torch or "torch" not in sys.modules:
        return True
    try:
        with open("/proc/self/environ", "rb") as f:
            return b"OMP_WAIT_POLICY=PASSIVE" in f.read().upper().split(b"\0")
    except OSError:
        return True   # no /proc: trust the environment


def _on_gpu(cfg: Any) -> bool:
    if cfg.train.device == "cpu":
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def mlp_macs(cfg: Any) -> int:
    """Multiply-adds of one forward pass of G and D over a batch (the hidden layers dominate)."""
    m = cfg.model
    return cfg.train.batch_size * (m.g_depth * m.g_width ** 2 + m.d_depth * m.d_width ** 2)


def choose_threads(cfg: Any, cores: int | None = None, passive: bool | None = None) -> int:
    """Torch's intra-op thread count for training ``cfg``: ``train.threads`` when set, else one
    for the 2D MLPs (and on a GPU, where the CPU only launches kernels), up to
    :data:`DCGAN_THREADS` for the DCGAN and :data:`BIG_MLP_THREADS` for very wide MLPs, never
    more than the cores there are, and those only where OpenMP waits passively
    (:func:`waits_passively`; ``passive`` overrides the check): spinning threads beside a busy
    process cost the DCGAN 3-7x."""
    if cfg.train.threads > 0:
        return int(cfg.train.threads)
    cores = available_cores() if cores is None else max(1, cores)
    if _on_gpu(cfg) or not (waits_passively() if passive is None else passive):
        return 1
    if cfg.model.arch == "dcgan":
        return max(1, min(cores, DCGAN_THREADS))
    if mlp_macs(cfg) >= BIG_MLP_MACS:
        return max(1, min(cores, BIG_MLP_THREADS))
    return 1


def use_threads(n: int) -> int:
    """Set torch's intra-op threads to ``n`` (when they differ); returns ``n``."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


# ---------------------------------------------------------------------- comparisons
def step_cost(cfg: Any) -> float:
    """A rough cost of one training step, in milliseconds of one core (for planning which
    members share a worker, not for promises): ~1.2 ms per MLP update of the default size,
    D updates with a gradient penalty 2.5 times that, unrolled G updates k D steps more."""
    m, t, lc = cfg.model, cfg.train, cfg.loss
    if m.arch == "dcgan":
        size = 200.0
    else:
        size = max(0.15, mlp_macs(cfg) / (256 * 2 * 2 * 128 ** 2))
    penalty = lc.name == "wgan-gp" or lc.gp > 0 or lc.r1 > 0
    d_cost = 2.5 if penalty else 1.0
    updates = t.d_steps * d_cost + 1 + t.unrolled
    return 1.2 * size * updates


def choose_workers(cfgs: Sequence[Any], steps: int | None = None, cores: int | None = None,
                   batch: bool = True) -> int:
    """How many worker processes a comparison of ``cfgs`` should train in (0: in this process).

    One per core up to one per member, on the CPU, when they are estimated to save more than
    :data:`WORKER_START_S` over ``steps`` steps (``population.plan_seconds``: the step costs of
    :func:`step_cost` in this process against the busiest worker); ``steps`` None: a live
    comparison without an end, always worth it. A config that sets ``train.threads`` keeps the
    comparison in this process, on those threads."""
    cores = available_cores() if cores is None else max(1, cores)
    if cores < 2 or len(cfgs) < 2 or any(_on_gpu(c) for c in cfgs):
        return 0
    if any(c.train.threads > 0 for c in cfgs):
        return 0
    n = min(cores, len(cfgs))
    if steps is not None:
        from .population import plan_seconds

        alone, spread = plan_seconds(cfgs, steps, n, batch)
        if alone - spread < WORKER_START_S:
            return 0
    return n


# ---------------------------------------------------------------------- choosing while training
class ThreadTuner:
    """Torch's intra-op threads for a workload that may use more than one (the DCGAN, very wide
    MLPs), chosen while it trains by measuring: the step rate on ``most`` threads and on one, in
    turn, keeping the faster.

    Measured on 2 cores (README, "Threads"): the DCGAN quiet trains at ~11 steps/s on two threads
    and ~6 on one; beside one CPU-bound process two threads fall to ~3.5 (each operation's
    barrier waits for a thread the scheduler has parked) while one keeps ~6. No fixed count is
    right for both, and OpenMP's passive wait policy, which helps two threads beside a busy
    process, costs 10-15 % quiet. So the training loop times its steps and calls :meth:`observe`;
    the tuner re-measures the other count when the rate falls by a quarter (load arrived), when
    a core it gave up is idle again (load left; ``/proc/stat``), and otherwise every
    :data:`RECHECK_S` seconds; a probe costs under a second of the slower rate, about 1 % of a
    long run.
    """

    WINDOW_S = 0.75        # one measurement: at least this long ...
    MIN_STEPS = 4          # ... and this many steps
    SETTLE_STEPS = 1       # steps after a switch that are not measured (the new team starts)
    RECHECK_S = (10.0, 20.0, 30.0)   # hold before re-measuring the other count; grows while the choice stands
    DROP = 0.75            # a held rate below this share of the chosen rate: re-measure now

    IDLE_CORE = 0.6        # idle share of a core (machine-wide) that says a dropped thread may run again

    def __init__(self, most: int, set_threads: Callable[[int], Any] | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 idle_cores: Callable[[], float | None] | None = None):
        self.most = max(1, int(most))
        self._set = set_threads or use_threads
        self._clock = clock
        self._idle = idle_cores or IdleCores()
        self._idle_probed = False   # an idle machine already failed to bring the threads back
        self.current = self.most
        self.rates: dict[int, float] = {}
        self.switches = 0
        self._queue: list[int] = [1] if self.most > 1 else []   # counts still to measure in this probe
        self._probing = bool(self._queue)
        self._ref = 0.0
        self._last_choice: int | None = None
        self._recheck = 0
        self._hold_since = clock()
        self._settle = 0
        self._times: list[float] = []
        self._total = 0.0              # sum of _times (observe runs once per training step)
        self._set(self.current)

    @property
    def threads(self) -> int:
        return self.current

    def observe(self, seconds: float) -> None:
        """One training step took ``seconds``; may change torch's threads for the next ones."""
        if self.most <= 1:
            return
        if self._settle > 0:
            self._settle -= 1
            return
        self._times.append(seconds)
        self._total += seconds
        if len(self._times) < self.MIN_STEPS or self._total < self.WINDOW_S:
            return
        ts = sorted(self._times)
        kept = ts[: max(1, len(ts) - len(ts) // 10)]   # a GC pause or one preempted step is not the rate
        rate = len(kept) / sum(kept)
        self._times, self._total = [], 0.0
        self.rates[self.current] = rate
        if self._probing:
            if self._queue:
                self._switch(self._queue.pop(0))
                return
            self._choose()
            return
        held = self._clock() - self._hold_since
        idle = self._idle()   # machine-wide idle cores since the last window (None: not known here)
        # on fewer threads than it may use, the rate barely shows the load leaving; idle cores do
        freed = (self.current < self.most and not self._idle_probed and idle is not None
                 and idle >= self.IDLE_CORE * (self.most - self.current))
        if rate < self.DROP * self._ref or held >= self.RECHECK_S[self._recheck] or freed:
            if rate < self.DROP * self._ref:
                self._recheck = 0
            self._idle_probed = freed
            self._probing = True
            self._switch(1 if self.current != 1 else self.most)

    def _choose(self) -> None:
        self._probing = False
        before = self.current
        best = max(self.rates, key=lambda n: (self.rates[n], -n))   # a tie: fewer threads
        if best == self._last_choice:   # the choice stands: re-check less often
            self._recheck = min(self._recheck + 1, len(self.RECHECK_S) - 1)
        else:
            self._recheck = 0
            self._idle_probed = False
        self._last_choice = best
        self._ref = self.rates[best]
        self._hold_since = self._clock()
        if best != before:
            self._switch(best)

    def _switch(self, n: int) -> None:
        if n != self.current:
            self.current = n
            self.switches += 1
            self._set(n)
        self._settle = self.SETTLE_STEPS
        self._times, self._total = [], 0.0


class IdleCores:
    """Idle cores of the whole machine between two calls, from ``/proc/stat`` (Linux); None
    where it cannot be read."""

    def __init__(self) -> None:
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", "rb") as f:
                parts = f.readline().split()
        except OSError:
            return None
        if len(parts) < 5 or parts[0] != b"cpu":
            return None
        vals = [int(x) for x in parts[1:9]]
        return vals[3] + vals[4], sum(vals)   # idle + iowait, all

    def __call__(self) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[1] <= last[1]:
            return None
        return (now[0] - last[0]) / (now[1] - last[1]) * available_cores()


def tuner_for(cfg: Any, cores: int | None = None, limit: int | None = None) -> ThreadTuner | None:
    """A :class:`ThreadTuner` for training ``cfg`` when it may use more than one thread (the
    DCGAN, very wide MLPs, on the CPU, ``train.threads`` = auto), at most ``limit``; None
    otherwise, with torch's threads set to the one choice (:func:`choose_threads`, or the
    config's ``train.threads`` as it is)."""
    if cfg.train.threads > 0:
        use_threads(int(cfg.train.threads))
        return None
    most = choose_threads(cfg, cores, passive=True)
    if limit is not None:
        most = min(most, limit)
    if most <= 1:
        use_threads(1)   # (choose_threads without the passive check gives no more than this)
        return None
    return ThreadTuner(most)
