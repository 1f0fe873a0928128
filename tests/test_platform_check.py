"""The window's start on Linux: missing system libraries of Qt's xcb plugin are named, with the
Debian/Ubuntu command that installs them, instead of Qt's abort (issue 15, item 3)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ganplay.ui import platform_check as pc

# ldd's answer on a fresh Debian 12 with PySide6 6.11 (shortened): the plugin's own deps and
# those of Qt's libraries, so one soname shows up several times.
FAKE_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd8a5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f0e1c2dc000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f0e1c1f9000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f0e1c1f2000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f0e1c1ea000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibfoo-unknown.so.3 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c3ac000)
"""


def test_parse_ldd_keeps_each_missing_soname_once_in_order() -> None:
    assert pc.parse_ldd(FAKE_LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo-unknown.so.3"]
    assert pc.parse_ldd("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n") == []
    assert pc.parse_ldd("") == []


def test_sonames_map_to_debian_packages_and_unknown_ones_are_named() -> None:
    pkgs, unknown = pc.debian_packages(pc.parse_ldd(FAKE_LDD))
    assert pkgs == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert unknown == ["libfoo-unknown.so.3"]
    # two sonames of one package give one package
    assert pc.debian_packages(["libglib-2.0.so.0", "libgthread-2.0.so.0"]) == (["libglib2.0-0"], [])
    assert pc.install_command(pkgs) == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"


def test_the_table_covers_every_xcb_and_xkb_library_qt_links() -> None:
    for so in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0", "libxcb-image.so.0",
               "libxcb-util.so.1", "libxcb-render-util.so.0", "libxcb-randr.so.0", "libxcb-shm.so.0",
               "libxcb-sync.so.1", "libxcb-xfixes.so.0", "libxcb-render.so.0", "libxcb-shape.so.0",
               "libxcb-xkb.so.1", "libxcb.so.1", "libX11-xcb.so.1", "libxkbcommon.so.0",
               "libxkbcommon-x11.so.0", "libGL.so.1", "libEGL.so.1", "libfontconfig.so.1"):
        assert so in pc.DEBIAN_PACKAGES, so


def test_message_names_the_libraries_and_the_install_command() -> None:
    msg = pc.problem_message(pc.parse_ldd(FAKE_LDD))
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1, libfoo-unknown.so.3" in msg
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in msg
    assert "apt-file search libfoo-unknown.so.3" in msg
    assert "libxcb-cursor0" not in msg   # Qt's own message names it; it is installed


@pytest.mark.parametrize("env,platform,want", [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
    ({}, "linux", False),                                   # no display: Qt says so itself
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"DISPLAY": ":0"}, "darwin", False),
    ({"DISPLAY": ":0"}, "win32", False),
])
def test_the_check_runs_only_when_qt_will_load_xcb(env, platform, want) -> None:
    assert pc.uses_xcb(env, platform) is want


def test_platform_problem_reads_ldd_and_can_be_skipped(tmp_path: Path) -> None:
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, FAKE_LDD, "")

    env = {"DISPLAY": ":0"}
    msg = pc.platform_problem(env, "linux", run=fake_run)
    assert msg is not None and "libxcb-keysyms1" in msg
    assert calls and all(c[0] == "ldd" for c in calls)
    assert any(c[1].endswith("libqxcb.so") for c in calls)   # PySide6's plugin is found
    calls.clear()
    assert pc.platform_problem({**env, pc.SKIP_ENV: "1"}, "linux", run=fake_run) is None
    assert pc.platform_problem({**env, "QT_QPA_PLATFORM": "offscreen"}, "linux", run=fake_run) is None
    assert not calls   # nothing runs when the check does not apply
    ok = subprocess.CompletedProcess(["ldd"], 0, "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", "")
    assert pc.platform_problem(env, "linux", run=lambda cmd, **kw: ok) is None


def test_one_real_ldd_call_on_this_machine() -> None:
    files = pc.xcb_plugin_files({})
    if sys.platform.startswith("linux"):
        assert files and files[0].name == "libqxcb.so"
    missing = pc.missing_libraries(files)
    assert all(so.startswith("lib") and ".so" in so for so in missing)
    print("missing here:", missing or "none")


def test_the_app_exits_with_the_message_instead_of_opening(monkeypatch, capsys) -> None:
    """``ganplay`` with no arguments: the check comes before Qt creates the application."""
    import ganplay.ui.app as app
    import ganplay.ui.main_window as mw

    def not_reached(*a, **k):
        raise AssertionError("the window was built although the platform plugin cannot load")

    monkeypatch.setattr(mw, "MainWindow", not_reached)
    monkeypatch.setattr(pc, "platform_problem", lambda *a, **k: pc.problem_message(pc.parse_ldd(FAKE_LDD)))
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in err
