"""Record the README's "mode collapse in 10 seconds" GIF with the app's own CanvasRecorder.

    QT_QPA_PLATFORM=offscreen python packaging/record_demo_gif.py [docs/mode_collapse.gif]

Opens the main window (settings in a temporary folder) with the vanilla recipe on the
8-Gaussian ring, shows only the decision surface, the real and generated samples and the mode
centres (red: missed, green: covered), presses Play and records the canvas for 10 seconds.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="docs/mode_collapse.gif")
    ap.add_argument("--seconds", type=float, default=10.0, help="recording length (wall clock)")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--max-side", type=int, default=360, help="GIF size (longest side, pixels)")
    ap.add_argument("--colors", type=int, default=128, help="GIF palette size (fewer: smaller file)")
    ap.add_argument("--canvas", type=int, default=640, help="canvas size on screen (pixels)")
    ap.add_argument("--preset", default="vanilla")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="config overrides on top of the preset")
    ap.add_argument("--layers", default="surface,real,fake,centers")
    ap.add_argument("--frames-npz", metavar="FILE",
                    help="also keep the grabbed RGB frames (to compare GIF encoders on the same input)")
    ap.add_argument("--frame-share", type=float, default=0.5,
                    help="share of the worker's time for drawing frames (the window uses 0.05)")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QDockWidget

    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.presets import apply_preset
    from ganplay.ui.main_window import MainWindow
    from ganplay.ui.recorder import CanvasRecorder

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.mkdtemp(prefix="ganplay-record-")
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
    cfg = apply_preset(args.preset, Config())
    apply_overrides(cfg, list(args.set) + [f"train.seed={args.seed}"])
    win = MainWindow(config=cfg, settings=settings)
    win.resize(760, 760)
    win.show()
    keep = set(args.layers.split(","))
    for key in win.layer_actions:
        # hide on the canvas only: the worker keeps computing every layer, as in normal use
        win.canvas.set_layer_visible(key, key in keep)
    # a recording wants a smooth picture more than top training speed: let the worker spend up
    # to half its time on frames (normally 5%) so the canvas updates several times a second
    from ganplay.live import protocol as P

    win.worker.send(P.SetBudgets((("frame", args.frame_share),)))
    ready = []
    win.engineReady.connect(lambda: ready.append(True))
    deadline = time.time() + 120
    while not ready and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if not ready:
        print("the engine did not start within 120 s", file=sys.stderr)
        return 1
    for dock in win.findChildren(QDockWidget):  # the canvas alone fills the window
        dock.hide()
    win.hint_label.hide()
    app.processEvents()
    # the plot keeps x and y at the same scale: a square canvas wastes no pixels
    side = args.canvas
    win.resize(win.width() + side - win.canvas.width(), win.height() + side - win.canvas.height())
    drawn = win.frames_drawn
    deadline = time.time() + 30
    while (win.frames_drawn <= drawn or time.time() < deadline - 29.5) and time.time() < deadline:
        app.processEvents()  # let the layout settle and a frame draw at the new size
        time.sleep(0.02)

    rec = CanvasRecorder()
    win.play()
    rec.start(win.canvas, fps=args.fps, max_frames=int(args.seconds * args.fps) + 1, max_side=args.max_side)
    while rec.is_recording:
        app.processEvents()
        time.sleep(0.005)
    win.pause()
    print(f"recorded {rec.frame_count} frames, {win.frames_received} canvas updates, up to step "
          f"{win.current_step}", file=sys.stderr)
    if args.frames_npz:
        import numpy as np

        np.savez_compressed(args.frames_npz, frames=np.stack(rec.frames), fps=args.fps, colors=args.colors)
    t0 = time.perf_counter()
    out = rec.save_gif(args.out, n_colors=args.colors)
    print(f"wrote {out}: {out.stat().st_size / 1e6:.2f} MB, {rec.frame_count} frames of "
          f"{rec.frames[0].shape[1]}x{rec.frames[0].shape[0]}, encoded in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    # keep the last frame as a PNG next to it (for a static screenshot and for a quick look)
    from ganplay.engine.png import encode_png

    Path(out).with_suffix(".last.png").write_bytes(encode_png(rec.frames[-1]))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
