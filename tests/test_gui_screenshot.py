"""The docs' screenshot tool drives the real window (and its training process) end to end."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_screenshot_tool_trains_and_saves_a_png(qapp, tmp_path, capsys):
    from ganplay.ui.screenshot import main

    out = tmp_path / "shot.png"
    rc = main(["--preset", "vanilla", "--steps", "30", "--size", "900x600", "--set", "model.g_width=16",
               "--set", "model.d_width=16", "--set", "train.batch_size=32", "-o", str(out)])
    assert rc == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "vanilla: 30 steps" in printed and "modes_covered" in printed
