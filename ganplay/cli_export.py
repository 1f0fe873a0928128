"""``ganplay export`` and ``ganplay sample``: generators out of run folders, samples out of bundles.

Errors (a missing run, a damaged bundle, an unwritable output) raise ``BundleError``/``RunError``,
which ``ganplay.cli.main`` turns into one line naming the file and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _load_trainer(source: Path) -> Any:
    """A trainer from a run folder (config.toml + checkpoint.pt) or a session file."""
    from .engine.runs import RunError, load_run

    if source.is_dir():
        if not (source / "checkpoint.pt").exists():
            raise RunError(f"'{source}' is not a run folder (no checkpoint.pt); give a folder written by "
                           "'ganplay train' or a session file")
        return load_run(source, device="cpu")[0]
    if source.is_file():
        from .engine.session import load_session

        return load_session(source, device="cpu")[0]
    raise RunError(f"no run folder or session file at '{source}'")


def _load_generator(source: Path) -> tuple[Any, Any]:
    """(GeneratorSnapshot, data set or None) from a bundle, a run folder or a session file."""
    from .engine.export import BUNDLE_SUFFIX, CONFIG, load_bundle
    from .engine.snapshot import snapshot_generator

    if (source.is_dir() and (source / CONFIG).exists()) or (
            source.is_file() and source.suffix.lower() == BUNDLE_SUFFIX):
        return load_bundle(source), None
    trainer = _load_trainer(source)
    return snapshot_generator(trainer), trainer.data


def _formats(text: str) -> tuple[str, ...]:
    return tuple(f.strip().lower() for f in text.split(",") if f.strip())


def cmd_export(args: argparse.Namespace) -> int:
    from .engine.export import bundle_size, timed_export

    trainer = _load_trainer(Path(args.run))
    out, secs = timed_export(trainer, args.out, _formats(args.format))
    size = bundle_size(out)
    if not args.quiet:
        print(f"exported the generator of '{args.run}' (step {trainer.step_count}) to '{out}': "
              f"{size / 1024:.1f} KiB in {secs:.2f} s", file=sys.stderr)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .engine.export import (SAMPLE_SUFFIXES, BundleError, sample_snapshot, samples_bytes,
                                snapshot_bounds, snapshot_real, write_file_atomic)

    out = Path(args.out)
    if out.suffix.lower() not in SAMPLE_SUFFIXES:
        raise BundleError(f"cannot write samples to '{out}': the name must end with "
                          f"{', '.join(SAMPLE_SUFFIXES)}")
    snap, data = _load_generator(Path(args.source))
    x, y = sample_snapshot(snap, args.n, args.seed, args.label)
    real = snapshot_real(snap, data, len(x)) if out.suffix.lower() == ".png" else None
    title = f"{Path(args.source).name}: {len(x):,} samples (seed {args.seed})"
    write_file_atomic(out, samples_bytes(x, y, out.suffix, snapshot_bounds(snap, data), real, title))
    if not args.quiet:
        print(f"wrote {len(x)} samples of shape {tuple(x.shape[1:])} to '{out}'", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export", help="write the generator of a run folder as a bundle (safetensors + torch.export)",
        description="Write the generator (the EMA copy when EMA is on) of a run folder or session file "
                    "as a bundle: a folder, or one zip when BUNDLE ends with .ganplay.")
    p.add_argument("run", metavar="RUN", help="a run folder written by 'ganplay train', or a session file")
    p.add_argument("-o", "--out", metavar="BUNDLE", required=True,
                   help="bundle folder, or a file ending with .ganplay")
    p.add_argument("--format", default="pt2", metavar="LIST",
                   help="comma-separated programs to include: pt2 (default), onnx (needs onnx + onnxscript)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser(
        "sample", help="draw samples from a bundle or run folder into .npy, .csv or .png",
        description="Draw N samples from a generator bundle, run folder or session file. .npy holds "
                    "the array ((N, 2) points or (N, C, H, W) images in [-1, 1]); .csv one sample a row "
                    "(with a label column for a conditional GAN); .png a scatter plot or an image grid.")
    p.add_argument("source", metavar="SOURCE", help="bundle (folder or .ganplay), run folder or session file")
    p.add_argument("-n", type=int, default=1000, help="number of samples (default 1000)")
    p.add_argument("-o", "--out", metavar="FILE", required=True, help="output file: .npy, .csv or .png")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes (default 0)")
    p.add_argument("--label", type=int, help="conditional GANs: draw only this class (default: all, in turn)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_sample)
