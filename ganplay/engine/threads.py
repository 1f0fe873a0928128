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

So: one thread for the 2D MLPs, up to :data:`DCGAN_THREADS` for the DCGAN (and very wide MLPs)
only where OpenMP waits passively (the ``ganplay`` command sets it before torch loads, for every
process it starts); a comparison uses the other cores through worker processes of one thread each
(``Population(workers=...)``, :func:`choose_workers`), which sleep, not spin, while they wait.

``train.threads`` (0 = auto) overrides the choice for one run.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Sequence

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
