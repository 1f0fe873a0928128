"""Bundle size and export time for the ring MLP generator and the MNIST DCGAN generator.

    python bench/export_bench.py            # median of 3 exports per row
    python bench/export_bench.py --onnx     # also rows with generator.onnx (needs onnx + onnxscript)

Each row: the generator, its parameter count, the formats in the bundle, the container (a .ganplay
zip or a folder), the bundle's size, the export time, the load_bundle time and, as the reference
measured in the same process, the time of a plain ``torch.save(G.state_dict())`` with the ratio
export / reference. The machine may be shared: compare ratios, not seconds, between machines.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganplay.engine.config import Config, set_field  # noqa: E402
from ganplay.engine.export import bundle_size, export_bundle, load_bundle  # noqa: E402
from ganplay.engine.trainer import Trainer  # noqa: E402


def ring_trainer() -> Trainer:
    cfg = Config()
    cfg.train.device = "cpu"
    return Trainer(cfg)


def mnist_trainer() -> Trainer:
    from ganplay.engine.image_models import DCGAN_RECIPE

    cfg = Config()
    cfg.data.name = "mnist"
    for k, v in DCGAN_RECIPE.items():
        set_field(cfg, k, v)
    cfg.train.device = "cpu"
    return Trainer(cfg)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", action="store_true", help="also export generator.onnx")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    variants = [(("pt2",), ".ganplay"), (("pt2",), ""), ((), ".ganplay")]
    if a.onnx:
        variants.insert(1, (("pt2", "onnx"), ".ganplay"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, median of {a.repeats}")
    print(f"{'generator':<12} {'params':>8} {'formats':<9} {'container':<9} {'size_KiB':>9} "
          f"{'export_s':>8} {'load_s':>7} {'ref_s':>7} {'export/ref':>10}")
    for name, make in (("ring MLP", ring_trainer), ("MNIST DCGAN", mnist_trainer)):
        tr = make()
        tr.step()  # a trained state, optimiser moments and all (they are not exported)
        G = tr.eval_generator()
        params = sum(p.numel() for p in G.parameters())
        ref = median_time(lambda: torch.save(G.state_dict(), io.BytesIO()), a.repeats)
        with tempfile.TemporaryDirectory() as tmp:  # warm-up: the first torch.export pays one-time costs
            export_bundle(tr, Path(tmp) / "warm.ganplay", ("pt2", "onnx") if a.onnx else ("pt2",))
        for formats, suffix in variants:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"bundle{suffix}"
                export_s = median_time(lambda: export_bundle(tr, path, formats), a.repeats)
                load_s = median_time(lambda: load_bundle(path), a.repeats)
                size = bundle_size(path) / 1024
            print(f"{name:<12} {params:>8} {'+'.join(formats) or 'weights':<9} "
                  f"{'zip' if suffix else 'folder':<9} {size:>9.1f} {export_s:>8.3f} {load_s:>7.3f} "
                  f"{ref:>7.4f} {export_s / ref:>10.0f}")


if __name__ == "__main__":
    main()
