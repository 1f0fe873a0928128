"""Compare mode: several GAN recipes trained side by side on the same data, seed and budget.

``Population(configs, labels)`` builds one :class:`Trainer` per configuration (so each member
starts from exactly the weights it would have alone), then puts members that share an
architecture into one :class:`BatchedGroup` (stacked weights, batched matmuls) and runs the
others, e.g. unrolled GANs, one after another through their own trainers.  ``step()`` advances
every member by one ``Trainer.step()``; ``member_trainer(i)`` gives a real Trainer holding member
i's current state, so every metrics/snapshot function and ``state_dict`` work on it unchanged.

With ``workers=N`` (N >= 2; ``threads.choose_workers`` picks it) the training units (batched
groups, lone members) are spread over N worker processes of one torch thread each, so a
comparison uses the machine's cores without torch's intra-op threads (which only wait for each
other on these small operations: ``engine/threads.py``). :func:`plan_units` may split a batched
group in two so that the workers' loads even out. The members' trainers in this process then
serve as views: ``member_trainer(i)`` copies the member's state back from its worker. A worker
trains exactly what the same units would train here (``in_process=True`` runs that plan in this
process; the tests compare the two bit for bit).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Sequence

import numpy as np
import torch

from .compare_batched import BatchedGroup, batch_key, keep_freed_memory
from .config import Config, ConfigError, field_names, get_field, set_field, to_dict
from .data import make_data
from .device import resolve_device
from .memory_estimate import check_all_fit
from .presets import apply_preset
from .threads import step_cost
from .trainer import StepStats, Trainer, TrainingDiverged

MAX_MEMBERS = 8
# In a batched group each member costs about this share of a step alone (8 ring MLPs batched:
# 1.29x the speed of one after another, bench/compare_throughput.py); used to plan splits only.
BATCH_DISCOUNT = 0.8

# Short names for the standard comparisons (and for `ganplay compare --vary NAME=a,b`).
VARY_ALIASES: dict[str, str] = {
    "loss": "loss.name", "sn": "model.spectral_norm", "spectral_norm": "model.spectral_norm",
    "k": "train.d_steps", "d_steps": "train.d_steps", "unrolled": "train.unrolled",
    "pack": "train.pack", "lr": "train.lr_d", "seed": "train.seed", "ema": "train.ema",
    "r1": "loss.r1", "real_label": "loss.real_label", "init": "model.init",
}

# The comparisons the Compare view offers for "variations of the current config".
STANDARD_VARIATIONS: dict[str, tuple[str, list[Any]]] = {
    "loss": ("loss.name", ["ns", "hinge"]),
    "spectral_norm": ("model.spectral_norm", [False, True]),
    "k": ("train.d_steps", [1, 5]),
    "unrolled": ("train.unrolled", [0, 5]),
}


@dataclass
class Member:
    label: str
    cfg: Config
    trainer: Trainer                # the member's trainer, or its view when batched or in a worker
    group: BatchedGroup | None      # None: trains alone through ``trainer.step()`` (or in a worker)
    slot: int = 0                   # index inside the group
    stopped: str | None = None      # the divergence message once a member has diverged
    last: StepStats | None = None
    worker: int | None = None       # the worker process that trains it (None: this process)
    in_batch: bool = False          # batched with others inside its worker

    @property
    def batched(self) -> bool:
        return self.group is not None or self.in_batch


# ---------------------------------------------------------------------- planning
def plan_units(cfgs: Sequence[Config], batch: bool = True, workers: int = 0) -> list[list[int]]:
    """The training units: lists of member indices, a batched group (2+ members) or one member
    alone. Members with equal ``batch_key`` form one group. With ``workers`` >= 2 the costliest
    group is halved (in member order) while that lowers the busiest worker's estimated load, so
    that e.g. 8 same-shaped members become two groups of 4, one per core."""
    groups: dict[Any, list[int]] = {}
    for i, c in enumerate(cfgs):
        k = batch_key(c) if batch else None
        groups.setdefault(("alone", i) if k is None else k, []).append(i)
    units = sorted(groups.values(), key=lambda u: u[0])
    if workers < 2:
        return units
    costs = [step_cost(c) for c in cfgs]
    while True:
        best = _makespan(units, costs, workers)
        splittable = [u for u in units if len(u) >= 2]
        if not splittable:
            return units
        big = max(splittable, key=lambda u: _unit_cost(u, costs))
        half = (len(big) + 1) // 2
        trial = sorted([u for u in units if u is not big] + [big[:half], big[half:]], key=lambda u: u[0])
        if _makespan(trial, costs, workers) >= 0.97 * best:
            return units
        units = trial


def _unit_cost(unit: Sequence[int], costs: Sequence[float]) -> float:
    return sum(costs[i] for i in unit) * (BATCH_DISCOUNT if len(unit) > 1 else 1.0)


def assign_units(units: Sequence[Sequence[int]], costs: Sequence[float], workers: int) -> list[list[int]]:
    """Unit indices per worker, costliest unit first onto the least loaded worker (LPT); workers
    left without a unit are dropped."""
    load = [0.0] * max(1, workers)
    out: list[list[int]] = [[] for _ in load]
    for u in sorted(range(len(units)), key=lambda u: (-_unit_cost(units[u], costs), u)):
        w = min(range(len(load)), key=lambda w: (load[w], w))
        out[w].append(u)
        load[w] += _unit_cost(units[u], costs)
    return [sorted(ws) for ws in out if ws]


def _makespan(units: Sequence[Sequence[int]], costs: Sequence[float], workers: int) -> float:
    return max(sum(_unit_cost(units[u], costs) for u in ws) for ws in assign_units(units, costs, workers))


def plan_seconds(cfgs: Sequence[Config], steps: int, workers: int, batch: bool = True) -> tuple[float, float]:
    """Estimated seconds of ``steps`` steps in this process and in ``workers`` processes (the
    busiest one), from ``threads.step_cost``: for deciding whether workers pay for their start."""
    costs = [step_cost(c) for c in cfgs]
    alone = sum(_unit_cost(u, costs) for u in plan_units(cfgs, batch, 0))
    spread = _makespan(plan_units(cfgs, batch, workers), costs, workers) if workers >= 2 else alone
    return alone * steps / 1e3, spread * steps / 1e3


class Population:
    """2-8 GANs trained in lockstep; same-shaped ones as one batched problem; in ``workers``
    processes when asked (``threads.choose_workers``)."""

    def __init__(self, configs: Sequence[Config], labels: Sequence[str] | None = None, *,
                 points: np.ndarray | None = None, device: torch.device | str | None = None,
                 batch: bool = True, workers: int = 0, in_process: bool = False,
                 units: Sequence[Sequence[int]] | None = None):
        if not configs:
            raise ConfigError("compare needs at least one configuration")
        if len(configs) > MAX_MEMBERS:
            raise ConfigError(f"compare trains at most {MAX_MEMBERS} configurations at once, got {len(configs)}")
        cfgs = [c.copy().validate() for c in configs]
        labels = list(labels) if labels is not None else default_labels(cfgs)
        if len(labels) != len(cfgs):
            raise ConfigError("give one label per configuration")
        if device is None:
            self.device, self.device_message = resolve_device(cfgs[0].train.device)
        else:
            self.device, self.device_message = torch.device(device), None
        # all members are held at once: their sum must fit, checked before any is built
        check_all_fit(cfgs, self.device)
        self.points = points
        if self.device.type != "cpu":
            workers = 0   # one GPU: the members share it in this process
        self.units = [list(u) for u in units] if units is not None else plan_units(cfgs, batch, workers)
        if sorted(i for u in self.units for i in u) != list(range(len(cfgs))):
            raise ValueError(f"units {self.units} are not a partition of {len(cfgs)} members")
        self._pool: _Pool | None = None
        self._inflight: deque[int] = deque()   # chunks asked of the workers by start_run, not yet collected
        self._pulled: dict[int, tuple[int, int]] = {}
        assignment = assign_units(self.units, [step_cost(c) for c in cfgs], workers) if workers >= 2 else []
        if len(assignment) >= 2 and not in_process:
            # start the workers first: they import torch and build while this process builds its views
            self._pool = _Pool(cfgs, labels, points, str(self.device), self.units, assignment)
        try:
            datas: dict[str, Any] = {}   # one data object per distinct data section
            trainers = []
            for c in cfgs:
                key = json.dumps(to_dict(c)["data"], sort_keys=True)
                if key not in datas:
                    datas[key] = make_data(c.data, points)
                trainers.append(Trainer(c, data=datas[key], device=self.device))
            self.members = [Member(lab, c, t, None) for lab, c, t in zip(labels, cfgs, trainers)]
            self.groups: list[BatchedGroup] = []
            if self._pool is not None:
                for w, (members, local_units) in enumerate(self._pool.layout):
                    for u in local_units:
                        for li in u:
                            m = self.members[members[li]]
                            m.worker, m.in_batch = w, len(u) > 1
                self._pool.wait_ready()
            else:
                for idx in self.units:
                    if len(idx) < 2:
                        continue   # a lone member is fastest (and exactly itself) in its own trainer
                    g = BatchedGroup([trainers[i] for i in idx])
                    self.groups.append(g)
                    for slot, i in enumerate(idx):
                        self.members[i].group, self.members[i].slot = g, slot
                if self.groups:
                    keep_freed_memory()
        except BaseException:
            self.close()
            raise
        self.step_count = 0

    def __len__(self) -> int:
        return len(self.members)

    def __enter__(self) -> "Population":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def close(self, wait: bool = True) -> None:
        """End the worker processes (if any); the members' last pulled states stay readable.
        ``wait`` False: tell them to end and return at once (a window closing); each ends after
        the chunk of steps it is on."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self._pool = None
            pool.close(wait)

    @property
    def workers(self) -> int:
        """Worker processes training the members (0: all train in this process)."""
        return 0 if self._pool is None else len(self._pool.procs)

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.members]

    @property
    def configs(self) -> list[Config]:
        return [m.cfg for m in self.members]

    def plan(self) -> list[str]:
        """One line per training unit: which members run batched together, which alone."""
        lines = []
        for u in self.units:
            if len(u) > 1:
                lines.append(f"batched ({len(u)}): " + ", ".join(self.members[i].label for i in u))
        alone = [self.members[u[0]].label for u in self.units if len(u) == 1]
        if alone:
            lines.append("one by one: " + ", ".join(alone))
        if self._pool is not None:
            lines.append(f"in {self.workers} worker processes of 1 thread each")
        return lines

    # ------------------------------------------------------------------ training
    def step(self) -> list[StepStats | None]:
        """One step of every member still training; None for a member that has stopped."""
        if self._pool is not None:
            return self._remote_steps(1)
        out: list[StepStats | None] = [None] * len(self.members)
        for g in self.groups:
            res = g.step()
            for m_i, m in enumerate(self.members):
                if m.group is g:
                    r = res[m.slot]
                    if isinstance(r, StepStats):
                        out[m_i] = m.last = r
                    elif isinstance(r, str) and m.stopped is None:
                        m.stopped = r
        for m_i, m in enumerate(self.members):
            if m.group is None and m.stopped is None:
                try:
                    out[m_i] = m.last = m.trainer.step()
                except TrainingDiverged as exc:
                    m.stopped = str(exc)
        self.step_count += 1
        return out

    def run(self, steps: int) -> int:
        """``steps`` steps of every member (fewer once all have stopped); returns how many ran.
        With workers, each runs its members' steps without waiting for the others between them."""
        if steps <= 0 or self.all_stopped:
            return 0
        if self._pool is not None:
            self.drain()
            before = self.step_count
            self._remote_steps(steps)
            return self.step_count - before
        for n in range(1, steps + 1):
            self.step()
            if self.all_stopped:
                return n
        return steps

    def start_run(self, steps: int) -> None:
        """With workers: ask each for ``steps`` more steps and return at once. Chunks queue up in
        the workers' pipes, so with one more asked for before the last is collected a worker
        goes on without waiting for this process (the compare window). :meth:`finish_run`
        collects the oldest; anything else that asks the workers (a pull, ``run``, ``step``)
        collects all first. Meanwhile the members' views hold their last pulled weights."""
        assert self._pool is not None
        self._pool.send(("step", steps))
        self._inflight.append(steps)

    def start_pull(self) -> None:
        """With workers: ask for every member's weights behind the chunks already asked for;
        :meth:`finish_run` loads them into the views when their turn comes (a frame without
        stopping the workers)."""
        assert self._pool is not None
        self._pool.send(("state", True))
        self._inflight.append(-1)

    @property
    def in_flight(self) -> int:
        """Chunks (and pulls) asked for with :meth:`start_run` (:meth:`start_pull`), not collected yet."""
        return len(self._inflight)

    @property
    def chunks_in_flight(self) -> int:
        return sum(1 for n in self._inflight if n >= 0)

    @property
    def pull_in_flight(self) -> bool:
        return any(n < 0 for n in self._inflight)

    def finish_run(self) -> int:
        """Wait for the oldest request: a chunk (returns how many steps ran) or a pull (loads the
        views, returns -1)."""
        assert self._pool is not None and self._inflight
        n = self._inflight.popleft()
        if n < 0:
            for w, states in enumerate(self._pool.collect()):
                self._load_states(w, states, True)
                self._pulled[w] = (self.step_count, 1)
            return -1
        before = self.step_count
        self._collect(n, self._pool.collect())
        return self.step_count - before

    def drain(self) -> int:
        """Collect every chunk still in flight; returns how many steps they ran."""
        done = 0
        while self._inflight and self._pool is not None:
            done += max(0, self.finish_run())
        return done

    def _remote_steps(self, n: int) -> list[StepStats | None]:
        assert self._pool is not None
        self.drain()
        return self._collect(n, self._pool.ask(("step", n)))

    def _collect(self, n: int, answers: list[Any]) -> list[StepStats | None]:
        assert self._pool is not None
        out: list[StepStats | None] = [None] * len(self.members)
        done = 0
        for (members, _), (ran, last, stopped) in zip(self._pool.layout, answers):
            done = max(done, ran)
            for li, i in enumerate(members):
                m = self.members[i]
                if last[li] is not None:
                    out[i] = m.last = last[li]
                if stopped[li] is not None and m.stopped is None:
                    m.stopped = stopped[li]
        self.step_count += n if not self.all_stopped else done
        return out

    @property
    def all_stopped(self) -> bool:
        return all(m.stopped is not None for m in self.members)

    # ------------------------------------------------------------------ views
    def member_trainer(self, i: int, weights_only: bool = False) -> Trainer:
        """A Trainer holding member i's current weights, optimiser state, RNG and step
        (``weights_only``: just what drawing and metrics read, cheaper)."""
        m = self.members[i]
        if m.worker is not None:
            self._pull(m.worker, weights_only)
            return m.trainer
        return m.group.sync_view(m.slot, weights_only) if m.group is not None else m.trainer

    def member_view(self, i: int) -> Trainer:
        """Member i's trainer as this process last saw it, without asking a worker (a frame drawn
        while chunks are in flight): :meth:`member_trainer` for members trained here."""
        m = self.members[i]
        return m.trainer if m.worker is not None else self.member_trainer(i, weights_only=True)

    def _pull(self, w: int, weights_only: bool) -> None:
        """Copy the current state of every member of worker ``w`` into their views here."""
        level = 1 if weights_only else 2
        if self._pool is None:
            return
        self.drain()   # the workers answer in order: the chunks asked for come first
        if self._pulled.get(w, (-1, 0)) >= (self.step_count, level):
            return
        self._load_states(w, self._pool.ask(("state", weights_only), only=w)[0], weights_only)
        self._pulled[w] = (self.step_count, level)

    def _load_states(self, w: int, states: list[dict[str, Any]], weights_only: bool) -> None:
        assert self._pool is not None
        for i, sd in zip(self._pool.layout[w][0], states):
            t = self.members[i].trainer
            if weights_only:
                t.G.load_state_dict(sd["G"])
                t.D.load_state_dict(sd["D"])
                if sd.get("G_ema") is not None and t.G_ema is not None:
                    t.G_ema.load_state_dict(sd["G_ema"])
                t.step_count = int(sd["step"])
            else:
                t.load_state_dict(sd)

    def member_state(self, i: int) -> tuple[Config, dict[str, Any]]:
        """(config, Trainer.state_dict()) of member i: what opening it in the playground needs."""
        t = self.member_trainer(i)
        return t.cfg.copy(), t.state_dict()

    def evaluate(self, n: int = 2500) -> list[dict[str, Any]]:
        """Final metrics per member (the same ``runs.evaluate`` the CLI's train command uses)."""
        from .runs import evaluate

        out = []
        for i, m in enumerate(self.members):
            t = self.member_trainer(i)
            row: dict[str, Any] = {"label": m.label, "steps": t.step_count}
            row.update(evaluate(t, n=n))
            row["batched"] = m.batched
            if m.stopped:
                row["stopped"] = m.stopped
            out.append(row)
        return out


# ---------------------------------------------------------------------- worker processes
class WorkerError(RuntimeError):
    """A worker process failed or ended; the message carries its traceback or exit code."""


def _send(f: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def worker_pipes() -> tuple[Any, Any]:
    """A worker process's end of its parent's pipe: (stdin, the real stdout) as binary streams
    for the length-prefixed pickles; file descriptor 1 then points at stderr, so a stray print
    cannot corrupt the channel."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


def _recv(f: BinaryIO) -> Any:
    head = f.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    data = f.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


class _Pool:
    """The worker processes of one Population: ``layout[w]`` = (global member indices of worker
    w, its units in local indices). Requests go to every worker first, then the answers are read,
    so the workers run at the same time."""

    def __init__(self, cfgs: Sequence[Config], labels: Sequence[str], points: np.ndarray | None,
                 device: str, units: Sequence[Sequence[int]], assignment: Sequence[Sequence[int]]):
        self.layout: list[tuple[list[int], list[list[int]]]] = []
        for unit_ids in assignment:
            members = sorted(i for u in unit_ids for i in units[u])
            self.layout.append((members, [[members.index(i) for i in units[u]] for u in unit_ids]))
        env = dict(os.environ)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env["OMP_NUM_THREADS"] = "1"
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.procs: list[subprocess.Popen] = []
        try:
            for members, local_units in self.layout:
                p = subprocess.Popen(
                    [sys.executable, "-c", "from ganplay.engine.population import _worker_main; _worker_main()"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                self.procs.append(p)
                _send(p.stdin, {"configs": [cfgs[i] for i in members], "labels": [labels[i] for i in members],
                                "points": points, "device": device, "units": local_units, "threads": 1})
        except BaseException:
            self.close()
            raise

    def wait_ready(self) -> None:
        for w in range(len(self.procs)):
            self._answer(w)

    def ask(self, msg: Any, only: int | None = None) -> list[Any]:
        self.send(msg, only)
        return self.collect(only)

    def send(self, msg: Any, only: int | None = None) -> None:
        for w in (range(len(self.procs)) if only is None else [only]):
            try:
                _send(self.procs[w].stdin, msg)
            except (OSError, ValueError):
                pass   # the answer (collect) says why

    def collect(self, only: int | None = None) -> list[Any]:
        return [self._answer(w) for w in (range(len(self.procs)) if only is None else [only])]

    def _answer(self, w: int) -> Any:
        p = self.procs[w]
        try:
            kind, value = _recv(p.stdout)
        except (EOFError, OSError, ValueError):
            code = p.poll()
            raise WorkerError(f"compare worker {w + 1} ended (exit code {code})") from None
        if kind == "error":
            raise WorkerError(f"compare worker {w + 1} failed:\n{value}")
        return value

    def close(self, wait: bool = True) -> None:
        for p in self.procs:
            try:
                _send(p.stdin, ("close", None))
                p.stdin.close()
            except (OSError, ValueError):
                pass
        if not wait:
            for p in self.procs:
                if p.stdout is not None:
                    p.stdout.close()
            self.procs = []
            return
        for p in self.procs:
            try:
                p.wait(5.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        self.procs = []


def _worker_main() -> None:
    """A compare worker: trains its members (an in-process Population over its units) on
    request from the parent, through length-prefixed pickles on stdin/stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    inp, out = worker_pipes()
    try:
        init = _recv(inp)
    except EOFError:
        return
    try:
        torch.set_num_threads(int(init["threads"]))
        pop = Population(init["configs"], init["labels"], points=init["points"], device=init["device"],
                         units=init["units"])
    except Exception:
        _send(out, ("error", traceback.format_exc()))
        return
    _send(out, ("ready", None))
    while True:
        try:
            kind, arg = _recv(inp)
        except EOFError:
            return
        try:
            if kind == "close":
                return
            if kind == "step":
                ran = 0
                last: list[StepStats | None] = [None] * len(pop)
                for _ in range(int(arg)):
                    last = pop.step()
                    ran += 1
                    if pop.all_stopped:
                        break
                _send(out, ("ok", (ran, last, [m.stopped for m in pop.members])))
            elif kind == "state":
                states = []
                for i in range(len(pop)):
                    t = pop.member_trainer(i, bool(arg))
                    if arg:
                        states.append({"G": t.G.state_dict(), "D": t.D.state_dict(), "step": t.step_count,
                                       "G_ema": None if t.G_ema is None else t.G_ema.state_dict()})
                    else:
                        states.append(t.state_dict())
                _send(out, ("ok", states))
            else:
                _send(out, ("error", f"unknown request {kind!r}"))
        except Exception:
            _send(out, ("error", traceback.format_exc()))


# ---------------------------------------------------------------------- building comparisons
def default_labels(cfgs: Sequence[Config]) -> list[str]:
    """Short labels naming the fields in which the configs differ (``loss=hinge sn=True``)."""
    if len(cfgs) == 1:
        return [cfgs[0].loss.name]
    diff = [p for p in field_names() if len({repr(get_field(c, p)) for c in cfgs}) > 1]
    short = {v: k for k, v in VARY_ALIASES.items() if k not in ("sn", "d_steps")}
    labels = []
    for i, c in enumerate(cfgs):
        parts = [f"{short.get(p, p.split('.', 1)[1])}={get_field(c, p)}" for p in diff[:3]]
        labels.append(" ".join(parts) or f"#{i + 1}")
    return _unique(labels)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def preset_configs(names: Sequence[str], base: Config | None = None,
                   overrides: Sequence[str] = ()) -> tuple[list[Config], list[str]]:
    """One config per preset: the preset over ``base``, then the overrides (data, steps, ...)."""
    from .config import apply_overrides

    cfgs = []
    for name in names:
        c = apply_preset(name.strip(), base)
        apply_overrides(c, list(overrides))
        cfgs.append(c.validate())
    return cfgs, [n.strip() for n in names]


def parse_vary(spec: str) -> tuple[str, list[str]]:
    """'loss=ns,hinge' -> ('loss.name', ['ns', 'hinge']); any section.field works as well."""
    if "=" not in spec:
        raise ConfigError(f"bad --vary '{spec}': expected FIELD=v1,v2 (e.g. loss=ns,hinge)")
    name, raw = spec.split("=", 1)
    name = name.strip()
    path = VARY_ALIASES.get(name, name)
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) < 2:
        raise ConfigError(f"bad --vary '{spec}': give at least two values separated by commas")
    probe = Config()
    for v in values:
        set_field(probe, path, v)   # raises ConfigError naming the field or the value
    return path, values


def variations(base: Config, kind: str | tuple[str, Sequence[Any]]) -> tuple[list[Config], list[str]]:
    """Copies of ``base`` that differ in one field: a STANDARD_VARIATIONS name
    ("loss", "spectral_norm", "k", "unrolled"), "presets" (all named recipes), or (path, values)."""
    if kind == "presets":
        from .presets import preset_names

        return preset_configs(preset_names()[:MAX_MEMBERS], base)
    if isinstance(kind, str):
        if kind not in STANDARD_VARIATIONS:
            raise ConfigError(f"unknown variation '{kind}': choose one of "
                              f"{', '.join(list(STANDARD_VARIATIONS) + ['presets'])}")
        path, values = STANDARD_VARIATIONS[kind]
    else:
        path, values = kind[0], list(kind[1])
    return vary_configs([base], [(path, [str(v) for v in values])])


def vary_configs(bases: Sequence[Config], specs: Sequence[tuple[str, list[str]]],
                 base_labels: Sequence[str] | None = None,
                 limit: int | None = MAX_MEMBERS) -> tuple[list[Config], list[str]]:
    """Every base config crossed with every combination of the varied values (at most ``limit``
    of them: a comparison trains them in one population; a sweep passes None)."""
    cfgs, labels = [], []
    combos = list(itertools.product(*[[(p, v) for v in vals] for p, vals in specs])) if specs else [()]
    short = {v: k for k, v in VARY_ALIASES.items() if k not in ("sn", "d_steps")}
    for bi, b in enumerate(bases):
        for combo in combos:
            c = b.copy()
            for path, v in combo:
                set_field(c, path, v)
            if c.train.batch_size % c.train.pack:   # keep PacGAN variations valid
                c.train.batch_size -= c.train.batch_size % c.train.pack
            cfgs.append(c.validate())
            parts = [base_labels[bi]] if base_labels else []
            parts += [f"{short.get(p, p)}={v}" for p, v in combo]
            labels.append(" ".join(parts) or f"#{len(labels) + 1}")
    if limit is not None and len(cfgs) > limit:
        raise ConfigError(f"that comparison has {len(cfgs)} configurations; compare takes at most {limit}")
    return cfgs, _unique(labels)


# ---------------------------------------------------------------------- ranking and export
RANK_COLUMNS = ("modes", "hq", "reverse_kl", "w1")


def ranking(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted best first: most modes covered, then most high-quality samples, then the
    lowest reverse KL and W1 (data without modes: W1 alone). Adds ``rank`` (1 = best)."""
    def key(r: dict[str, Any]) -> tuple:
        def num(k: str, sign: float) -> float:
            v = r.get(k)
            return sign * v if isinstance(v, (int, float)) and math.isfinite(v) else math.inf
        return (r.get("stopped") is not None, num("modes_covered", -1), num("hq_fraction", -1),
                num("reverse_kl", 1), num("w1", 1))

    out = [dict(r) for r in sorted(rows, key=key)]
    for i, r in enumerate(out):
        r["rank"] = i + 1
    return out


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, spec)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranking as a plain-text table (rows already ranked)."""
    head = ["#", "config", "modes", "HQ %", "rev KL", "W1", "steps", "note"]
    body = []
    for r in rows:
        modes = "-" if r.get("modes_covered") is None else f"{r['modes_covered']}/{r['modes_total']}"
        hq = "-" if r.get("hq_fraction") is None else f"{100 * r['hq_fraction']:.1f}"
        note = "diverged" if r.get("stopped") else ("batched" if r.get("batched") else "alone")
        body.append([str(r.get("rank", "")), str(r["label"]), modes, hq, _fmt(r.get("reverse_kl"), ".3f"),
                     _fmt(r.get("w1"), ".3f"), str(r.get("steps", "")), note])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    right = {0, 2, 3, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


def comparison_records(labels: Sequence[str], configs: Sequence[Config],
                       rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per row (in the rows' order, e.g. ranked): label, metrics and full config."""
    cfg_of = dict(zip(labels, configs))
    out = []
    for r in rows:
        metrics = {k: _json_value(v) for k, v in r.items() if k != "label"}
        out.append({"label": r["label"], "metrics": metrics, "config": to_dict(cfg_of[r["label"]])})
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"format": "ganplay-compare-1", "members": list(records)}, indent=2) + "\n"


def to_csv(records: Sequence[dict[str, Any]]) -> str:
    """One row per member: label, metrics, then every config field as section.field."""
    metric_keys: list[str] = []
    for r in records:
        for k in r["metrics"]:
            if k not in metric_keys:
                metric_keys.append(k)
    cfg_keys = field_names()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["label"] + metric_keys + cfg_keys)
    for r in records:
        m = r["metrics"]
        cfg = r["config"]
        vals = [cfg[p.split(".")[0]][p.split(".")[1]] for p in cfg_keys]
        w.writerow([r["label"]] + ["" if m.get(k) is None else m.get(k) for k in metric_keys] + vals)
    return buf.getvalue()
