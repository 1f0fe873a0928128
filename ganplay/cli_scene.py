"""``ganplay scene``: open the lecture's scenes (the Scenes window), or list them."""
from __future__ import annotations

import argparse
from typing import Any


def cmd_scene(args: argparse.Namespace) -> int:
    from .engine.scenes import SCENES, scene_class

    if args.values and args.name:
        return cmd_values(args)
    if args.list:
        for key, entry in SCENES.items():
            print(f"{key:<14} {entry.title}  ({entry.group})")
        return 0
    values: dict[str, Any] = {}
    if args.name is not None:
        if args.name not in SCENES:
            print(f"ganplay: error: no scene {args.name!r}; scenes: {', '.join(SCENES)}")
            return 2
        cls = scene_class(args.name)
        for item in args.set or []:
            key, sep, val = item.partition("=")
            if not sep:
                print(f"ganplay: error: --set wants NAME=VALUE, got {item!r}")
                return 2
            try:
                values[key] = cls.param(key).check(val)
            except (KeyError, ValueError) as e:
                print(f"ganplay: error: {e.args[0]}")
                return 2
    def make() -> Any:
        from .ui.scene_window import SceneWindow

        return SceneWindow(args.name, **values)

    return _run_gui(make)


def _run_gui(make: Any, started: Any = None) -> int:
    """Check Qt's platform plugin, then show the window ``make()`` builds and run the event loop;
    ``started(window)`` runs just before the loop."""
    import sys

    from .ui.platform_check import platform_problem

    blocked = platform_problem()
    if blocked:
        print(blocked, file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = make()
    if hasattr(window, "shutdown"):
        app.aboutToQuit.connect(window.shutdown)
    window.show()
    if started is not None:
        started(window)
    return int(app.exec())


def cmd_open(args: argparse.Namespace) -> int:
    """Check the file headless (a bad one: a message naming the file, the line and the field, exit
    2), then open the playground with it."""
    import sys

    from .engine.lessons import LessonError, read_file
    from .live.layers import LAYER_NAMES

    try:
        doc = read_file(args.file, LAYER_NAMES)
    except LessonError as exc:
        print(f"ganplay: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        kind = "lesson" if hasattr(doc, "pages") else "scene"
        print(f"{args.file}: a {kind}, '{doc.title}'" + (f", {len(doc.pages)} pages" if kind == "lesson" else ""))
        return 0
    def make() -> Any:
        from .ui.main_window import MainWindow

        return MainWindow()

    def started(window: Any) -> None:
        def when_ready() -> None:
            window.engineReady.disconnect(when_ready)
            window.open_file(args.file)

        window.engineReady.connect(when_ready)

    return _run_gui(make, started)


def cmd_values(args: argparse.Namespace) -> int:
    """The names a lesson's conditions can use for a scene, with their values after N steps."""
    from .engine.lesson_run import scene_values
    from .engine.scenes import make_scene

    scene = make_scene(args.name)
    scene.advance(args.steps)
    for k, v in scene_values(scene).items():
        print(f"{k:<40} {v:.6g}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("open", help="open a scene file or a lesson (TOML) in the playground")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--check", action="store_true", help="only check the file and say what it is")
    p.set_defaults(func=cmd_open)
    p = sub.add_parser("scene", help="open the lecture's scenes (D*, the JSD, the x·y game, ...)")
    p.add_argument("name", nargs="?", help="the scene to open (see --list)")
    p.add_argument("--set", action="append", metavar="PARAM=VALUE", help="a scene parameter")
    p.add_argument("--list", action="store_true", help="list the scenes and exit")
    p.add_argument("--values", action="store_true",
                   help="print the scene's figures a lesson's conditions can name (after --steps steps) and exit")
    p.add_argument("--steps", type=int, default=100, help="steps before --values reads them (default 100)")
    p.set_defaults(func=cmd_scene)
