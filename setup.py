"""Setuptools hook: put the repository's top-level ``assets/`` into the built package.

``assets/`` stays at the top of the repository (the PyInstaller spec, the desktop install script
and the tests read it there); a wheel has no such place, so the build copies it to
``ganplay/assets/``, the first place ``ganplay.assets.asset_path`` looks. Everything else is in
``pyproject.toml``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = Path(__file__).resolve().parent / "assets"


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        super().run()
        # an editable install finds the checkout's assets/ beside the package: nothing to copy
        if getattr(self, "editable_mode", False):
            return
        if not (ASSETS / "mnist").is_dir():
            raise SystemExit(f"error: {ASSETS} is incomplete; the package would have no MNIST data")
        target = Path(self.build_lib) / "ganplay" / "assets"
        shutil.copytree(ASSETS, target, dirs_exist_ok=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        out = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            base = Path(self.build_lib) / "ganplay" / "assets"
            out += [str(base / p.relative_to(ASSETS)) for p in ASSETS.rglob("*") if p.is_file()]
        return out


setup(cmdclass={"build_py": BuildPyWithAssets})
