"""Compare mode throughput: P same-architecture GANs batched vs trained one after another.

Members differ in their loss (ns, hinge, lsgan, minimax, ...) and share the architecture, data and
seed, as in the Compare view: ring data, MLP 2 x 128 for G and D, batch 256, Adam.
Both variants run in the same process, interleaved round by round (the order alternates), so
load from other processes hits both alike; the table shows medians over the rounds, and the
headline ratio (sequential wall time / batched wall time, measured within each round) as
min / median / max over the rounds.
"Sequential" is one engine Trainer per member, stepped in turn; "batched" is the stacked
BatchedGroup the Population uses for same-shaped members.

    python bench/compare_throughput.py [--rounds 5] [--steps 20] [--threads 1] [--device cpu]
    python bench/compare_throughput.py --sizes 8 --rounds 9   # the headline: 8 batched vs 8 sequential
    python bench/compare_throughput.py --equivalence 50   # batched vs alone: the differences
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganplay.engine.compare_batched import BatchedGroup, keep_freed_memory
from ganplay.engine.config import Config, apply_overrides
from ganplay.engine.population import Population
from ganplay.engine.trainer import Trainer

LOSSES = ("ns", "hinge", "lsgan", "minimax", "ns", "hinge", "lsgan", "minimax")
BASE = ["data.name=ring", "model.g_depth=2", "model.g_width=128", "model.d_depth=2", "model.d_width=128",
        "train.batch_size=256", "model.latent_dim=2"]


def configs(p: int) -> list[Config]:
    return [apply_overrides(Config(), BASE + [f"loss.name={LOSSES[i]}"]).validate() for i in range(p)]


def timed(fn, steps: int, sync) -> tuple[float, float]:
    sync()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fn()
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
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the GUI worker uses cores - 1)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--equivalence", type=int, metavar="STEPS", default=0,
                    help="instead of timing: compare batched and alone over STEPS steps")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if args.equivalence:
        equivalence(args.equivalence, dev)
        return
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    glibc = keep_freed_memory()   # what Population does; applies to both variants alike
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = {}
    for p in sizes:
        seq = [Trainer(c, device=dev) for c in configs(p)]
        grp = BatchedGroup([Trainer(c, device=dev) for c in configs(p)])
        runs[p] = (lambda seq=seq: [t.step() for t in seq], grp.step)
        for f in runs[p]:          # warm-up: allocator, kernels
            for _ in range(5):
                f()
    res: dict[tuple[int, str], list[tuple[float, float]]] = {}
    ratios: dict[int, list[float]] = {p: [] for p in sizes}
    for r in range(args.rounds):
        for p in sizes:
            order = ("seq", "bat") if r % 2 == 0 else ("bat", "seq")
            got = {}
            for mode in order:
                f = runs[p][0] if mode == "seq" else runs[p][1]
                got[mode] = timed(f, args.steps, sync)
                res.setdefault((p, mode), []).append(got[mode])
            ratios[p].append(got["seq"][0] / got["bat"][0])
    print(f"device {dev} ({torch.get_num_threads()} thread(s)); glibc keeps freed blocks: {glibc}; "
          f"{args.rounds} interleaved rounds x {args.steps} steps; medians over the rounds")
    print(f"{'members':>7}  {'mode':<10}  {'GAN steps/s':>11}  {'CPU ms / GAN step':>17}")
    for p in sizes:
        for mode, name in (("seq", "sequential"), ("bat", "batched")):
            walls = [w for w, _ in res[(p, mode)]]
            cpus = [c for _, c in res[(p, mode)]]
            sps = statistics.median(p * args.steps / w for w in walls)
            cpu_ms = statistics.median(c / (p * args.steps) * 1e3 for c in cpus)
            print(f"{p:>7}  {name:<10}  {sps:>11.1f}  {cpu_ms:>17.2f}")
    print("\nbatched / sequential speed (sequential wall / batched wall, per round)")
    print(f"{'members':>7}  {'min':>6}  {'median':>6}  {'max':>6}  per round")
    for p in sizes:
        r = ratios[p]
        rounds = " ".join(f"{x:.2f}" for x in r)
        print(f"{p:>7}  {min(r):>5.2f}x  {statistics.median(r):>5.2f}x  {max(r):>5.2f}x  {rounds}")

if __name__ == "__main__":
    main()
