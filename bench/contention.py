"""Training speed on a busy computer: each workload quiet, then beside one and two CPU-bound
processes, with torch's old thread choice and with ``engine.threads`` (before/after in one run).

Workloads: the ``stable``, ``wgan-gp``, ``ganlab``, ``vanilla`` and ``lsgan`` recipes on the ring,
``dcgan`` on MNIST, and ``compare``: the 4-recipe comparison vanilla, stable, wgan-gp, lsgan
(steps/s there = steps of all four members). Variants, each one child process that keeps its
trainers between segments:

- ``before``: torch's defaults: as many intra-op threads as cores, OpenMP's default (spinning)
  wait policy, the comparison in one process (batched where it can be);
- ``after``: what ganplay does now: one thread for the 2D recipes, the DCGAN's threads chosen
  while it trains by ``threads.ThreadTuner`` (two or one, by the step rates it measures; the
  child keeps its tuner from segment to segment as a run would, so a busy segment includes the
  tuner noticing the load), OpenMP's default wait policy, and the comparison in
  ``threads.choose_workers`` worker processes of one thread each;
- ``one`` (only with ``--variants``): one thread for everything, the comparison in one process:
  what the DCGAN's second thread and the compare workers add;
- ``passive`` (only with ``--variants``): the previous choice: ``OMP_WAIT_POLICY=PASSIVE`` and
  ``choose_threads`` (two threads for the DCGAN, always).

Every round runs each load level (0, 1, 2 busy processes, ``python -c "while True: pass"``
started and killed here) and in it every workload with both variants (the order alternates per
round), so load from other processes on the machine hits both alike. Ratios are taken within a
round (busy segment / quiet segment of the same variant) and shown as min / median / max over the
rounds. Before each round the CPU use of the rest of the machine is sampled (``/proc/stat``, 0.5 s,
nothing of this bench running) and printed with the load averages: the "quiet" baseline is
whatever the machine was at that moment.

The compare row's "vs separate" column is the comparison's speed over that of the four recipes
trained one after another at their single-run speeds of the same round (1 / sum of 1/speed):
above 1, the comparison finishes sooner than the four separate runs would.

    python bench/contention.py                       # ~4 minutes on 2 cores
    python bench/contention.py --rounds 5 --seconds 2
    python bench/contention.py --workloads stable,dcgan --hogs 0,1
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SINGLE = ("stable", "wgan-gp", "ganlab", "dcgan", "vanilla", "lsgan")
COMPARE = ("vanilla", "stable", "wgan-gp", "lsgan")
WORKLOADS = SINGLE + ("compare",)
VARIANTS = ("before", "after")   # the default; "one" on request
LONG = {"dcgan": 5.0, "compare": 2.0}   # segment length factors: slow steps need longer segments
TUNED = ("dcgan",)   # workloads whose threads ganplay chooses while training (threads.ThreadTuner)


# ---------------------------------------------------------------------- the child: one variant
def _config(preset: str):
    from ganplay.engine.config import Config
    from ganplay.engine.presets import PRESETS, apply_preset

    base = Config()
    base.train.device = "cpu"
    if PRESETS[preset].data_kind == "image":
        base.data.name = "mnist"
    return apply_preset(preset, base).validate()


class Workload:
    def __init__(self, name: str, variant: str):
        import torch

        from ganplay.engine.threads import choose_threads, choose_workers, tuner_for

        self.name = name
        self.tuner = None
        self.default_threads = torch.get_num_threads()
        if name == "compare":
            from ganplay.engine.population import Population

            cfgs = [_config(p) for p in COMPARE]
            workers = choose_workers(cfgs) if variant in ("after", "passive") else 0
            self.pop = Population(cfgs, list(COMPARE), device="cpu", workers=workers)
            self.threads = {"after": max(choose_threads(c) for c in cfgs), "one": 1}.get(
                variant, self.default_threads)
            self.note = f"{self.pop.workers} workers" if self.pop.workers else "1 process"
            self.chunk = 1
        else:
            from ganplay.engine.trainer import Trainer

            cfg = _config(name)
            self.trainer = Trainer(cfg, device="cpu")
            if variant == "after":
                self.tuner = tuner_for(cfg)
            self.threads = {"after": choose_threads(cfg, passive=True), "one": 1,
                            "passive": choose_threads(cfg, passive=True)}.get(variant, self.default_threads)
            self.note = "tuned" if self.tuner else ""

    def segment(self, seconds: float) -> tuple[int, float]:
        """Steps for at least ``seconds`` (at least one step): (steps, wall seconds)."""
        import torch

        if self.tuner is None and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        n, t0 = 0, time.perf_counter()
        if self.name == "compare":
            chunk = 1   # doubling chunks: workers run a chunk without waiting for each other
            while time.perf_counter() - t0 < seconds:
                n += self.pop.run(chunk)
                chunk *= 2
        else:
            while n == 0 or time.perf_counter() - t0 < seconds:
                ts = time.perf_counter()
                self.trainer.step()
                if self.tuner is not None:
                    self.tuner.observe(time.perf_counter() - ts)
                n += 1
        return n, time.perf_counter() - t0


def child(variant: str, names: list[str]) -> None:
    """Build the workloads, warm them up, then answer "NAME SECONDS" lines with JSON."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    loads = {n: Workload(n, variant) for n in names}
    for w in loads.values():
        w.segment(0.3)
    out.write(json.dumps({n: {"threads": w.threads, "note": w.note} for n, w in loads.items()}) + "\n")
    out.flush()
    for line in sys.stdin:
        name, secs, settle = line.split()
        if float(settle) > 0:
            loads[name].segment(float(settle))   # not measured: a tuner meets the new load first
        steps, wall = loads[name].segment(float(secs))
        tuner = loads[name].tuner
        out.write(json.dumps({"steps": steps, "wall": wall, "tuner": None if tuner is None else
                              [tuner.current, {k: round(v, 2) for k, v in tuner.rates.items()}, tuner.switches]}) + "\n")
        out.flush()
    for w in loads.values():
        if w.name == "compare":
            w.pop.close()


# ---------------------------------------------------------------------- the parent
def _busy_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def background_cores(seconds: float = 0.5) -> float | None:
    """Cores the rest of the machine kept busy over ``seconds`` (this bench idle), or None."""
    try:
        b0, t0 = _busy_jiffies()
        time.sleep(seconds)
        b1, t1 = _busy_jiffies()
    except OSError:
        return None
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


def spread(xs: list[float], fmt: str = ".2f") -> str:
    """min / median / max."""
    if not xs:
        return "-"
    return f"{format(min(xs), fmt)} / {format(statistics.median(xs), fmt)} / {format(max(xs), fmt)}"


class Child:
    def __init__(self, variant: str, names: list[str]):
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        env.pop("OMP_NUM_THREADS", None)
        if variant == "passive":
            env["OMP_WAIT_POLICY"] = "PASSIVE"   # what the ganplay command set before torch loaded
        self.variant = variant
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", variant, "--workloads", ",".join(names)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ready(self) -> dict:
        return json.loads(self.proc.stdout.readline())

    def segment(self, name: str, seconds: float, settle: float = 0.0) -> float:
        self.proc.stdin.write(f"{name} {seconds} {settle}\n")
        self.proc.stdin.flush()
        r = json.loads(self.proc.stdout.readline())
        if r.get("tuner") and os.environ.get("GANPLAY_BENCH_DEBUG"):
            print(f"  {name} {self.variant}: {r['steps'] / r['wall']:.2f} steps/s; tuner {r['tuner']}", flush=True)
        return r["steps"] / r["wall"]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def run(names: list[str], variants: list[str], hogs: list[int], rounds: int, seconds: float,
        log=print, settle: float = 0.0) -> dict:
    """rates[(workload, variant, hogs)] = steps/s per round; plus the background and info."""
    rates: dict[tuple[str, str, int], list[float]] = {}
    background: list[float] = []
    children = {v: Child(v, names) for v in variants}
    busy: list[subprocess.Popen] = []
    try:
        info = {v: c.ready() for v, c in children.items()}
        for r in range(rounds):
            while busy:                 # the rest of the machine alone: none of ours running
                p = busy.pop()
                p.kill()
                p.wait()
            bg = background_cores()
            if bg is not None:
                background.append(bg)
            log(f"round {r + 1}/{rounds}: rest of the machine {bg if bg is None else round(bg, 2)} cores busy, "
                f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            for level in hogs:
                while len(busy) < level:
                    busy.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
                while len(busy) > level:
                    p = busy.pop()
                    p.kill()
                    p.wait()
                time.sleep(0.3)
                for name in names:
                    order = variants if r % 2 == 0 else variants[::-1]
                    for v in order:
                        rates.setdefault((name, v, level), []).append(
                            children[v].segment(name, seconds * LONG.get(name, 1.0),
                                                settle if name in TUNED else 0.0))
    finally:
        for p in busy:
            p.kill()
            p.wait()
        for c in children.values():
            c.close()
    return {"rates": rates, "background": background, "info": info}


def ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b) if y > 0]


def separate_rate(rates: dict, v: str, level: int) -> list[float]:
    """Per round: 1 / sum(1 / speed) of the compare's four recipes trained alone."""
    per = [rates[(p, v, level)] for p in COMPARE]
    return [1.0 / sum(1.0 / x[r] for x in per) for r in range(len(per[0]))]


def report(res: dict, names: list[str], variants: list[str], hogs: list[int]) -> str:
    rates, info = res["rates"], res["info"]
    lines = []
    busy_levels = [h for h in hogs if h > 0]
    head = f"{'workload':<9} {'variant':<7} {'threads':<10} {'quiet steps/s':>22}"
    for h in busy_levels:
        head += f"  {f'x quiet, {h} busy':>20}"
    lines += [head, "-" * len(head)]
    for name in names:
        for v in variants:
            q = rates.get((name, v, 0), [])
            thr = str(info[v][name]["threads"]) + (f" {info[v][name]['note']}" if info[v][name]["note"] else "")
            row = f"{name:<9} {v:<7} {thr:<10} {spread(q, '.1f') if q else '-':>22}"
            for h in busy_levels:
                row += f"  {spread(ratios(rates[(name, v, h)], q)) if q else '-':>20}"
            lines.append(row)
    for other in [v for v in variants if v != "before"] if "before" in variants else []:
        lines.append("")
        lines.append(f"{other} / before, same round (min / median / max)")
        for name in names:
            cells = [f"{h} busy: {spread(ratios(rates[(name, other, h)], rates[(name, 'before', h)]))}"
                     for h in hogs]
            lines.append(f"  {name:<9} " + "   ".join(cells))
    if "compare" in names and all(p in names for p in COMPARE):
        lines.append("")
        lines.append("compare vs the four recipes one after another at their single-run speeds "
                     "(same round; > 1: the comparison is faster)")
        for v in variants:
            cells = [f"{h} busy: {spread(ratios(rates[('compare', v, h)], separate_rate(rates, v, h)))}"
                     for h in hogs]
            lines.append(f"  {v:<7} " + "   ".join(cells))
    bg = res["background"]
    if bg:
        lines.append("")
        lines.append(f"rest of the machine before each round: {spread(bg)} cores busy (min / median / max)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0, help="segment length (dcgan and compare: longer)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--hogs", default="0,1,2", help="busy processes per load level (0 first: the baseline)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--settle", type=float, default=6.0,
                    help="seconds of the DCGAN trained unmeasured before each of its segments, every variant "
                         "(the tuner has then met the segment's load, as in a long run; 0: measure from the "
                         "load's first second)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    bad = [n for n in names if n not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {', '.join(bad)}; choose from {', '.join(WORKLOADS)}")
    if args.child:
        child(args.child, names)
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    hogs = [int(h) for h in args.hogs.split(",")]
    cores = os.cpu_count()
    t0 = time.perf_counter()
    print(f"{cores} cores; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.rounds} rounds, "
          f"segments of {args.seconds} s (dcgan x{LONG['dcgan']} after {args.settle} s unmeasured, compare x{LONG['compare']})", flush=True)
    res = run(names, variants, hogs, args.rounds, args.seconds, log=lambda s: print(s, flush=True),
              settle=args.settle)
    print()
    print(report(res, names, variants, hogs))
    print(f"\n{time.perf_counter() - t0:.0f} s; load at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
