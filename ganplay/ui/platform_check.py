"""Before the window opens on Linux: can Qt's xcb platform plugin load?

When a system library the plugin links against is missing, Qt prints a message that may name the
wrong library (6.5+ always names libxcb-cursor0) and then aborts the process. So ``ganplay`` asks
``ldd`` which libraries of PySide6's ``libqxcb.so`` (and of ``libQt6XcbQpa``, which holds most of
the xcb code) are "not found", maps each to its Debian/Ubuntu package and prints the one command
that installs them, then exits 1 instead of letting Qt abort.

This module imports no Qt: it finds the plugin through ``importlib`` and reads ``ldd``'s text.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

# soname -> Debian/Ubuntu package, for the libraries Qt's xcb plugin and libQt6XcbQpa link
# against (directly or through Qt's own libraries). Checked against Debian 12 and Ubuntu 22.04/
# 24.04 names; a soname missing here is printed as is, with a hint to look it up.
DEBIAN_PACKAGES: dict[str, str] = {
    # the xcb utility libraries Qt needs since 6.x (the ones a minimal X install lacks)
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-ewmh.so.2": "libxcb-ewmh2",
    # the xcb protocol extensions
    "libxcb.so.1": "libxcb1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-present.so.0": "libxcb-present0",
    "libxcb-dri2.so.0": "libxcb-dri2-0",
    "libxcb-dri3.so.0": "libxcb-dri3-0",
    # keyboard maps
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    # Xlib and friends
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libXext.so.6": "libxext6",
    "libXrender.so.1": "libxrender1",
    "libXi.so.6": "libxi6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    # OpenGL (libglvnd), fonts and the rest of what libQt6Gui pulls in
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libexpat.so.1": "libexpat1",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libpcre2-8.so.0": "libpcre2-8-0",
}

SKIP_ENV = "GANPLAY_SKIP_PLATFORM_CHECK"   # set to 1 to open the window without this check

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found\s*$")


def parse_ldd(text: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found", in order of first appearance, each once."""
    out: list[str] = []
    for line in text.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


def debian_packages(sonames: Iterable[str]) -> tuple[list[str], list[str]]:
    """(packages that provide the known sonames, each once; sonames with no known package)."""
    packages: list[str] = []
    unknown: list[str] = []
    for so in sonames:
        pkg = DEBIAN_PACKAGES.get(so)
        if pkg is None:
            unknown.append(so)
        elif pkg not in packages:
            packages.append(pkg)
    return packages, unknown


def install_command(packages: Sequence[str]) -> str:
    """The Debian/Ubuntu command that installs ``packages``."""
    return "sudo apt-get install " + " ".join(shlex.quote(p) for p in packages)


def xcb_plugin_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """PySide6's xcb platform plugin and the Qt library behind it (those that exist): the files
    whose ``ldd`` says what the window needs from the system. Empty when PySide6 is not found."""
    env = os.environ if environ is None else environ
    files: list[Path] = []
    custom = env.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if custom and (Path(custom) / "libqxcb.so").is_file():
        files.append(Path(custom) / "libqxcb.so")
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.origin:
        qt = Path(spec.origin).parent / "Qt"
        for f in (qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"):
            if f.is_file() and f not in files:
                files.append(f)
    return files


def missing_libraries(files: Sequence[Path],
                      run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> list[str]:
    """The sonames ``ldd`` cannot find for any of ``files`` (ldd lists each file's whole
    dependency tree). Empty when ldd is not there or fails: then nothing is known to be missing."""
    if not files or shutil.which("ldd") is None:
        return []
    out: list[str] = []
    for f in files:
        try:
            res = run(["ldd", str(f)], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            continue
        for so in parse_ldd(res.stdout or ""):
            if so not in out:
                out.append(so)
    return out


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will load its xcb plugin: on Linux with an X display, unless QT_QPA_PLATFORM
    names another platform first, or a Wayland session gives Qt a Wayland display to try first."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        first = requested.split(";")[0].split(":")[0].strip()
        return first == "xcb" and bool(env.get("DISPLAY"))
    if not env.get("DISPLAY"):
        return False   # no X display: Qt says so itself (or uses Wayland)
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" and bool(env.get("WAYLAND_DISPLAY"))
    return not wayland


def problem_message(sonames: Sequence[str]) -> str:
    """What to tell the user when ``sonames`` are missing for the xcb plugin."""
    packages, unknown = debian_packages(sonames)
    lines = [
        "ganplay: error: the window cannot open: Qt's xcb platform plugin needs system libraries "
        "that are not installed:",
        "  " + ", ".join(sonames),
    ]
    if packages:
        lines += ["On Debian/Ubuntu install them with:", "  " + install_command(packages)]
    if unknown:
        lines.append("Find the package for " + ", ".join(unknown) + " with your package manager "
                     "(Debian/Ubuntu: apt-file search " + unknown[0] + ").")
    lines.append("The headless commands (ganplay train, compare, export) work without them; "
                 f"{SKIP_ENV}=1 skips this check.")
    return "\n".join(lines)


def platform_problem(environ: Mapping[str, str] | None = None, platform: str | None = None,
                     run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """The message to print instead of opening the window, or None when nothing is known to be
    wrong. Runs ``ldd`` (a few ms) each call; only when Qt will use the xcb plugin."""
    env = os.environ if environ is None else environ
    if env.get(SKIP_ENV) or not uses_xcb(env, platform):
        return None
    missing = missing_libraries(xcb_plugin_files(env), run=run)
    return problem_message(missing) if missing else None
