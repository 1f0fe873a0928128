"""MNIST quality over wall-clock time for the DCGAN recipe on the CPU, and Stacked MNIST mode
coverage for the vanilla and stabilised recipes.

    python bench/mnist_quality.py                       # DCGAN, 300 s budget, table every 250 steps
    python bench/mnist_quality.py --recipe dcgan-plain  # Radford's recipe: no latent modes, Adam 2e-4
    python bench/mnist_quality.py --recipe cdcgan       # the class-conditional DCGAN
    python bench/mnist_quality.py --stacked-steps 2000  # also Stacked MNIST, vanilla vs stabilised

Each table row: step, training wall-clock (evaluation time excluded), steps/s, MNIST score,
Fréchet distance on the classifier's features, classes covered, precision, recall (k = 3). The
machine may be shared, so steps/s is printed next to every timing. A PNG grid of 64 samples from a
fixed z is written at the end (and at every row with --grids).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganplay.engine.config import Config, set_field  # noqa: E402
from ganplay.engine.image_metrics import (evaluate_images, feature_stats, features,  # noqa: E402
                                          frechet_distance, precision_recall, real_stats)
from ganplay.engine.image_models import IMAGE_RECIPES, STACKED_RECIPES  # noqa: E402
from ganplay.engine.png import save_png_grid  # noqa: E402
from ganplay.engine.threads import tuner_for  # noqa: E402
from ganplay.engine.trainer import Trainer  # noqa: E402


def make_cfg(data: str, fields: dict, seed: int, extra: list[str]) -> Config:
    cfg = Config()
    cfg.data.name = data
    for k, v in fields.items():
        set_field(cfg, k, v)
    cfg.train.seed = seed
    cfg.train.device = "cpu"
    for item in extra:
        k, v = item.split("=", 1)
        set_field(cfg, k, v)
    return cfg


def quality_run(a: argparse.Namespace) -> None:
    cfg = make_cfg("mnist", IMAGE_RECIPES[a.recipe], a.seed, a.set)
    t = Trainer(cfg)
    tuner = tuner_for(cfg) if a.threads == 0 else None   # as ganplay train: 1 or 2, measured while training
    fixed_z = t.sample_z(64, torch.Generator().manual_seed(7))
    threads = f"1 or {tuner.most} threads (ganplay's ThreadTuner)" if tuner else f"{torch.get_num_threads()} threads"
    print(f"{a.recipe} recipe on MNIST ({len(t.data)} images), CPU with {threads}, "
          f"budget {a.seconds:.0f} s of training, evaluation on {a.n_eval} samples")
    # the floor: a second set of real digits measured against the reference set
    ref = real_stats(t.data, a.n_eval, 0)
    other, _ = t.data.real_numpy(a.n_eval, seed=99)
    fo = features(other)
    pr = precision_recall(ref.feats, fo, ref.k, ref.radii)
    print(f"real vs real ({a.n_eval} vs {a.n_eval}): score {ref.score:.2f}, "
          f"FD {frechet_distance(*feature_stats(fo), ref.mu, ref.sigma):.2f}, precision {pr[0]:.2f}, recall {pr[1]:.2f}")
    print(f"{'step':>6} {'train_s':>8} {'steps/s':>8} {'score':>6} {'FD':>8} {'classes':>7} "
          f"{'prec':>5} {'recall':>6} {'eval_s':>6}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train_s = 0.0
    first_hit = None
    while True:
        t0 = time.perf_counter()
        for _ in range(a.every):
            ts = time.perf_counter()
            t.step()
            if tuner is not None:
                tuner.observe(time.perf_counter() - ts)
        train_s += time.perf_counter() - t0
        e0 = time.perf_counter()
        m = evaluate_images(t, n=a.n_eval)
        eval_s = time.perf_counter() - e0
        print(f"{t.step_count:6d} {train_s:8.1f} {t.step_count / train_s:8.2f} {m['mnist_score']:6.2f} "
              f"{m['fid']:8.2f} {m['classes_covered']:7d} {m['precision']:5.2f} {m['recall']:6.2f} {eval_s:6.2f}",
              flush=True)
        if first_hit is None and m["mnist_score"] >= 8 and m["classes_covered"] == 10:
            first_hit = (t.step_count, train_s)
        if a.grids:
            save_png_grid(t.generate(fixed_z), out / f"mnist_step{t.step_count:05d}.png", nrow=8, scale=2,
                          image_shape=(1, 28, 28))
        if train_s >= a.seconds:
            break
    grid = save_png_grid(t.generate(fixed_z), out / "mnist_dcgan.png", nrow=8, scale=2, image_shape=(1, 28, 28))
    print(f"real digits: score {m['real_score']:.2f}; class histogram of the last evaluation: "
          f"{m['class_hist'].tolist()}")
    if first_hit:
        print(f"score >= 8 with all 10 classes first at step {first_hit[0]} after {first_hit[1]:.0f} s of training")
    else:
        print("score >= 8 with all 10 classes not reached in the budget")
    print(f"sample grid: {grid}")


def stacked_run(a: argparse.Namespace) -> None:
    print(f"\nStacked MNIST (1000 modes): {a.stacked_steps} steps per recipe, modes counted on "
          f"{a.n_stacked} samples (VEEGAN protocol: 26,000 samples after full training)")
    print(f"{'recipe':>11} {'step':>6} {'train_s':>8} {'steps/s':>8} {'modes':>6} {'KL':>6} {'FD':>8}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in a.recipes.split(","):
        fields = STACKED_RECIPES[name]
        cfg = make_cfg("stacked_mnist", fields, a.seed, a.set_stacked)
        t = Trainer(cfg)
        fixed_z = t.sample_z(64, torch.Generator().manual_seed(7))
        train_s = 0.0
        every = max(1, a.stacked_steps // a.stacked_rows)
        while t.step_count < a.stacked_steps:
            t0 = time.perf_counter()
            for _ in range(min(every, a.stacked_steps - t.step_count)):
                t.step()
            train_s += time.perf_counter() - t0
            last = t.step_count >= a.stacked_steps
            m = evaluate_images(t, n=a.n_stacked if last else 2000, n_real=2000)
            print(f"{name:>11} {t.step_count:6d} {train_s:8.1f} {t.step_count / train_s:8.2f} "
                  f"{m['modes_covered']:6d} {m['kl_uniform']:6.2f} {m['fid']:8.2f}"
                  f"{'' if last else '  (2000 samples)'}", flush=True)
        save_png_grid(t.generate(fixed_z), out / f"stacked_{name}.png", nrow=8, scale=2, image_shape=(3, 28, 28))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="dcgan", choices=list(IMAGE_RECIPES), help="dcgan (the shipped preset), dcgan-plain (Radford's) or the conditional cdcgan")
    ap.add_argument("--seconds", type=float, default=300.0, help="training wall-clock budget for the DCGAN run")
    ap.add_argument("--every", type=int, default=250, help="steps between table rows")
    ap.add_argument("--n-eval", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads; 0 (default): ganplay's choice, a ThreadTuner as in 'ganplay train'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench_mnist", help="folder for the PNG grids (runs/ is git-ignored)")
    ap.add_argument("--grids", action="store_true", help="write a sample grid at every row")
    ap.add_argument("--set", action="append", default=[], help="override a field of the DCGAN run")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--stacked-steps", type=int, default=0, help="steps per Stacked MNIST recipe (0 = skip)")
    ap.add_argument("--stacked-rows", type=int, default=3)
    ap.add_argument("--n-stacked", type=int, default=26000)
    ap.add_argument("--recipes", default=",".join(STACKED_RECIPES), help="stacked recipes to run, comma separated")
    ap.add_argument("--set-stacked", action="append", default=[], help="override a field of both stacked runs")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads or 1)
    if not a.skip_quality:
        quality_run(a)
    if a.stacked_steps:
        stacked_run(a)
    return 0


if __name__ == "__main__":
    np.set_printoptions(linewidth=120)
    raise SystemExit(main())
