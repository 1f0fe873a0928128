"""``ganplay scene``: open the lecture's scenes (the Scenes window), or list them."""
from __future__ import annotations

import argparse
from typing import Any


def cmd_scene(args: argparse.Namespace) -> int:
    from .engine.scenes import SCENES, scene_class

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
    import sys

    from .ui.platform_check import platform_problem

    blocked = platform_problem()
    if blocked:
        print(blocked, file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    from .ui.scene_window import SceneWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = SceneWindow(args.name, **values)
    window.show()
    return int(app.exec())


def register(sub: Any) -> None:
    p = sub.add_parser("scene", help="open the lecture's scenes (D*, the JSD, the x·y game, ...)")
    p.add_argument("name", nargs="?", help="the scene to open (see --list)")
    p.add_argument("--set", action="append", metavar="PARAM=VALUE", help="a scene parameter")
    p.add_argument("--list", action="store_true", help="list the scenes and exit")
    p.set_defaults(func=cmd_scene)
