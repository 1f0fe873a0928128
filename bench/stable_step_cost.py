"""What this round's `stable` costs per step: its data units and rate decay on, against the same
recipe with both off, interleaved in one process, quiet and beside one CPU-bound process.

    python bench/stable_step_cost.py --rounds 5 --seconds 3

Prints steps/s per variant and the ratio on/off (min / median / max over rounds)."""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time

import torch


def _spin() -> None:
    while True:
        pass


def _rate(cfg, seconds: float) -> float:
    from ganplay.engine.trainer import Trainer

    t = Trainer(cfg, device="cpu")
    for _ in range(50):
        t.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t.step()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    from ganplay.engine.config import apply_overrides
    from ganplay.engine.presets import apply_preset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = ["data.name=grid", "train.steps=20000"]
    on = apply_overrides(apply_preset("stable"), base).validate()
    off = apply_overrides(apply_preset("stable"), base + ["model.data_norm=false", "train.lr_decay_from=1"]).validate()
    print(f"{'load':<8} {'on steps/s (med)':>17} {'off steps/s (med)':>18} {'on/off min / median / max':>27}")
    for hogs in (0, 1):
        procs = [mp.Process(target=_spin, daemon=True) for _ in range(hogs)]
        for p in procs:
            p.start()
        ratios, r_on, r_off = [], [], []
        try:
            for _ in range(args.rounds):
                a, b = _rate(on, args.seconds), _rate(off, args.seconds)
                r_on.append(a)
                r_off.append(b)
                ratios.append(a / b)
        finally:
            for p in procs:
                p.terminate()
        print(f"{'quiet' if hogs == 0 else f'{hogs} busy':<8} {statistics.median(r_on):>17.0f} "
              f"{statistics.median(r_off):>18.0f} {min(ratios):>11.3f} / {statistics.median(ratios):.3f} / "
              f"{max(ratios):.3f}")


if __name__ == "__main__":
    main()
