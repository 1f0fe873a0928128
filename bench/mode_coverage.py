"""Mode coverage on the VEEGAN/GDPP 2D protocol, for each preset, over several seeds.

Data (presets never set data fields, so every preset sees exactly these):
  ring: 8 Gaussians on a circle of radius 1, sigma = 0.01
  grid: 5 x 5 Gaussians, centres {-4,-2,0,2,4}^2, sigma = 0.05
Each run trains a preset for its own ``train.steps`` (or ``--steps``), then draws 2,500 samples
(``metrics.evaluate_2d``): a sample is high quality within 3 sigma of its nearest centre, a mode is
covered when a high-quality sample is nearest to it, reverse KL = KL(mode histogram || uniform).

    python bench/mode_coverage.py                        # vanilla and stable, 5 seeds, both data sets
    python bench/mode_coverage.py --presets stable --eval-at 10000,20000 --steps 20000
    python bench/mode_coverage.py --presets vanilla,stable,pacgan --seeds 3 --jobs 2

``--eval-at`` measures the same runs at earlier step counts too (training continues), which shows
how far a recipe goes beyond its budget without re-training. Wall-clock is training time only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ganplay.engine.config import Config, apply_overrides  # noqa: E402
from ganplay.engine.metrics import evaluate_2d  # noqa: E402
from ganplay.engine.presets import apply_preset, preset_names  # noqa: E402
from ganplay.engine.trainer import Trainer, TrainingDiverged  # noqa: E402

DATA = {
    "ring": ["data.name=ring", "data.modes=8", "data.radius=1", "data.std=0.01"],
    "grid": ["data.name=grid", "data.grid_n=5", "data.spacing=2", "data.std=0.05"],
}

# Published rows on this protocol quoted by the issue (VEEGAN, Srivastava et al. 2017; GDPP,
# Elfeki et al. 2019): (data, name, modes, hq %), None where the issue quotes no figure.
ANCHORS = [
    ("ring", "GAN (published)", 1.0, None),
    ("ring", "GDPP (published best)", 8.0, 71.7),
    ("grid", "GAN (published)", 3.3, None),
    ("grid", "GDPP (published best)", 24.8, 68.5),
]


def one_run(preset: str, data: str, seed: int, steps: int, eval_at: list[int], threads: int,
            overrides: list[str]) -> list[dict[str, Any]]:
    """Train one preset on one data set with one seed; metrics at each ``eval_at`` step."""
    torch.set_num_threads(threads)
    cfg = apply_preset(preset, Config())
    apply_overrides(cfg, DATA[data] + overrides + [f"train.seed={seed}", "train.device=cpu"])
    if steps > 0:
        cfg.train.steps = steps
    total = cfg.train.steps
    points = sorted({s for s in eval_at if 0 < s < total} | {total})
    tr = Trainer(cfg)
    rows: list[dict[str, Any]] = []
    train_s = 0.0
    diverged = ""
    for target in points:
        t0 = time.perf_counter()
        try:
            while tr.step_count < target:
                tr.step()
        except TrainingDiverged as exc:  # measure the last good state, and say so
            tr.restore_last_good()
            diverged = str(exc).split(";")[0]
        train_s += time.perf_counter() - t0
        m = evaluate_2d(tr, n=2500, seed=seed)
        rows.append({"preset": preset, "data": data, "seed": seed, "steps": target,
                     "train_s": train_s, "modes": m["modes_covered"], "modes_total": m["modes_total"],
                     "hq": m["hq_fraction"], "rkl": m["reverse_kl"], "w1": m["w1"], "diverged": diverged})
        if diverged:
            break
    return rows


def summarise(rows: list[dict[str, Any]]) -> None:
    print("\nSummary (mean over seeds; min in brackets; 'all' = seeds covering every mode)")
    hdr = (f"{'preset':<10} {'data':<5} {'steps':>6} {'seeds':>5} {'modes':>13} {'all':>5} "
           f"{'HQ %':>13} {'rev KL':>7} {'W1':>6} {'s/run':>6}")
    print(hdr)
    print("-" * len(hdr))
    keys = sorted({(r["preset"], r["data"], r["steps"]) for r in rows},
                  key=lambda k: (list(PRESET_ORDER).index(k[0]) if k[0] in PRESET_ORDER else 99, k[1], k[2]))
    for preset, data, steps in keys:
        rs = [r for r in rows if (r["preset"], r["data"], r["steps"]) == (preset, data, steps)]
        modes = [r["modes"] for r in rs]
        hq = [100 * r["hq"] for r in rs]
        total = rs[0]["modes_total"]
        n_all = sum(m == total for m in modes)
        print(f"{preset:<10} {data:<5} {steps:>6} {len(rs):>5} "
              f"{statistics.mean(modes):>5.1f}/{total:<2} ({min(modes):>2}) {n_all:>2}/{len(rs):<2} "
              f"{statistics.mean(hq):>5.1f} ({min(hq):>5.1f}) {statistics.mean(r['rkl'] for r in rs):>7.3f} "
              f"{statistics.mean(r['w1'] for r in rs):>6.3f} {statistics.mean(r['train_s'] for r in rs):>6.1f}")
    print()
    for data, name, modes, hq in ANCHORS:
        total = 8 if data == "ring" else 25
        hq_s = "   -  " if hq is None else f"{hq:>5.1f}%"
        print(f"{name:<22} {data:<5} modes {modes:>4.1f}/{total:<2}  HQ {hq_s}")


PRESET_ORDER = tuple(preset_names())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="vanilla,stable", help="comma list, or 'all'")
    ap.add_argument("--data", default="ring,grid", help="comma list of: " + ", ".join(DATA))
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    ap.add_argument("--steps", type=int, default=0, help="override every preset's train.steps")
    ap.add_argument("--eval-at", default="", help="comma list of extra step counts to measure at")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="extra config override for every run (not for the published protocol)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    args = ap.parse_args(argv)

    presets = preset_names() if args.presets == "all" else [p.strip() for p in args.presets.split(",")]
    unknown = [p for p in presets if p not in preset_names()]
    datas = [d.strip() for d in args.data.split(",")]
    if unknown or any(d not in DATA for d in datas):
        ap.error(f"unknown preset(s) {unknown} or data set(s) {datas}")
    eval_at = [int(s) for s in args.eval_at.split(",") if s.strip()]
    jobs = [(p, d, s, args.steps, eval_at, args.threads, args.set)
            for p in presets for d in datas for s in range(args.seeds)]

    print(f"{'preset':<10} {'data':<5} {'seed':>4} {'steps':>6} {'modes':>6} {'HQ %':>6} {'rev KL':>7} "
          f"{'W1':>6} {'train s':>8}")
    rows: list[dict[str, Any]] = []

    def show(rs: list[dict[str, Any]]) -> None:
        for r in rs:
            note = f"  diverged: {r['diverged']}" if r["diverged"] else ""
            print(f"{r['preset']:<10} {r['data']:<5} {r['seed']:>4} {r['steps']:>6} "
                  f"{r['modes']:>3}/{r['modes_total']:<2} {100 * r['hq']:>6.1f} {r['rkl']:>7.3f} "
                  f"{r['w1']:>6.3f} {r['train_s']:>8.1f}{note}", flush=True)
        rows.extend(rs)

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for rs in pool.map(one_run, *zip(*jobs)):
                show(rs)
    else:
        for job in jobs:
            show(one_run(*job))
    summarise(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
