"""The memory estimate (``ganplay.engine.memory_estimate``) against the memory a trainer takes.

For each config, in a fresh process of one torch thread: a small trainer is built and stepped
first (imports and the kernels' first-use buffers are paid once per process, not per trainer),
then the process's peak resident memory (VmHWM) is reset, the trainer is built, stepped three
times with its last-good copy renewed at every step (as every 200 steps in a long run), and D is
evaluated on a 16,384-point grid (what the window draws). The growth of VmHWM over the RSS before
the build is compared with ``estimate(cfg).total``.

Run:  python bench/memory_estimate.py            (the table below, a few minutes on 2 busy cores)
      python bench/memory_estimate.py --json 'train.batch_size=65536' ...   (one process per config)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

CONFIGS = [
    "",  # the default ring GAN
    "train.batch_size=65536",
    "model.g_width=1536 model.g_depth=4 model.d_width=1536 model.d_depth=4 train.batch_size=64",
    "model.g_width=64 model.g_depth=4 model.d_width=64 model.d_depth=4 train.batch_size=65536 model.d_activation=leaky_relu",
    "train.batch_size=16384 loss.name=wgan-gp",
    "train.batch_size=8192 train.unrolled=5",
    "model.g_width=256 model.d_width=256 train.batch_size=16384 train.pack=4 model.g_norm=batch",
    "data.name=mnist model.arch=dcgan model.g_width=128 model.d_width=128 train.batch_size=256 "
    "model.g_norm=batch model.d_norm=batch model.d_activation=leaky_relu train.ema=0.999",
]


def measure_here(overrides: list[str]) -> dict[str, float]:
    """Estimate and measured growth (bytes) of one config, in this process."""
    import ctypes
    import gc

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from ganplay.engine import metrics
    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.memory_estimate import estimate
    from ganplay.engine.trainer import Trainer

    def status(key: str) -> int:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith(key + ":"))

    Trainer(Config()).step()
    cfg = apply_overrides(Config(), overrides).validate()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap pages back to the system first
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM back to the current RSS
    base = status("VmRSS")
    tr = Trainer(cfg)
    tr.good_every = 1
    for _ in range(3):
        tr.step()
    if cfg.data.name not in ("mnist", "stacked_mnist"):
        metrics._d_scores(tr, np.zeros((16384, 2), np.float32))
    return {"estimate": estimate(cfg).total, "measured": status("VmHWM") - base}


def measure(overrides: list[str], timeout: float = 600) -> dict[str, float]:
    """``measure_here`` in a fresh process (one config's heap never shapes another's)."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--here", *overrides],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--here", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--json", nargs="*", help="measure these configs (one quoted string of overrides "
                    "each) and print JSON")
    args = ap.parse_args()
    if args.here is not None:
        print(json.dumps(measure_here(args.here)))
        return 0
    configs = args.json if args.json is not None else CONFIGS
    rows = [{"config": c or "(default)", **measure(c.split())} for c in configs]
    if args.json is not None:
        print(json.dumps(rows))
        return 0
    w = max(len(r["config"]) for r in rows)
    print(f"{'config':<{w}}  {'estimate MiB':>12}  {'measured MiB':>12}  {'measured/estimate':>17}")
    for r in rows:
        print(f"{r['config']:<{w}}  {r['estimate'] / 2**20:>12.1f}  {r['measured'] / 2**20:>12.1f}  "
              f"{r['measured'] / r['estimate']:>17.2f}")
    print(f"(one torch thread per process; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
