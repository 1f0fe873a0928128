"""A picture of a run's TensorBoard data, read back from its event files (no browser needed):
the scalar charts TensorBoard shows, and the first and last D(x) / sample pictures.

    python tools/tensorboard_picture.py RUN_FOLDER -o docs/tensorboard_run.png

Needs the tensorboard package (the ``tensorboard`` extra) to read the events, and matplotlib.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

CHARTS = (("loss/D", "loss/G"), ("D/real", "D/fake"), ("grad_norm/D", "grad_norm/G"),
          ("metrics/w1",), ("metrics/modes_covered",), ("metrics/hq_fraction",),
          ("metrics/mnist_score",), ("metrics/fid",))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a run folder written with --tensorboard (or its tensorboard/ folder)")
    ap.add_argument("-o", "--out", default="docs/tensorboard_run.png")
    a = ap.parse_args(argv)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = Path(a.run)
    if (logdir / "tensorboard").is_dir():
        logdir = logdir / "tensorboard"
    acc = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    charts = [c for c in CHARTS if any(t in tags["scalars"] for t in c)][:6]
    image_tag = next((t for t in tags["images"]), None)
    images = acc.Images(image_tag) if image_tag else []

    fig = Figure(figsize=(15, 8.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 5)
    for i, tag_group in enumerate(charts):
        ax = fig.add_subplot(grid[i // 3, i % 3])
        for tag in tag_group:
            if tag in tags["scalars"]:
                ev = acc.Scalars(tag)
                ax.plot([e.step for e in ev], [e.value for e in ev], lw=1.2, marker="o" if len(ev) < 12 else None,
                        ms=3, label=tag)
        ax.set_title(" / ".join(tag_group), fontsize=10, loc="left")
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(True, color="0.9")
        if len(tag_group) > 1:
            ax.legend(fontsize=8)
    for j, ev in enumerate(images[:1] + images[-1:] if len(images) > 1 else images):
        ax = fig.add_subplot(grid[j, 3:])
        ax.imshow(np.asarray(Image.open(io.BytesIO(ev.encoded_image_string)).convert("RGB")))
        ax.set_title(f"{image_tag}, step {ev.step:,}", fontsize=10, loc="left")
        ax.axis("off")
    fig.suptitle(f"TensorBoard data of {Path(a.run).name} (read back from {logdir.name}/: "
                 f"{len(tags['scalars'])} scalar series, {len(images)} pictures)", fontsize=12)
    out = Path(a.out)
    fig.savefig(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
