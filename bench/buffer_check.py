"""What the per-step check of BatchNorm / spectral-norm buffers costs (Trainer.step copies them
once and reads their finiteness back with the step's statistics, to roll them back with a refused
update). Same config with and without the check, interleaved rounds in one process, quiet and
beside one CPU-bound process the bench starts itself; min / median / max of the ratio.

Run:  python bench/buffer_check.py [--rounds 7] [--steps 150]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout


def rate(tr, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        tr.step()
    return n / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=150)
    a = ap.parse_args()
    import torch

    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.presets import apply_preset
    from ganplay.engine.trainer import Trainer

    torch.set_num_threads(1)
    cases = {"hinge-sn (spectral norm)": apply_preset("hinge-sn", Config()),
             "BatchNorm in G and D": apply_overrides(Config(), ["model.g_norm=batch", "model.d_norm=batch"])}
    print(f"{'machine':<7} {'config':<26} {'buffers':>7}  with check / without: min  median  max")
    for label in ("quiet", "busy"):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if label == "busy" else None
        try:
            for name, cfg in cases.items():
                a_tr, b_tr = Trainer(cfg), Trainer(cfg)
                b_tr._buffers = []   # the step as it was: no copy, no check
                rate(a_tr, 30), rate(b_tr, 30)
                r = [rate(a_tr, a.steps) / rate(b_tr, a.steps) for _ in range(a.rounds)]
                print(f"{label:<7} {name:<26} {len(a_tr._buffers):>7}  "
                      f"{min(r):.3f}  {statistics.median(r):.3f}  {max(r):.3f}")
        finally:
            if busy is not None:
                busy.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
