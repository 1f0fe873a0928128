"""Train the small MNIST classifier behind the image metrics and write its weights to assets/.

    python tools/train_classifier.py                 # shipped 10,000 test digits, 2,000 held out
    python tools/train_classifier.py --data DIR      # full MNIST folder: train on 60,000, test on t10k

Weights are stored as float16 safetensors (about 200 KB). Training uses small random shifts so
the classifier is not thrown by the slightly off-centre digits a GAN draws.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganplay.engine.image_metrics import WEIGHTS_NAME, MNISTClassifier  # noqa: E402
from ganplay.engine.mnist import find_mnist_files, load_mnist, read_idx, IMAGES_MAGIC, LABELS_MAGIC  # noqa: E402


def to_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0)[:, None]


def shift(x: torch.Tensor, g: torch.Generator, max_px: int = 2) -> torch.Tensor:
    """Random translation by up to ``max_px`` pixels (zero = background -1 padding)."""
    n = len(x)
    pad = nn.functional.pad(x, (max_px,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_px + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * max_px + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(28)[None]).clamp_max(pad.shape[2] - 1)
    cols = (dx[:, None] + torch.arange(28)[None])
    idx_r = rows[:, :, None].expand(n, 28, 28)
    idx_c = cols[:, None, :].expand(n, 28, 28)
    b = torch.arange(n)[:, None, None]
    return pad[b, 0, idx_r, idx_c][:, None]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    model.train()
    return float((pred == y).float().mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="", help="folder with the full MNIST IDX files (default: shipped test set)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--holdout", type=int, default=2000, help="held-out digits when training on the shipped set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--out", default=str(Path(__file__).resolve().parent.parent / "assets" / WEIGHTS_NAME))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)

    if a.data:
        xi, yi = load_mnist(a.data)
        x_tr, y_tr = to_tensor(xi), torch.from_numpy(yi.astype(np.int64))
        folder = Path(a.data)
        test = [(folder / f"t10k-{k}-idx{d}-ubyte{s}") for k, d in (("images", 3), ("labels", 1)) for s in (".gz", "")]
        img = next((p for p in test[:2] if p.is_file()), None)
        lab = next((p for p in test[2:] if p.is_file()), None)
        if img is None or lab is None:  # no test split in the folder: use the shipped one
            from ganplay.assets import asset_path

            img, lab = find_mnist_files(asset_path("mnist"))
        x_te = to_tensor(read_idx(img, IMAGES_MAGIC))
        y_te = torch.from_numpy(read_idx(lab, LABELS_MAGIC).astype(np.int64))
        split = f"train {len(x_tr)} ({a.data}), test {len(x_te)} ({img.name})"
    else:
        xi, yi = load_mnist(None)
        perm = torch.randperm(len(xi), generator=torch.Generator().manual_seed(1234))
        x_all, y_all = to_tensor(xi)[perm], torch.from_numpy(yi.astype(np.int64))[perm]
        x_te, y_te = x_all[:a.holdout], y_all[:a.holdout]
        x_tr, y_tr = x_all[a.holdout:], y_all[a.holdout:]
        split = f"train {len(x_tr)}, held out {len(x_te)} (shipped MNIST test set, permutation seed 1234)"

    model = MNISTClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    steps = a.epochs * (-(-len(x_tr) // a.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
    print(f"{split}; {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    t0 = time.time()
    for ep in range(a.epochs):
        order = torch.randperm(len(x_tr), generator=g)
        for i in range(0, len(x_tr), a.batch):
            idx = order[i:i + a.batch]
            xb = shift(x_tr[idx], g)
            loss = nn.functional.cross_entropy(model(xb), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {ep + 1:2d}  loss {loss.item():.3f}  held-out accuracy {accuracy(model, x_te, y_te):.4f}"
              f"  ({time.time() - t0:.0f} s)", flush=True)

    acc = accuracy(model, x_te, y_te)
    from safetensors.torch import save_file

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out), metadata={"held_out_accuracy": f"{acc:.4f}", "split": split})
    # the stored weights are float16: check the accuracy survives the rounding
    model.load_state_dict({k: v.float() for k, v in state.items()})
    acc16 = accuracy(model, x_te, y_te)
    print(f"held-out accuracy {acc:.4f} (float16 weights: {acc16:.4f}); wrote {out} "
          f"({out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
