"""A horizontal bar chart as PNG with numpy alone (the sweep's ``chart.png``): one row per
label, one or two bars each with an error whisker, text in a 3x5 pixel font drawn at 2x.
No plotting library is a dependency of ganplay, so the chart draws its own pixels."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .png import encode_png

# 3x5 glyphs, rows top to bottom ('#' = ink). Lower case is drawn as upper case.
_FONT_ROWS = {
    "0": "### #.# #.# #.# ###", "1": ".#. ##. .#. .#. ###", "2": "### ..# ### #.. ###",
    "3": "### ..# ### ..# ###", "4": "#.# #.# ### ..# ..#", "5": "### #.. ### ..# ###",
    "6": "### #.. ### #.# ###", "7": "### ..# ..# .#. .#.", "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ###", "A": ".#. #.# ### #.# #.#", "B": "##. #.# ##. #.# ##.",
    "C": ".## #.. #.. #.. .##", "D": "##. #.# #.# #.# ##.", "E": "### #.. ##. #.. ###",
    "F": "### #.. ##. #.. #..", "G": ".## #.. #.# #.# .##", "H": "#.# #.# ### #.# #.#",
    "I": "### .#. .#. .#. ###", "J": "..# ..# ..# #.# .#.", "K": "#.# #.# ##. #.# #.#",
    "L": "#.. #.. #.. #.. ###", "M": "#.# ### ### #.# #.#", "N": "##. #.# #.# #.# #.#",
    "O": ".#. #.# #.# #.# .#.", "P": "##. #.# ##. #.. #..", "Q": ".#. #.# #.# ##. .##",
    "R": "##. #.# ##. #.# #.#", "S": ".## #.. .#. ..# ##.", "T": "### .#. .#. .#. .#.",
    "U": "#.# #.# #.# #.# ###", "V": "#.# #.# #.# #.# .#.", "W": "#.# #.# ### ### #.#",
    "X": "#.# #.# .#. #.# #.#", "Y": "#.# #.# .#. .#. .#.", "Z": "### ..# .#. #.. ###",
    " ": "... ... ... ... ...", ".": "... ... ... ... .#.", "-": "... ... ### ... ...",
    "%": "#.# ..# .#. #.. #.#", "/": "..# ..# .#. #.. #..", "=": "... ### ... ### ...",
    ":": "... .#. ... .#. ...", "+": "... .#. ### .#. ...", "_": "... ... ... ... ###",
    "(": ".#. #.. #.. #.. .#.", ")": ".#. ..# ..# ..# .#.", "#": "#.# ### #.# ### #.#",
    ",": "... ... ... .#. #..", "?": "### ..# .#. ... .#.",
}
_GLYPHS = {c: np.array([[ch == "#" for ch in row] for row in rows.split()], bool) for c, rows in _FONT_ROWS.items()}
SCALE = 2
CHAR_W = 4 * SCALE      # 3 pixels and a gap
LINE_H = 7 * SCALE

INK = (40, 40, 40)
COLOURS = ((31, 119, 180), (255, 127, 14))
GRID = (225, 225, 225)


def draw_text(img: np.ndarray, x: int, y: int, text: str, rgb: tuple[int, int, int] = INK) -> int:
    """Draw ``text`` with its top-left corner at (x, y); returns the x after it."""
    for ch in text:
        g = _GLYPHS.get(ch.upper(), _GLYPHS["?"])
        big = np.kron(g, np.ones((SCALE, SCALE), bool))
        h, w = big.shape
        if 0 <= y and y + h <= img.shape[0] and 0 <= x and x + w <= img.shape[1]:
            img[y:y + h, x:x + w][big] = rgb
        x += CHAR_W
    return x


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
              title: str = "", vmax: float = 100.0, width: int = 900) -> np.ndarray:
    """An RGB image: per label, one bar per series (name, means, sds) from 0 to ``vmax``, with a
    whisker of +- sd; NaN means draw no bar. Returns uint8 (H, W, 3)."""
    n, k = len(labels), len(series)
    label_w = CHAR_W * min(40, max([len(s) for s in labels] + [4])) + 12
    bar_h, row_h = 10, max(LINE_H, 10 * k + 6) + 6
    top = 10 + (LINE_H + 6 if title else 0) + LINE_H + 6
    height = top + n * row_h + LINE_H + 16
    img = np.full((height, width, 3), 255, np.uint8)
    if title:
        draw_text(img, 10, 10, title)
    x0, x1 = label_w, width - 60
    # legend
    lx = x0
    for j, (name, _, _) in enumerate(series):
        img[top - LINE_H - 2:top - LINE_H + 10, lx:lx + 12] = COLOURS[j % len(COLOURS)]
        lx = draw_text(img, lx + 18, top - LINE_H - 2, name) + 20
    # grid lines and scale at 0, 25, 50, 75, 100 %
    for t in np.linspace(0, 1, 5):
        gx = int(x0 + t * (x1 - x0))
        img[top:top + n * row_h, gx] = GRID
        draw_text(img, gx - CHAR_W, top + n * row_h + 6, f"{t * vmax:g}")
    for i, lab in enumerate(labels):
        y = top + i * row_h + 3
        draw_text(img, 6, y + max(0, (row_h - 6 - LINE_H) // 2), lab[:40])
        for j, (_, means, sds) in enumerate(series):
            m, sd = float(means[i]), float(sds[i])
            if not np.isfinite(m):
                continue
            by = y + j * (bar_h + 2)
            bx = int(x0 + np.clip(m / vmax, 0, 1) * (x1 - x0))
            img[by:by + bar_h, x0:max(x0 + 1, bx)] = COLOURS[j % len(COLOURS)]
            if np.isfinite(sd) and sd > 0:
                lo = int(x0 + np.clip((m - sd) / vmax, 0, 1) * (x1 - x0))
                hi = int(x0 + np.clip((m + sd) / vmax, 0, 1) * (x1 - x0))
                mid = by + bar_h // 2
                img[mid, lo:hi + 1] = INK
                img[by + 1:by + bar_h - 1, lo] = INK
                img[by + 1:by + bar_h - 1, hi] = INK
    img[top:top + n * row_h, x0] = INK
    return img


def save_bar_chart(path: str | Path, labels: Sequence[str],
                   series: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str = "",
                   vmax: float = 100.0) -> Path:
    from .export import write_file_atomic

    return write_file_atomic(path, encode_png(bar_chart(labels, series, title, vmax)))
