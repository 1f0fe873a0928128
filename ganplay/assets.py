"""Locate files shipped in the repository's ``assets/`` folder.

The same lookup must work from a source checkout (``<repo>/assets``), from an installed package
(``ganplay/assets``, when packaging copies the folder into the package) and from a PyInstaller
bundle (files unpacked under ``sys._MEIPASS``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import ganplay


def asset_roots() -> list[Path]:
    """Candidate ``assets`` folders, most specific first."""
    pkg = Path(ganplay.__file__).resolve().parent
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots += [Path(bundle) / "assets", Path(bundle) / "ganplay" / "assets"]
    roots += [pkg / "assets", pkg.parent / "assets"]
    return roots


def asset_path(name: str) -> Path:
    """The path of asset ``name`` (e.g. ``"mnist"`` or ``"mnist_classifier.safetensors"``).

    Raises ``FileNotFoundError`` listing where it looked, so a broken install says what is missing.
    """
    roots = asset_roots()
    for root in roots:
        p = root / name
        if p.exists():
            return p
    where = ", ".join(str(r) for r in roots)
    raise FileNotFoundError(f"asset '{name}' not found; looked in: {where}")
