"""A picture of a lesson page with its highlights, for docs/ (the README's section for teachers).

    xvfb-run -a -s "-screen 0 1600x1000x24" python packaging/lesson_screenshot.py \
        assets/lessons/02_mode_collapse.toml --page 1 -o docs/lesson_page.png

Opens the playground, opens the lesson, shows page N (1-based) and waits until its condition
unlocks Next (or ``--seconds``), then saves the window.
"""
from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lesson")
    ap.add_argument("--page", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=120.0, help="the longest wait for the page's condition")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)

    from ganplay.engine.lessons import load_lesson
    from ganplay.live.layers import LAYER_NAMES
    from ganplay.ui.scripted import open_playground, scripted_app, wait_until

    app = scripted_app()
    lesson = load_lesson(args.lesson, LAYER_NAMES)
    w = open_playground(app, size=tuple(int(v) for v in args.size.split("x")))
    if w is None:
        return 1

    def wait(cond, timeout: float) -> bool:
        return wait_until(app, cond, timeout)

    panel = w.lesson_panel
    w.show_lesson(lesson)
    if args.page > 1:
        panel.show_page(args.page - 1)
    t0 = time.monotonic()
    unlocked = wait(lambda: panel.index in panel.done, args.seconds)
    wait(lambda: False, 1.0)
    if w.running:
        w.pause()
        wait(lambda: False, 0.5)
    ok = w.grab().save(args.output)
    print(f"{lesson.title}, page {args.page}: unlocked {unlocked} after {time.monotonic() - t0:.0f} s at step "
          f"{w.current_step}; highlights {panel.highlighter.active}; saved {args.output}: {ok}")
    w.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
