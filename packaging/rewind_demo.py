"""The README's rewind-and-branch picture: the vanilla recipe collapses; rewind to step 1,200,
switch the loss, branch from there, and the collapse does not happen.

    xvfb-run -a -s "-screen 0 1600x1000x24" python packaging/rewind_demo.py -o docs/rewind_branch.png

Opens the playground (settings in a temporary folder), trains ``--preset`` to ``--steps``, drags
the timeline back to ``--at``, sets ``loss.name`` to ``--loss`` in the setup model (a live edit,
as the panel does), presses *Branch from here* and trains to ``--steps`` again. Prints the modes
covered at the end of each branch and saves the window.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="vanilla")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--at", type=int, default=1200)
    ap.add_argument("--loss", default="lsgan")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--size", default="1500x900")
    ap.add_argument("-o", "--output", default="docs/rewind_branch.png")
    args = ap.parse_args(argv)

    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.presets import apply_preset
    from ganplay.live import protocol as P
    from ganplay.ui.scripted import open_playground, scripted_app, wait_until

    app = scripted_app()

    def wait(cond, timeout: float) -> bool:
        return wait_until(app, cond, timeout)

    def modes() -> str:
        s = w.history.get("modes_covered")
        total = w.history.get("modes_total")
        return f"{s.data()[1][-1]:.0f}/{total.data()[1][-1]:.0f}" if s.n and total.n else "?"

    def train_to(step: int) -> None:
        w.stop_spin.setValue(step)
        w.play()
        wait(lambda: w.current_step >= step and not w.latest_frame.running, 1800)
        n = w.frames_received   # a paused frame with fresh metrics
        wait(lambda: w.frames_received > n and w.latest_frame.metrics is not None, 30)
        wait(lambda: False, 0.5)

    w = open_playground(app, apply_overrides(apply_preset(args.preset, Config(), adapt_data=True), args.set),
                        size=tuple(int(v) for v in args.size.split("x")))
    if w is None:
        return 1
    if w.latent_dock is not None:
        w.latent_dock.hide()
    train_to(args.steps)
    first = modes()
    rewound = []
    w.eventHandled.connect(lambda ev: rewound.append(ev) if isinstance(ev, P.Rewound) else None)
    sl = w.timeline.slider
    sl.setValue(w.timeline.steps.index(max(s for s in w.timeline.steps if s <= args.at)))   # as a drag would
    wait(lambda: rewound and w.current_step == rewound[-1].step, 60)
    w.model.edit("loss.name", args.loss)
    wait(lambda: w.config.loss.name == args.loss, 30)
    w.timeline.branch_button.click()
    train_to(args.steps)
    w.charts.refresh()
    app.processEvents()
    ok = w.grab().save(args.output)
    print(f"{args.preset}: {first} modes covered at step {args.steps} with {apply_preset(args.preset, Config()).loss.name}; "
          f"rewound to {rewound[-1].step if rewound else '?'}, branched with {args.loss}: {modes()} at step "
          f"{w.current_step}; saved {args.output}: {ok}")
    w.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
