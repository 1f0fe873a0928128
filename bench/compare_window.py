"""How responsive the compare window stays while it trains 8 recipes, thread against process.

The compare window (``CompareView``) trains its recipes in a child process by default; before it
did so in a QThread of the GUI process, where the training loop's small torch calls and the
window's painting fight for the GIL. This bench opens a real ``CompareView`` per backend on the
window's default recipes, presses Play and measures, over interleaved rounds of ``--seconds``:

- the lateness of a 10 ms precise QTimer run by the GUI's event loop (p50, p99, max per round;
  target with the process backend: p99 <= 25 ms);
- GAN steps per second as the view sees them (``CompareView.step_count`` advances with the frames
  it is shown; one population step is one step of every member, so GAN steps = steps x members,
  the convention of the loop's own "GAN steps/s");
- frames shown per second (``frameShown`` emissions).

Each figure is given as median (min-max) over rounds. Rounds go thread, process, idle, thread,
process, idle, ...: load from other processes drifts over seconds, and interleaving makes it hit
both backends alike. "idle" is the same timer with both windows open and paused: the machine's
and the event loop's own noise, the floor for the others. Ratios are between figures of the
same run.

Run:  python bench/compare_window.py [--rounds 5] [--seconds 6] [--presets a,b,...]
Uses the display in $DISPLAY (e.g. under xvfb-run), else Qt's offscreen platform.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qt_timing import timer_lateness  # noqa: E402  (the event-loop variant: no app given)

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEFAULT_PRESETS = "vanilla,stable,wgan-gp,lsgan,hinge-sn,pacgan,unrolled,ganlab"  # the window's list
BACKENDS = ("thread", "process")
TARGET_P99_MS = 25.0
WARMUP_S = 0.5        # after Play, not measured: training and frames get going (as gui_overhead.py)
IDLE_S = 2.0          # idle baseline per round (at most --seconds)
BUILD_TIMEOUT_S = 300.0


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def spin(app, seconds: float) -> None:
    """Run the event loop for ``seconds`` (not measured)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()


def wait_until(app, cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


def open_view(backend: str, configs, labels):
    """A shown CompareView starting to build ``configs`` with ``backend`` (paused)."""
    from ganplay.ui.compare_view import CompareView

    view = CompareView()
    view.backend = backend          # what the next start() uses (the window's public switch)
    view.resize(1400, 900)          # as show_compare
    view.setWindowTitle(f"ganplay: compare ({backend}, bench)")
    view.show()
    view.start(configs, labels)
    return view


def built(view, labels) -> bool:
    # step_count is -1 until the first frame of the built comparison has arrived
    return view.step_count >= 0 and len(view.multiples) == len(labels)


def measure_round(app, view, seconds: float) -> dict:
    """Play ``view`` for WARMUP_S + ``seconds``; the figures of the last ``seconds``."""
    shown: list[tuple[float, int]] = []   # (arrival time, step) of every frame shown

    def on_frame(step: int) -> None:
        shown.append((time.perf_counter(), step))

    view.frameShown.connect(on_frame)
    view.play()
    spin(app, WARMUP_S)
    t0, s0 = time.perf_counter(), view.step_count
    late = timer_lateness(seconds)
    t1, s1 = time.perf_counter(), view.step_count
    view.pause()
    view.frameShown.disconnect(on_frame)
    # the loop answers Pause with a frame saying it stopped; wait for it so that the next
    # round (and the idle baseline) do not overlap the tail of this one
    wait_until(app, lambda: not view.running, 10.0, "the comparison to pause")
    inside = [(t, s) for t, s in shown if t0 <= t <= t1]
    # Steps between the first and last frame inside the window, over the time between their
    # arrivals: frames come at <= 15/s, so step_count at t0 and t1 would be up to 1/15 s stale.
    if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        (ta, sa), (tb, sb) = inside[0], inside[-1]
        pop_sps = (sb - sa) / (tb - ta)
    else:   # fewer than two frames (a very short or starved round): the coarser figure
        pop_sps = (s1 - s0) / (t1 - t0)
    members = len(view.labels)
    return {
        "p50": quantile(late, 0.50), "p99": quantile(late, 0.99), "max": max(late) if late else float("nan"),
        "ticks": len(late), "gan_sps": pop_sps * members, "fps": len(inside) / (t1 - t0),
        "step": view.step_count,
    }


def same_shaped(n: int = 8):
    """``n`` recipes of one shape that differ in their loss (bench/compare_throughput.py's):
    ring, MLP 2 x 128, batch 256, latent 2; ns, hinge, lsgan, minimax, twice."""
    from ganplay.engine.config import Config, apply_overrides

    losses = ("ns", "hinge", "lsgan", "minimax") * 2
    base = ["data.name=ring", "model.g_depth=2", "model.g_width=128", "model.d_depth=2", "model.d_width=128",
            "train.batch_size=256", "model.latent_dim=2", "train.steps=1000000"]
    cfgs = [apply_overrides(Config(), base + [f"loss.name={losses[i]}", f"train.seed={i // 4}"]).validate()
            for i in range(n)]
    return cfgs, [f"{losses[i]} #{i // 4 + 1}" for i in range(n)]


class Sequential:
    """The reference: the same recipes one after another on one thread in this process."""

    def __init__(self, configs) -> None:
        import torch

        from ganplay.engine.trainer import Trainer

        torch.set_num_threads(1)
        self.trainers = [Trainer(c.copy(), device="cpu") for c in configs]

    def rate(self, seconds: float) -> float:
        """GAN steps/s over at least ``seconds`` (whole sweeps over the recipes)."""
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for t in self.trainers:
                t.step()
                n += 1
        return n / (time.perf_counter() - t0)


def measure(app, names: list[str], rounds: int, seconds: float, idle_seconds: float | None = None,
            configs=None, labels=None) -> dict:
    """Interleaved rounds for both backends and the idle baseline; per-round figures.

    Returns {"thread": [round, ...], "process": [...], "idle": [...], "labels", "steps",
    "stopped"}, each round a dict with p50/p99/max (ms), ticks, gan_sps, fps. With ``configs``
    given (``--same-shaped``) each round also times the :class:`Sequential` reference
    ("sequential": GAN steps/s per round)."""
    from ganplay.engine.config import Config
    from ganplay.engine.population import preset_configs

    reference = None
    if configs is None:
        configs, labels = preset_configs(names, Config())   # as the window's "Recipes" choice
    else:
        reference = Sequential(configs)
    idle_s = min(seconds, IDLE_S) if idle_seconds is None else idle_seconds
    # Both windows stay open for the whole run (a fresh process and 8 GANs per round would cost
    # more than the rounds); the one not measured is paused: no frames, its loop just waits.
    views = {}
    try:
        for b in BACKENDS:   # both build at once: the child process starts while the thread builds
            views[b] = open_view(b, configs, labels)
        wait_until(app, lambda: all(built(v, labels) for v in views.values()), BUILD_TIMEOUT_S,
                   "both comparisons to be built")
        res: dict = {b: [] for b in BACKENDS}
        res["idle"] = []
        res["sequential"] = []
        for _ in range(rounds):
            for b in BACKENDS:
                res[b].append(measure_round(app, views[b], seconds))
            if reference is not None:   # both windows paused: their processes wait
                res["sequential"].append(reference.rate(seconds))
            late = timer_lateness(idle_s)
            res["idle"].append({"p50": quantile(late, 0.50), "p99": quantile(late, 0.99),
                                "max": max(late) if late else float("nan"), "ticks": len(late),
                                "gan_sps": 0.0, "fps": 0.0})
        for b in BACKENDS:
            # a process that could not start or died makes the view fall back to a thread:
            # then the "process" figures would be a thread's
            if views[b].worker is None or views[b].worker.backend != b:
                raise RuntimeError(f"the {b} view ended up training with "
                                   f"'{getattr(views[b].worker, 'backend', None)}'")
        res["labels"] = list(labels)
        res["steps"] = {b: views[b].step_count for b in BACKENDS}
        res["stopped"] = {b: sorted(r["label"] for r in (views[b].last_metrics or []) if r.get("stopped"))
                          for b in BACKENDS}
        return res
    finally:
        for v in views.values():
            v.close()
            v.deleteLater()
        app.processEvents()


def spread(xs: list[float], fmt: str = ".1f") -> str:
    """median (min-max) over rounds."""
    xs = [x for x in xs if not math.isnan(x)]
    if not xs:
        return "nan"
    return f"{format(statistics.median(xs), fmt)} ({format(min(xs), fmt)}-{format(max(xs), fmt)})"


def med(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="thread/process/idle rounds")
    ap.add_argument("--seconds", type=float, default=6.0, help="measured seconds per backend per round")
    ap.add_argument("--presets", default=DEFAULT_PRESETS, help="comma-separated recipes (2 to 8)")
    ap.add_argument("--same-shaped", action="store_true",
                    help="8 recipes of one shape that differ in their loss, against the same 8 one after "
                         "another on one thread in this process (issue 24's >= 1.8x)")
    args = ap.parse_args()
    names = [n.strip() for n in args.presets.split(",") if n.strip()]
    if not 2 <= len(names) <= 8:
        ap.error("list 2 to 8 recipes")
    configs = labels = None
    if args.same_shaped:
        configs, labels = same_shaped(8)
        names = labels

    from PySide6.QtCore import QSettings, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def quiet(mode, ctx, msg) -> None:   # Qt's offscreen platform says this on every show()
        if "propagateSizeHints" not in msg:
            sys.stderr.write(msg + "\n")

    qInstallMessageHandler(quiet)
    settings_dir = tempfile.mkdtemp(prefix="ganplay-bench-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication.instance() or QApplication([])
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    try:
        res = measure(app, names, args.rounds, args.seconds, configs=configs, labels=labels)
    finally:
        shutil.rmtree(settings_dir, ignore_errors=True)
    load1 = os.getloadavg()

    head = ("backend", "timer p50 (ms)", "timer p99 (ms)", "timer max (ms)", "GAN steps/s", "frames/s", "ticks")
    rows = []
    for b in ("idle",) + BACKENDS:
        rs = res[b]
        rows.append((b + (" (paused)" if b == "idle" else ""), spread([r["p50"] for r in rs]),
                     spread([r["p99"] for r in rs]), spread([r["max"] for r in rs]),
                     "-" if b == "idle" else spread([r["gan_sps"] for r in rs], ".0f"),
                     "-" if b == "idle" else spread([r["fps"] for r in rs]),
                     str(sum(r["ticks"] for r in rs))))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(f"compare window, {len(names)} recipes: {', '.join(names)}; {args.rounds} rounds x {args.seconds:g} s "
          f"per backend; figures: median (min-max) over rounds")
    print("  ".join(f"{h:<{w}}" for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(f"{c:<{w}}" for c, w in zip(r, widths)))
    th, pr = res["thread"], res["process"]
    p99_pr = med(pr, "p99")
    print(f"process / thread: GAN steps/s x{med(pr, 'gan_sps') / med(th, 'gan_sps'):.2f}, "
          f"timer p99 x{p99_pr / med(th, 'p99'):.2f}, frames/s x{med(pr, 'fps') / med(th, 'fps'):.2f} "
          f"(medians of the same run)")
    if res["sequential"]:
        seq = res["sequential"]
        per_round = [p["gan_sps"] / q for p, q in zip(pr, seq)]
        print(f"the same {len(names)} one after another on one thread in this process: {spread(seq, '.0f')} GAN "
              f"steps/s; process window / sequential, per round: {min(per_round):.2f} / "
              f"{statistics.median(per_round):.2f} / {max(per_round):.2f} (min / median / max; target >= 1.8)")
    verdict = "met" if p99_pr <= TARGET_P99_MS else "NOT met"
    print(f"target: timer p99 <= {TARGET_P99_MS:.0f} ms with the process backend (median of rounds): "
          f"{p99_pr:.1f} ms, {verdict}; worst round {max(r['p99'] for r in pr):.1f} ms")
    stopped = {b: s for b, s in res["stopped"].items() if s}
    print(f"(steps reached: {', '.join(f'{b} {s}' for b, s in res['steps'].items())}"
          + (f"; diverged and stopped: {stopped}" if stopped else "")
          + f"; cpu count {os.cpu_count()}, platform {app.platformName()}, load average "
          f"{', '.join(f'{x:.2f}' for x in load0)} before, {', '.join(f'{x:.2f}' for x in load1)} after; "
          f"{time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
