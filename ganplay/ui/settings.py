"""Where the window keeps its settings (last preset, layout, layers, speed).

Always an INI file in the user scope, so tests can redirect it with
``QSettings.setPath(IniFormat, UserScope, tmpdir)`` and never touch the user's real settings.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION = "ganplay"
APPLICATION = "ganplay"


def make_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)
