"""The desktop integration files agree with each other and parse (the frozen build itself is not
tested here: packaging/build.sh and packaging/check_frozen.sh are run by hand)."""
from __future__ import annotations

import configparser
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
APP_ID = "io.github.ganplay.Ganplay"


def test_desktop_entry_names_the_command_and_icon():
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(PKG / f"{APP_ID}.desktop", encoding="utf-8")
    e = cp["Desktop Entry"]
    assert e["Type"] == "Application"
    assert e["Exec"].split()[0] == "ganplay"
    assert e["Icon"] == APP_ID
    assert e["Categories"].endswith(";") and "Education" in e["Categories"]
    assert e["Terminal"] == "false"


def test_metainfo_matches_the_desktop_file():
    root = ET.parse(PKG / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert root.find("provides/binary").text == "ganplay"
    from ganplay import __version__

    assert root.find("releases/release").get("version") == __version__
    assert len(root.findtext("summary")) < 60  # AppStream wants a short summary


def test_icon_is_a_square_svg():
    root = ET.parse(ROOT / "assets" / "ganplay.svg").getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 256 256"
    circles = [el for el in root.iter() if el.tag.endswith("circle")]
    assert len(circles) >= 9  # the ring of eight modes and the collapsed samples


def test_icon_renders_with_qt(qapp):
    from PySide6.QtGui import QIcon

    icon = QIcon(str(ROOT / "assets" / "ganplay.svg"))
    img = icon.pixmap(64, 64).toImage()
    assert img.width() == 64
    assert img.pixelColor(32, 32).alpha() == 255  # the rounded square is opaque in the middle


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "ganplay", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("ganplay ")
