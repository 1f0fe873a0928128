"""Engine steps per second against a plain PyTorch GAN loop written here, in the same process.

Both sides train the same GAN: MLP generator 2-128-128-2 and discriminator 2-128-128-1 (two
hidden ReLU layers of 128), batch 512, Adam (lr 2e-4, betas 0.5/0.999), non-saturating loss,
8-Gaussian ring data drawn fresh every step, one D update then one G update per step, and the two
losses read back as Python floats every step (what any loop that logs its losses does).

The rounds are interleaved (engine, plain, engine, plain, ...) so that load from other processes
hits both sides alike; the ratio of the medians is printed. Target: engine / plain >= 0.95.

    python bench/throughput.py [--rounds 6] [--steps 300] [--threads N] [--device cpu]

Threads: by default what ganplay chooses for this GAN (``engine.threads.choose_threads``: 1), for
both sides.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganplay.engine.threads import choose_threads  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from ganplay.engine.config import Config, apply_overrides  # noqa: E402
from ganplay.engine.data2d import ring_centers  # noqa: E402
from ganplay.engine.trainer import Trainer  # noqa: E402

WIDTH, DEPTH, LATENT, BATCH, LR = 128, 2, 2, 512, 2e-4


def engine_config(device: str) -> Config:
    cfg = Config()
    apply_overrides(cfg, [
        "data.name=ring", "data.modes=8", "data.radius=1", "data.std=0.05",
        f"model.latent_dim={LATENT}", f"model.g_depth={DEPTH}", f"model.g_width={WIDTH}",
        f"model.d_depth={DEPTH}", f"model.d_width={WIDTH}", "model.spectral_norm=false",
        "loss.name=ns", "loss.r1=0", f"train.batch_size={BATCH}", "train.d_steps=1",
        f"train.lr_d={LR}", f"train.lr_g={LR}", "train.beta1=0.5", "train.beta2=0.999",
        "train.pack=1", "train.ema=0", "train.unrolled=0", f"train.device={device}",
    ])
    return cfg


def mlp(i: int, o: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = i
    for _ in range(DEPTH):
        layers += [nn.Linear(d, WIDTH), nn.ReLU()]
        d = WIDTH
    layers.append(nn.Linear(d, o))
    return nn.Sequential(*layers)


class PlainLoop:
    """The textbook loop: zero_grad / backward / step on both networks."""

    def __init__(self, device: torch.device, seed: int = 0):
        torch.manual_seed(seed)
        self.device = device
        self.G = mlp(LATENT, 2).to(device)
        self.D = mlp(2, 1).to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=LR, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=LR, betas=(0.5, 0.999))
        self.centers = torch.as_tensor(ring_centers(8, 1.0), dtype=torch.float32, device=device)
        self.gen = torch.Generator(device).manual_seed(seed)
        self.sp = nn.functional.softplus

    def real(self, n: int) -> torch.Tensor:
        idx = torch.randint(len(self.centers), (n,), generator=self.gen, device=self.device)
        return self.centers[idx] + 0.05 * torch.randn(n, 2, generator=self.gen, device=self.device)

    def z(self, n: int) -> torch.Tensor:
        return torch.randn(n, LATENT, generator=self.gen, device=self.device)

    def step(self) -> tuple[float, float]:
        x = self.real(BATCH)
        with torch.no_grad():
            xf = self.G(self.z(BATCH))
        loss_d = self.sp(-self.D(x)).mean() + self.sp(self.D(xf)).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        loss_g = self.sp(-self.D(self.G(self.z(BATCH)))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return loss_d.item(), loss_g.item()


def timed(step, n: int) -> float:
    """Steps per second over n steps (after the caller's warm-up)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6, help="interleaved engine/plain rounds")
    ap.add_argument("--steps", type=int, default=300, help="steps per round")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: ganplay's choice)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = ap.parse_args(argv)
    if args.threads is None:
        args.threads = choose_threads(engine_config(args.device))
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    engine = Trainer(engine_config(args.device), device=device)
    plain = PlainLoop(device)
    for _ in range(50):  # warm-up: allocator, Adam state, kernels
        engine.step()
        plain.step()

    eng, ref = [], []
    print(f"{'round':>5} {'engine it/s':>12} {'plain it/s':>11} {'ratio':>7}")
    for r in range(args.rounds):
        # alternate which side goes first so drifting load cannot favour one of them
        if r % 2 == 0:
            e = timed(engine.step, args.steps)
            p = timed(plain.step, args.steps)
        else:
            p = timed(plain.step, args.steps)
            e = timed(engine.step, args.steps)
        eng.append(e)
        ref.append(p)
        print(f"{r + 1:>5} {e:>12.1f} {p:>11.1f} {e / p:>7.3f}")
    me, mp = statistics.median(eng), statistics.median(ref)
    ratios = sorted(e / p for e, p in zip(eng, ref))
    print(f"\nMLP 2-128-128, batch {BATCH}, Adam, non-saturating loss, ring data, device {args.device}, "
          f"{args.threads} thread(s), {args.rounds} x {args.steps} steps per side")
    print(f"median engine {me:.1f} it/s, median plain {mp:.1f} it/s")
    print(f"ratio engine/plain = {me / mp:.3f} (median of per-round ratios {statistics.median(ratios):.3f}; "
          f"target >= 0.95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
