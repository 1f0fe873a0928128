"""Time every registered teaching scene in the Scenes window: first paint (open to first frame
drawn), and while it plays, steps/s, frames/s, the wall time of a timer tick (steps + drawing)
and the process's CPU time per frame (steps, drawing and painting: on a machine shared with
other work the wall figures stretch, this one does not).

    QT_QPA_PLATFORM=offscreen python bench/scene_timing.py [NAME ...] [--seconds 3] [--speed 1000]

A scene whose training stops (it ran its last step) is timed up to that step only. Scenes with a
"steps per frame" control (``speed``) play at its default unless ``--speed`` sets it (1000: as
many steps as fit in the frame's budget).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def time_scene(window, app, name: str, seconds: float, speed: int | None = None) -> dict[str, float | str]:
    """Open ``name`` in ``window`` and let it play for ``seconds`` in a real event loop (as the
    app's ``exec()``); the figures as a dict."""
    from PySide6.QtCore import QEventLoop, QTimer

    painted: list[tuple[float, int]] = []
    window.open_scene(name)
    if speed is not None and "speed" in window.scene.values:
        window.set_param("speed", speed)
    first = window.first_paint_s or float("nan")
    out: dict[str, float | str] = {"scene": name, "first_paint_s": first}
    if not window.scene.live:
        return out | {"steps_per_s": float("nan"), "frames_per_s": float("nan"), "tick_ms": float("nan"),
                      "note": "not live"}

    def on_paint(step: int) -> None:
        painted.append((time.perf_counter(), step))

    window.framePainted.connect(on_paint)
    window.tick_times.clear()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    c0, t0, step0 = time.process_time(), time.perf_counter(), window.scene.step
    window.set_playing(True)
    loop.exec()
    cpu = time.process_time() - c0
    window.set_playing(False)
    window.framePainted.disconnect(on_paint)
    last = window.scene.step
    done = next((t for t, s in painted if s == last), t0)   # when the last step was drawn
    active = max(done - t0, 1e-9)
    frames = [t for t, s in painted if t <= done]
    ticks = sorted(window.tick_times)
    note = f"stopped at step {last} after {active:.1f} s" if done < t0 + seconds - 0.5 else ""
    return out | {"steps_per_s": (last - step0) / active, "frames_per_s": len(frames) / active,
                  "tick_ms": 1000 * sum(ticks) / max(len(ticks), 1),
                  "tick_p95_ms": 1000 * ticks[int(0.95 * (len(ticks) - 1))] if ticks else float("nan"),
                  "cpu_ms_per_frame": 1000 * cpu / max(len(painted), 1), "note": note}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenes to time (default: every registered scene)")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long each scene plays")
    ap.add_argument("--speed", type=int, help="steps per frame for scenes with that control")
    args = ap.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from ganplay.engine.scenes import SCENES
    from ganplay.ui.scene_window import SceneWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    names = args.names or list(SCENES)
    t0 = time.perf_counter()
    window = SceneWindow(names[0])
    window.resize(1500, 900)
    window.show()
    print(f"window with {names[0]!r} built in {time.perf_counter() - t0:.3f} s (first paint "
          f"{window.first_paint_s:.3f} s)")
    window.set_playing(False)
    for _ in range(10):
        app.processEvents()
    print(f"{'scene':<16}{'first paint':>12}{'steps/s':>10}{'frames/s':>10}{'tick ms':>9}{'p95 ms':>8}"
          f"{'cpu ms/frame':>14}  note")
    for name in names:
        r = time_scene(window, app, name, args.seconds, args.speed)
        print(f"{name:<16}{r['first_paint_s']:>11.3f}s{r['steps_per_s']:>10.0f}{r['frames_per_s']:>10.1f}"
              f"{r['tick_ms']:>9.2f}{r.get('tick_p95_ms', float('nan')):>8.2f}"
              f"{r.get('cpu_ms_per_frame', float('nan')):>14.2f}  {r['note']}")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
