"""How much the playground window costs training, and how responsive it stays.

Prints a table of four figures, each against a reference measured in the same run:
1. steps/s with the window open and every layer drawn, against the headless engine on the same
   config in the same process (target: ratio >= 0.9);
2. the GUI event loop's responsiveness while training at full speed: lateness of a 10 ms
   QTimer, 99th percentile (target: <= 25 ms);
3. GAN Lab's default model (preset 'ganlab') in the window: steps/s against GAN Lab's cap of
   about 60 per second, one iteration per animation frame (target: >= 10x, i.e. 600/s);
4. the dcgan preset on MNIST in the window against headless (the training process runs niced);
5. time from launching `ganplay` to the window's first paint (target: < 3 s), to the real data on
   the canvas, to the training process's first frame and to the first trained frame.

Run:  python bench/gui_overhead.py [--seconds 3] [--rounds 4] [--launches 3] [--backend thread]
Uses the display in $DISPLAY (e.g. under xvfb-run), else Qt's offscreen platform.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from ganplay.live import protocol as P  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qt_timing import timer_lateness  # noqa: E402

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GANLAB_CAP = 60.0  # GAN Lab runs at most one iteration per requestAnimationFrame


class Headless:
    """A bare Trainer stepped in a plain thread with the worker's torch thread count."""

    def __init__(self, cfg) -> None:
        from ganplay.engine.trainer import Trainer

        self.trainer = Trainer(cfg)
        self.run(0.5)  # warm-up

    def run(self, seconds: float) -> tuple[int, float]:
        import threading

        import torch

        out: list[tuple[int, float]] = []

        def loop() -> None:
            torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                self.trainer.step()
                n += 1
            out.append((n, time.perf_counter() - t0))

        th = threading.Thread(target=loop)
        th.start()
        th.join()
        return out[0]


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))] if xs else float("nan")


def spin(app, seconds: float) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.002)


def live_step(app, w) -> int:
    """The worker's own step count (a round trip to the thread or process that trains)."""
    got: list[int] = []

    def on_event(ev) -> None:
        if isinstance(ev, P.Described):
            got.append(ev.info["step"])

    w.worker.event.connect(on_event)
    w.worker.send(P.Describe())
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.0005)
    w.worker.event.disconnect(on_event)
    if not got:
        raise RuntimeError("the worker did not answer 'describe'")
    return got[0]


def interleaved(app, cfg, rounds: int, seg: float, backend: str) -> dict:
    """Alternate headless and in-window segments of ``seg`` seconds, ``rounds`` times, so that
    load from other processes, which drifts over seconds, hits both sides alike.

    The window has every layer on and trains at full speed; during its segments a 10 ms timer
    measures the event loop's lateness. Between segments the window is paused, and the same timer
    also runs for a while with the window open but idle (the machine's own noise)."""
    from ganplay.ui.main_window import MainWindow

    head = Headless(cfg)
    w = MainWindow(cfg, backend=backend)
    w.resize(1500, 900)
    w.show()
    deadline = time.monotonic() + 180
    while not w.engine_ready and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    for a in w.layer_actions.values():
        a.setChecked(True)
    # the teaching panels (model graph, formulas) are drawn from every frame too: measured on
    w.teaching.act_graph.setChecked(True)
    w.teaching.act_formulas.setChecked(True)
    w.speed_slider.setValue(w.speed_slider.maximum())
    res = {"win_steps": 0, "win_t": 0.0, "head_steps": 0, "head_t": 0.0, "ratios": [],
           "late": [], "late_rounds": [], "idle": [], "frames": 0, "drawn": 0, "redraw": []}
    for _ in range(rounds):
        n, t = head.run(seg)
        res["head_steps"] += n
        res["head_t"] += t
        w.act_play.trigger()
        spin(app, 0.5)  # let training and frames get going; not counted
        s0, f0, d0 = live_step(app, w), w.frames_received, w.frames_drawn
        r0 = len(w.redraw_ms)
        t0 = time.perf_counter()
        n_late = len(res["late"])
        timer_lateness(seg, res["late"], app)
        res["late_rounds"].append(p99(res["late"][n_late:]))
        ws = live_step(app, w) - s0
        dt = time.perf_counter() - t0
        res["win_steps"] += ws
        res["win_t"] += dt
        res["frames"] += w.frames_received - f0
        res["drawn"] += w.frames_drawn - d0
        res["redraw"] += list(w.redraw_ms)[r0:] if len(w.redraw_ms) > r0 else []
        res["ratios"].append((ws / dt) / (n / t))
        w.act_pause.trigger()
        timer_lateness(min(seg, 2.0), res["idle"], app)
    w.close()
    w.deleteLater()
    app.processEvents()
    res["win"] = res["win_steps"] / res["win_t"]
    res["head"] = res["head_steps"] / res["head_t"]
    return res


LAUNCH_MARKS = ("SHOWN", "PREVIEW", "ENGINE_FRAME", "TRAINED_FRAME")


def launch_times(n: int) -> dict[str, list[float]]:
    """Seconds from starting `ganplay` to: the window's first paint, the real data on the canvas
    (built in the GUI process while the training process starts), the training process's first
    frame, and the first frame after a training step (the app presses Play itself)."""
    # the `ganplay` script of this interpreter's environment, else `python -m ganplay`
    exe = os.path.join(os.path.dirname(sys.executable), "ganplay")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "ganplay"]
    out: dict[str, list[float]] = {m: [] for m in LAUNCH_MARKS}
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, GANPLAY_REPORT_SHOWN="frames", XDG_CONFIG_HOME=home)
        for _ in range(n):
            t0 = time.time()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            marks = dict(ln.split()[:2] for ln in p.stdout.splitlines() if ln.startswith("GANPLAY_"))
            if "GANPLAY_TRAINED_FRAME" not in marks:
                raise RuntimeError(f"ganplay did not report its frames: rc={p.returncode}\n{p.stderr[-2000:]}")
            for m in LAUNCH_MARKS:
                if f"GANPLAY_{m}" in marks:
                    out[m].append(float(marks[f"GANPLAY_{m}"]) - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one measuring segment")
    ap.add_argument("--rounds", type=int, default=4, help="headless/window segment pairs per config")
    ap.add_argument("--launches", type=int, default=3, help="launches for the start-up time")
    ap.add_argument("--no-mnist", action="store_true", help="skip the dcgan (MNIST) window/headless rounds")
    ap.add_argument("--backend", default="process", choices=["process", "thread"],
                    help="where the window trains: a process of its own (the app's default) or a thread")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    settings_dir = tempfile.mkdtemp(prefix="ganplay-bench-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication.instance() or QApplication([])

    from ganplay.engine.config import Config
    from ganplay.engine.presets import apply_preset

    ring = interleaved(app, Config(), args.rounds, args.seconds, args.backend)
    gl = interleaved(app, apply_preset("ganlab", Config()), args.rounds, args.seconds, args.backend)
    lat_p99, idle_p99 = p99(ring["late"]), p99(ring["idle"])
    p50 = statistics.median(ring["late"]) if ring["late"] else float("nan")
    redraw = ring["redraw"]
    fps_in = ring["frames"] / ring["win_t"]
    fps_drawn = ring["drawn"] / ring["win_t"]
    win, head = ring["win"], ring["head"]
    gl_win, gl_head = gl["win"], gl["head"]

    mnist = None
    if not args.no_mnist:
        mcfg = apply_preset("dcgan", Config(), adapt_data=True)
        mnist = interleaved(app, mcfg, args.rounds, args.seconds, args.backend)
    launches = launch_times(args.launches)

    def med(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f}" if xs else "not reached"

    rows = [
        ("window vs headless, default ring config (steps/s)",
         f"{win:.0f} vs {head:.0f} (per round {', '.join(f'{r:.2f}' for r in ring['ratios'])})",
         f"ratio {win / head:.2f}", ">= 0.90"),
        ("frames published / drawn per second", f"{fps_in:.1f} / {fps_drawn:.1f}", "", "<= 30 / <= 30"),
        ("GUI time to draw one frame (ms)", f"p50 {statistics.median(redraw) if redraw else float('nan'):.1f}, "
         f"max {max(redraw) if redraw else float('nan'):.1f}", "", ""),
        ("10 ms QTimer lateness while training (ms)", f"p50 {p50:.1f}, p99 {lat_p99:.1f} ({len(ring['late'])} ticks; "
         f"per round {', '.join(f'{x:.0f}' for x in ring['late_rounds'])})",
         f"p99 {lat_p99:.1f}", "<= 25"),
        ("  same timer, window open but paused (ms)", f"p99 {idle_p99:.1f} ({len(ring['idle'])} ticks)",
         "reference", ""),
        ("GAN Lab default model in the window (steps/s)",
         f"{gl_win:.0f} (headless {gl_head:.0f}, ratio {gl_win / gl_head:.2f})",
         f"{gl_win / GANLAB_CAP:.1f}x GAN Lab's 60/s", ">= 10x"),
        ("`ganplay` launch to window painted (s)", ", ".join(f"{t:.2f}" for t in launches["SHOWN"]),
         med(launches["SHOWN"]), "< 3"),
        ("  ... to the real data on the canvas (s)", ", ".join(f"{t:.2f}" for t in launches["PREVIEW"]),
         med(launches["PREVIEW"]), ""),
        ("  ... to the training process's first frame (s)", ", ".join(f"{t:.2f}" for t in launches["ENGINE_FRAME"]),
         med(launches["ENGINE_FRAME"]), ""),
        ("  ... to the first trained frame (s)", ", ".join(f"{t:.2f}" for t in launches["TRAINED_FRAME"]),
         med(launches["TRAINED_FRAME"]), ""),
    ]
    if mnist is not None:
        rows.insert(6, ("dcgan preset (MNIST) window vs headless (steps/s)",
                        f"{mnist['win']:.1f} vs {mnist['head']:.1f} (per round "
                        f"{', '.join(f'{r:.2f}' for r in mnist['ratios'])})",
                        f"ratio {mnist['win'] / mnist['head']:.2f}", ">= 0.90"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    print(f"{'measure':<{w0}}  {'values':<{w1}}  {'figure':<{w2}}  target")
    for r in rows:
        print(f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]:<{w2}}  {r[3]}")
    print("(every canvas layer, the model graph and the formulas panel on; "
          f"window trains in a {args.backend}; cpu count {os.cpu_count()}, platform {app.platformName()}, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    shutil.rmtree(settings_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
