"""A long run of the real window: does anything grow without bound (issue 16)?

Opens the playground window on the default config (the ring), presses Play at full speed and,
every ``--interval`` seconds, samples from /proc both processes (the GUI, this one, and the
training child): resident memory, threads and open file descriptors, with the step reached and
the frames received and drawn. Optionally it switches presets (a Reset each time) every
``--switch`` minutes, as a user trying recipes would. It prints one row per sample as it goes, a
summary at the end (first / min / median / max / last, and the GUI's growth per stretch of the run)
and writes every sample to a CSV.

Acceptance (issue 16): the GUI process's growth levels off near +100 MB over 60 minutes.

Run (2 shared cores: keep it low priority):
    GANPLAY_TRAINER_NICE=19 nice -n 19 xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python bench/soak.py --minutes 60 --csv /tmp/soak.csv
Without a display it falls back to Qt's offscreen platform.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

COLUMNS = ("minute", "step", "frames_in", "frames_drawn", "gui_rss_mb", "gui_threads", "gui_fds",
           "child_pid", "child_rss_mb", "child_threads", "child_fds", "preset", "errors")
SWITCH_PRESETS = ("stable", "wgan-gp", "ganlab", "vanilla")  # 2D recipes, cycled by --switch


def proc_sample(pid: int | None) -> tuple[float, int, int]:
    """(resident MB, threads, open fds) of a process from /proc; NaN/-1 once it has gone."""
    if pid is None:
        return float("nan"), -1, -1
    try:
        rss_kb, threads = float("nan"), -1
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss_kb = float(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return float("nan"), -1, -1
    return rss_kb / 1024, threads, fds


class Soak:
    """The window, its timers and the samples; everything runs on the GUI thread."""

    def __init__(self, app: Any, args: argparse.Namespace) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QMessageBox

        from ganplay.engine.config import Config
        from ganplay.engine.presets import apply_preset
        from ganplay.ui.main_window import MainWindow

        self.app, self.args = app, args
        self.rows: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.switches = 0
        # a modal error box would wait for a click that never comes: count the errors instead
        QMessageBox.critical = staticmethod(  # type: ignore[method-assign]
            lambda parent, title, text, *a, **k: self.errors.append(f"{title}: {text}"))
        self.started = self.t0 = time.monotonic()
        cfg = apply_preset(args.preset, Config(), adapt_data=True) if args.preset else Config()
        self.preset = args.preset or "default"
        self.w = MainWindow(cfg, backend="process")
        self.w.resize(1500, 900)
        self.w.engineReady.connect(self._start)
        self.w.show()
        self.sampler = QTimer()
        self.sampler.setInterval(int(args.interval * 1000))
        self.sampler.timeout.connect(self.sample)
        self.switcher = QTimer()
        self.switcher.setInterval(int(args.switch * 60_000) if args.switch > 0 else 1)
        self.switcher.timeout.connect(self.switch)
        self.end = QTimer()
        self.end.setSingleShot(True)
        self.end.timeout.connect(self.finish)

    def _start(self) -> None:
        w = self.w
        w.speed_slider.setValue(w.speed_slider.maximum())
        w.act_play.trigger()
        self.t0 = time.monotonic()
        print(f"engine ready after {time.monotonic() - self.started:.1f} s; training process pid "
              f"{w.worker.pid}; sampling every {self.args.interval:g} s for {self.args.minutes:g} min",
              flush=True)
        print(" ".join(f"{c:>13}" for c in COLUMNS[:-1]), flush=True)
        # a new trainer (a preset switch, or a training process lost and replaced) trains on
        w.resetDone.connect(w.act_play.trigger)
        self.sample()  # the baseline: the window and the first trainer built, before any training
        if self.args.prefill:
            self.prefill(self.args.prefill)
            self.sample()
        self.sampler.start()
        if self.args.switch > 0:
            self.switcher.start()
        self.end.start(int(self.args.minutes * 60_000))

    def prefill(self, steps: int) -> None:
        """Put ``steps`` earlier steps of statistics into the window's history and charts, as a
        run at full speed on a quiet machine would have left them (a busy 2-core machine trains
        too slowly to reach the charts' cap within an hour). Their steps are negative, so the
        real run's steps continue after them on the charts."""
        import numpy as np

        from ganplay.engine.trainer import STAT_NAMES

        rng = np.random.default_rng(0)
        t0 = time.monotonic()
        chunk = 10_000
        for start in range(-steps, 0, chunk):
            n = min(chunk, -start)
            stats = {"step": np.arange(start, start + n, dtype=np.int64)}
            for name in STAT_NAMES[1:]:
                stats[name] = np.cumsum(rng.normal(0, 0.01, n)) + 1.0
            self.w.history.add_stats(stats)
            if (start // chunk) % 10 == 0:  # the curves take the data as they would while training
                self.w.charts.refresh()
                self.app.processEvents()
        self.w.charts.refresh()
        self.preset = f"{self.preset}+{steps}"
        print(f"prefilled {steps} steps of statistics in {time.monotonic() - t0:.1f} s "
              f"(series now hold {self.w.history.get('loss_d').n} points each)", flush=True)

    def switch(self) -> None:
        """Another preset (a Reset); Play again once the new trainer is in place."""
        name = SWITCH_PRESETS[self.switches % len(SWITCH_PRESETS)]
        self.switches += 1
        self.preset = name
        self.w.apply_preset(name)  # resetDone then presses Play

    def sample(self) -> None:
        w = self.w
        child = getattr(w.worker, "pid", None)
        g = proc_sample(os.getpid())
        c = proc_sample(child)
        row = {"minute": (time.monotonic() - self.t0) / 60, "step": w.current_step,
               "frames_in": w.frames_received, "frames_drawn": w.frames_drawn,
               "gui_rss_mb": g[0], "gui_threads": g[1], "gui_fds": g[2], "child_pid": child,
               "child_rss_mb": c[0], "child_threads": c[1], "child_fds": c[2],
               "preset": self.preset, "errors": len(self.errors)}
        self.rows.append(row)
        print(" ".join(f"{row[k]:>13.1f}" if isinstance(row[k], float) else f"{row[k]!s:>13}"
                       for k in COLUMNS[:-1]), flush=True)

    def finish(self) -> None:
        self.sample()
        self.sampler.stop()
        self.switcher.stop()
        self.w.close()
        self.app.quit()


def summary(rows: list[dict[str, Any]], errors: list[str]) -> None:
    """first / min / median / max / last of each measure, then the GUI's growth per stretch."""
    print("\nsummary (MB for RSS)")
    print(f"{'measure':>14} {'first':>9} {'min':>9} {'median':>9} {'max':>9} {'last':>9}")
    for k in ("gui_rss_mb", "gui_threads", "gui_fds", "child_rss_mb", "child_threads", "child_fds"):
        xs = [float(r[k]) for r in rows if r[k] == r[k] and r[k] != -1]
        if xs:
            print(f"{k:>14} {xs[0]:>9.1f} {min(xs):>9.1f} {statistics.median(xs):>9.1f} "
                  f"{max(xs):>9.1f} {xs[-1]:>9.1f}")
    # growth of the GUI over each sixth of the run: levelling off means these shrink towards 0
    n = len(rows)
    if n >= 7:
        cuts = [round(i * (n - 1) / 6) for i in range(7)]
        parts = [f"{rows[a]['minute']:.1f}-{rows[b]['minute']:.1f} min: "
                 f"{rows[b]['gui_rss_mb'] - rows[a]['gui_rss_mb']:+.1f}" for a, b in zip(cuts, cuts[1:])]
        print("GUI RSS growth per stretch (MB): " + ", ".join(parts))
    print(f"GUI RSS growth over the run: {rows[-1]['gui_rss_mb'] - rows[0]['gui_rss_mb']:+.1f} MB; "
          f"steps {rows[-1]['step']}, frames received {rows[-1]['frames_in']}, drawn {rows[-1]['frames_drawn']}; "
          f"training processes seen: {len({r['child_pid'] for r in rows})}")
    print(f"errors shown: {len(errors)}")
    for e in errors[:10]:
        print("  " + e.replace("\n", " ")[:300])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the run")
    ap.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    ap.add_argument("--switch", type=float, default=0.0,
                    help="switch presets (a Reset) every this many minutes; 0: never")
    ap.add_argument("--preset", default="",
                    help="start from this recipe instead of the default config ('ganlab', the fastest, "
                         "reaches the charts' 400,000-point cap within minutes)")
    ap.add_argument("--prefill", type=int, default=0,
                    help="first put this many steps of statistics into the charts (a long run at full "
                         "speed), e.g. 2000000: past the 400,000-point cap of every series")
    ap.add_argument("--csv", default="soak.csv", help="where to write the samples")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    settings_dir = tempfile.mkdtemp(prefix="ganplay-soak-")  # never the user's own settings
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication.instance() or QApplication([])
    soak = Soak(app, args)
    app.exec()
    if not soak.rows:
        print("the training engine never started", file=sys.stderr)
        return 1
    with open(args.csv, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS)
        out.writeheader()
        out.writerows(soak.rows)
    summary(soak.rows, soak.errors)
    print(f"(platform {app.platformName()}, cpu count {os.cpu_count()}, nice {os.nice(0)}, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; samples in {args.csv})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
