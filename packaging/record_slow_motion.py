"""Record the README's slow-motion GIF (one whole iteration, with ganplay's own CanvasRecorder)
and the docs' pictures of the model graph and of slow motion at a D and a G sub-step.

    xvfb-run -a -s "-screen 0 1600x1000x24" python packaging/record_slow_motion.py

Opens the playground (settings in a temporary folder) on the ring, trains ``--steps`` steps, then
turns slow motion on with a ``--pause`` between sub-steps and records the window's centre (the
graph, the caption, the canvas, the formulas) for one iteration.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gif", default="docs/slow_motion.gif")
    ap.add_argument("--docs", default="docs")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between sub-steps")
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--max-side", type=int, default=560)
    ap.add_argument("--colors", type=int, default=128)
    ap.add_argument("--set", action="append", default=["train.seed=1"], metavar="FIELD=VALUE")
    args = ap.parse_args(argv)

    from ganplay.engine.config import Config, apply_overrides
    from ganplay.ui.recorder import CanvasRecorder
    from ganplay.ui.scripted import open_playground, scripted_app, wait_until

    app = scripted_app()

    def wait(cond, timeout: float) -> bool:
        return wait_until(app, cond, timeout)

    w = open_playground(app, apply_overrides(Config(), args.set), size=(1500, 1000))
    if w is None:
        return 1
    if w.latent_dock is not None:
        w.latent_dock.hide()
    w.stop_spin.setValue(args.steps)
    w.act_play.trigger()
    wait(lambda: w.current_step >= args.steps and not w.latest_frame.running, 900)
    wait(lambda: False, 1.0)
    centre = w.centralWidget()
    t = w.teaching
    t.graph.grab().save(f"{args.docs}/model_graph.png")
    t.slow.bar.pause_spin.setValue(args.pause)
    rec = CanvasRecorder()
    t.act_slow.setChecked(True)
    if not wait(lambda: t.slow.trace is not None, 60):
        print("no traced iteration came back", file=sys.stderr)
        return 1
    first = t.slow.trace.step
    rec.start(centre, fps=args.fps, max_frames=400, max_side=args.max_side)
    shots = {3: "slow_motion_d.png", 8: "slow_motion_g.png"}
    taken: set[int] = set()

    def shoot(i: int) -> None:
        if i in shots and i not in taken:
            taken.add(i)
            app.processEvents()
            centre.grab().save(f"{args.docs}/{shots[i]}")

    t.slow.substepShown.connect(lambda i: __import__("PySide6.QtCore").QtCore.QTimer.singleShot(
        int(args.pause * 800), lambda i=i: shoot(i)))
    # the whole iteration, and the G update's glide to its end
    wait(lambda: t.slow.trace.step > first or (t.slow.index == len(t.slow.subs) - 1 and not t.slow.glide.isActive()
                                                and False), 10 * args.pause + 15)
    frames = rec.stop()
    path = rec.save_gif(args.gif, n_colors=args.colors)
    print(f"recorded {len(frames)} frames of iteration {first} -> {path} ({path.stat().st_size / 1e6:.2f} MB); "
          f"pictures: {sorted(taken)}")
    t.act_slow.setChecked(False)
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
