"""Time every registered teaching scene in the Scenes window: first paint (open to first frame
drawn), and while it plays, steps/s, frames/s and the cost of a timer tick (steps + drawing).

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
    """Open ``name`` in ``window`` and let it play for ``seconds``; the figures as a dict."""
    painted: list[float] = []
    window.open_scene(name)
    if speed is not None and "speed" in window.scene.values:
        window.set_param("speed", speed)
    first = window.first_paint_s or float("nan")
    out: dict[str, float | str] = {"scene": name, "first_paint_s": first}
    if not window.scene.live:
        return out | {"steps_per_s": float("nan"), "frames_per_s": float("nan"), "tick_ms": float("nan"),
                      "note": "not live"}

    def on_paint(step: int) -> None:
        painted.append(time.perf_counter())

    window.framePainted.connect(on_paint)
    window.tick_times.clear()
    window.set_playing(True)
    t0 = time.perf_counter()
    last_step, t_last = window.scene.step, t0
    note = ""
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.001)
        if window.scene.step != last_step:
            last_step, t_last = window.scene.step, time.perf_counter()
        elif time.perf_counter() - t_last > 0.5:
            note = f"stopped at step {last_step}"
            break
    window.set_playing(False)
    window.framePainted.disconnect(on_paint)
    active = max(t_last - t0, 1e-9)
    frames = sum(1 for t in painted if t <= t_last)
    ticks = sorted(window.tick_times)
    return out | {"steps_per_s": last_step / active, "frames_per_s": frames / active,
                  "tick_ms": 1000 * sum(ticks) / max(len(ticks), 1),
                  "tick_p95_ms": 1000 * ticks[int(0.95 * (len(ticks) - 1))] if ticks else float("nan"),
                  "active_s": active, "note": note}


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
    print(f"{'scene':<16}{'first paint':>12}{'steps/s':>10}{'frames/s':>10}{'tick ms':>9}{'p95 ms':>8}  note")
    for name in names:
        r = time_scene(window, app, name, args.seconds, args.speed)
        print(f"{name:<16}{r['first_paint_s']:>11.3f}s{r['steps_per_s']:>10.0f}{r['frames_per_s']:>10.1f}"
              f"{r['tick_ms']:>9.2f}{r.get('tick_p95_ms', float('nan')):>8.2f}  {r['note']}")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
