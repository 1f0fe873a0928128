"""Compare mode throughput: P same-architecture GANs batched vs trained one after another.

Members differ in their loss (ns, hinge, lsgan, minimax, ...) and share the architecture, data and
seed, as in the Compare view: ring data, MLP 2 x 128 for G and D, batch 256, Adam.
Both variants run in the same process, interleaved round by round (the order alternates), so
load from other processes hits both alike; the table shows medians over the rounds, and the
headline ratio (sequential wall time / batched wall time, measured within each round) as
min / median / max over the rounds.
"Sequential" is one engine Trainer per member, stepped in turn; "batched" is the stacked
BatchedGroup the Population uses for same-shaped members; "parallel" is what ``ganplay compare``
does on a machine with 2+ cores: a Population in worker processes of one thread each
(``engine.threads.choose_workers``; the group split so each worker gets a share) running its
steps with ``Population.run``. Sequential and batched run on ganplay's thread choice (1).

    python bench/compare_throughput.py [--rounds 5] [--steps 20] [--threads N] [--device cpu]
    python bench/compare_throughput.py --sizes 8 --rounds 9   # the headline: 8 batched / parallel vs sequential
    python bench/compare_throughput.py --equivalence 50   # batched vs alone: the differences
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable

import torch

from ganplay.engine.compare_batched import BatchedGroup, keep_freed_memory
from ganplay.engine.config import Config, apply_overrides
from ganplay.engine.population import Population
from ganplay.engine.threads import choose_threads, choose_workers
from ganplay.engine.trainer import Trainer

LOSSES = ("ns", "hinge", "lsgan", "minimax", "ns", "hinge", "lsgan", "minimax")
BASE = ["data.name=ring", "model.g_depth=2", "model.g_width=128", "model.d_depth=2", "model.d_width=128",
        "train.batch_size=256", "model.latent_dim=2"]


def configs(p: int) -> list[Config]:
    return [apply_overrides(Config(), BASE + [f"loss.name={LOSSES[i]}"]).validate() for i in range(p)]


def timed(fn, steps: int, sync) -> tuple[float, float]:
    sync()
    w0, c0 = time.perf_counter(), time.process_time()
    fn(steps)
    sync()
    return time.perf_counter() - w0, time.process_time() - c0


EQUIV_VARIANTS = (
    [], ["loss.name=hinge"], ["loss.name=hinge", "model.spectral_norm=true", "train.lr_d=4e-4"],
    ["loss.name=lsgan", "loss.real_label=0.9"], ["loss.name=minimax", "train.seed=3"],
    ["loss.r1=0.1", "train.ema=0.99"], ["loss.name=wgan-gp", "train.d_steps=5", "train.lr_d=1e-4"],
    ["loss.name=wgan", "train.d_steps=5", "loss.clip=0.05"],
)


def equivalence(steps: int, dev: torch.device) -> None:
    """Train the variants batched (as the Population groups them: one group per k) and alone;
    print the largest differences."""
    cfgs = [apply_overrides(Config(), BASE + v).validate() for v in EQUIV_VARIANTS]
    solo = [Trainer(c, device=dev) for c in cfgs]
    pop = Population(cfgs, [f"#{i + 1}" for i in range(len(cfgs))], device=dev)
    worst = [0.0] * len(cfgs)
    for _ in range(steps):
        for i, (a, b) in enumerate(zip(solo, pop.step())):
            s = a.step()
            for f in ("loss_d", "loss_g", "d_real", "d_fake", "grad_d", "grad_g"):
                x, y = getattr(s, f), getattr(b, f)
                worst[i] = max(worst[i], abs(x - y) / (1 + abs(x)))
    print(f"batched vs alone after {steps} steps (ring, MLP 2x128, batch 256; "
          + "; ".join(pop.plan()) + ")")
    print(f"{'configuration':<52}  {'max rel. stat diff':>18}  {'max |weight diff|':>17}  rng equal")
    for i, v in enumerate(EQUIV_VARIANTS):
        view = pop.member_trainer(i)
        wd = 0.0
        for m_a, m_b in ((solo[i].G, view.G), (solo[i].D, view.D)):
            sa, sb = m_a.state_dict(), m_b.state_dict()
            wd = max(wd, max(float((sa[k] - sb[k]).abs().max()) for k in sa))
        same_rng = torch.equal(solo[i].gen.get_state(), view.gen.get_state())
        print(f"{' '.join(v) or 'ns (default)':<52}  {worst[i]:>18.1e}  {wd:>17.1e}  {same_rng}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,4,8")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="steps per variant per round")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: ganplay's choice, engine.threads.choose_threads: 1)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes of the 'parallel' mode (default: engine.threads.choose_workers; "
                         "0 or 1: no parallel mode)")
    ap.add_argument("--equivalence", type=int, metavar="STEPS", default=0,
                    help="instead of timing: compare batched and alone over STEPS steps")
    args = ap.parse_args()
    if args.threads is None:
        args.threads = max(choose_threads(c) for c in configs(8))
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if args.equivalence:
        equivalence(args.equivalence, dev)
        return
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    glibc = keep_freed_memory()   # what Population does; applies to all variants alike
    sizes = [int(s) for s in args.sizes.split(",")]
    # each mode: a function that runs n steps of every member
    runs: dict[int, dict[str, Callable[[int], Any]]] = {}
    pops, plans = [], {}
    for p in sizes:
        seq = [Trainer(c, device=dev) for c in configs(p)]
        grp = BatchedGroup([Trainer(c, device=dev) for c in configs(p)])
        runs[p] = {"seq": lambda n, seq=seq: [t.step() for _ in range(n) for t in seq],
                   "bat": lambda n, grp=grp: [grp.step() for _ in range(n)]}
        workers = choose_workers(configs(p)) if args.workers is None else args.workers
        if p >= 2 and workers >= 2 and dev.type == "cpu":
            pop = Population(configs(p), device=dev, workers=workers)
            pops.append(pop)
            if pop.workers:
                runs[p]["par"] = pop.run   # as `ganplay compare`: each worker runs the steps on its own
                plans[p] = f"{pop.workers} processes: " + "+".join(str(len(u)) for u in pop.units)
        for f in runs[p].values():        # warm-up: allocator, kernels
            f(5)
    res: dict[tuple[int, str], list[tuple[float, float]]] = {}
    ratios: dict[tuple[int, str], list[float]] = {}
    try:
        for r in range(args.rounds):
            for p in sizes:
                modes = list(runs[p])
                order = modes if r % 2 == 0 else modes[::-1]
                got = {}
                for mode in order:
                    got[mode] = timed(runs[p][mode], args.steps, sync)
                    res.setdefault((p, mode), []).append(got[mode])
                for mode in modes[1:]:
                    ratios.setdefault((p, mode), []).append(got["seq"][0] / got[mode][0])
    finally:
        for pop in pops:
            pop.close()
    print(f"device {dev} ({torch.get_num_threads()} thread(s) here; worker processes: 1 each); "
          f"glibc keeps freed blocks: {glibc}; {args.rounds} interleaved rounds x {args.steps} steps; "
          f"medians over the rounds; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'members':>7}  {'mode':<24}  {'GAN steps/s':>11}  {'CPU ms / GAN step':>17}")
    for p in sizes:
        for mode in runs[p]:
            walls = [w for w, _ in res[(p, mode)]]
            cpus = [c for _, c in res[(p, mode)]]
            sps = statistics.median(p * args.steps / w for w in walls)
            # the workers' CPU time is not this process's
            cpu = "-" if mode == "par" else f"{statistics.median(c / (p * args.steps) * 1e3 for c in cpus):.2f}"
            name = NAMES[mode] + (f" ({plans[p]})" if mode == "par" else "")
            print(f"{p:>7}  {name:<24}  {sps:>11.1f}  {cpu:>17}")
    print("\nspeed over sequential on one thread (sequential wall / wall, per round)")
    print(f"{'members':>7}  {'mode':<10}  {'min':>6}  {'median':>6}  {'max':>6}  per round")
    for (p, mode), r in ratios.items():
        rounds = " ".join(f"{x:.2f}" for x in r)
        print(f"{p:>7}  {NAMES[mode]:<10}  {min(r):>5.2f}x  {statistics.median(r):>5.2f}x  {max(r):>5.2f}x  {rounds}")


NAMES = {"seq": "sequential", "bat": "batched", "par": "parallel"}


if __name__ == "__main__":
    main()
