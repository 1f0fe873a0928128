"""Train a preset in the real window for N steps and save a picture of it (for docs/).

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m ganplay.ui.screenshot \
        --preset vanilla --steps 3000 -o docs/ring_vanilla_collapse.png
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="vanilla")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="extra config overrides")
    ap.add_argument("--size", default="1600x950", help="window size WxH")
    ap.add_argument("--scene", help="a teaching scene (ganplay scene --list) instead of the playground; "
                                    "--steps then counts the scene's steps and --set sets its parameters")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    if args.scene:
        return scene_shot(args)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.presets import apply_preset

    from .main_window import MainWindow

    cfg = apply_overrides(apply_preset(args.preset, Config(), adapt_data=True), args.set)
    t_open = time.monotonic()
    w = MainWindow(cfg)
    w.settings.setValue("hint_seen", True)
    w.hint_label.hide()
    w.setup_panel.set_preset_name(args.preset)
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()

    def wait(cond, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)
        return cond()

    if not wait(lambda: w.engine_ready, 120):
        print("the engine did not start", file=sys.stderr)
        return 1
    # the first frame of the networks drawn on the canvas (the real data's preview comes before)
    wait(lambda: w.frames_drawn >= 1, 60)
    first_paint = time.monotonic() - t_open
    w.stop_spin.setValue(args.steps)
    w.act_play.trigger()
    t0 = time.monotonic()
    wait(lambda: w.current_step >= args.steps and w.latest_frame is not None and not w.latest_frame.running, 3600)
    elapsed = time.monotonic() - t0
    n = w.frames_received
    wait(lambda: w.frames_received >= n + 1 and w.latest_frame is not None and w.latest_frame.metrics is not None, 20)
    wait(lambda: False, 0.5)  # last frame and charts drawn
    w.charts.refresh()
    app.processEvents()
    ok = w.grab().save(args.output)
    last = {k: round(float(w.history.get(k).data()[1][-1]), 3)
            for k in ("modes_covered", "hq_fraction", "w1", "jsd_eval", "mnist_score", "fid", "z_recon", "x_recon",
                      "labels_on_mode")
            if w.history.get(k).n}
    print(f"{args.preset}: {w.current_step} steps in {elapsed:.0f} s ({w.current_step / max(elapsed, 1e-9):.0f} "
          f"steps/s, {w.frames_drawn} frames drawn); first frame on the canvas {first_paint:.1f} s after the "
          f"window opened; last metrics {last}; saved {args.output}: {ok}")
    w.close()
    return 0 if ok else 1


def scene_shot(args: argparse.Namespace) -> int:
    """The Scenes window on ``args.scene`` after ``args.steps`` steps, saved to ``args.output``."""
    from PySide6.QtWidgets import QApplication

    from .scene_window import SceneWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    values = dict(item.split("=", 1) for item in args.set)
    w = SceneWindow(args.scene, **values)
    w.set_playing(False)
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    for _ in range(20):
        app.processEvents()
    t0 = time.monotonic()
    if args.steps:
        w.advance(args.steps)
    elapsed = time.monotonic() - t0
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    ok = w.grab().save(args.output)
    numbers = "; ".join(f"{k} = {v}" for k, v in (w.frame.numbers if w.frame else []))
    print(f"{args.scene}: {w.scene.step if w.scene else 0} steps in {elapsed:.1f} s; first paint "
          f"{w.first_paint_s:.3f} s; {numbers}; saved {args.output}: {ok}")
    w.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
