"""Animated GIF writer in numpy + pure Python (no PIL, no Qt), for "mode collapse in 10 seconds".

Frames are uint8 RGB arrays (H, W, 3), all the same size. Colours are reduced to a palette of at
most 255 entries (one index is kept for transparency), either one global palette for the whole
animation, one per frame, or a fixed 6x6x6 cube plus a grey ramp (fast, no analysis). A palette
with as few colours as the frames contain is exact: plots with flat colours survive unchanged.

Each frame after the first only stores the rectangle that changed, and inside it the pixels that
did not change are transparent; a live canvas changes little between frames, so this keeps files
small and the pure-Python LZW encoder fast.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

PALETTES = ("global", "per-frame", "fixed")
MAX_COLORS = 255  # the 256th index is the transparent one


class GifError(ValueError):
    """The frames or options cannot make a GIF (wrong shape, dtype, size or option)."""


# ---------------------------------------------------------------------------------- palettes
def fixed_palette() -> np.ndarray:
    """The web-safe 6x6x6 cube plus 39 greys between its levels: (255, 3) uint8."""
    lv = np.arange(6, dtype=np.uint8) * 51
    cube = np.stack(np.meshgrid(lv, lv, lv, indexing="ij"), -1).reshape(-1, 3)
    greys = [g for g in np.round(np.linspace(0, 255, 47)).astype(int) if g % 51][:MAX_COLORS - len(cube)]
    grey = np.repeat(np.asarray(greys, np.uint8)[:, None], 3, axis=1)
    return np.concatenate([cube, grey]).astype(np.uint8)


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.reshape(-1, 3).astype(np.uint32)
    return (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def _unpack(packed: np.ndarray) -> np.ndarray:
    return np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], -1).astype(np.uint8)


def unique_colors(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of ``frames`` and how many pixels have each: ((U, 3) uint8, (U,) int64)."""
    keys, counts = [], []
    for f in frames:
        k, c = np.unique(_pack(f), return_counts=True)
        keys.append(k)
        counts.append(c)
    allk = np.concatenate(keys)
    allc = np.concatenate(counts)
    u, inv = np.unique(allk, return_inverse=True)
    total = np.bincount(inv.ravel(), weights=allc, minlength=len(u)).astype(np.int64)
    return _unpack(u), total


def median_cut(colors: np.ndarray, counts: np.ndarray, n_colors: int = MAX_COLORS) -> np.ndarray:
    """A palette of at most ``n_colors`` for the weighted colours, by median cut.

    The box with the largest squared error is split along its widest channel at its weighted
    median, until there are ``n_colors`` boxes; each palette entry is its box's weighted mean.
    With no more distinct colours than ``n_colors`` the colours themselves are returned.
    """
    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    w = np.asarray(counts, np.float64).reshape(-1)
    if len(colors) <= n_colors:
        return colors.copy()
    c = colors.astype(np.float64)

    def sse(idx: np.ndarray) -> float:
        if len(idx) < 2:
            return -1.0
        wi = w[idx]
        mean = (c[idx] * wi[:, None]).sum(0) / wi.sum()
        return float((((c[idx] - mean) ** 2).sum(1) * wi).sum())

    boxes = [np.arange(len(c))]
    scores = [sse(boxes[0])]
    while len(boxes) < n_colors:
        i = int(np.argmax(scores))
        if scores[i] <= 0:
            break  # every box is a single colour (or has no spread)
        idx = boxes[i]
        ci = c[idx]
        ch = int(np.argmax(ci.max(0) - ci.min(0)))
        order = idx[np.argsort(ci[:, ch], kind="stable")]
        cum = np.cumsum(w[order])
        cut = int(np.searchsorted(cum, cum[-1] / 2))
        cut = min(max(cut, 1), len(order) - 1)  # both halves non-empty
        a, b = order[:cut], order[cut:]
        boxes[i], scores[i] = a, sse(a)
        boxes.append(b)
        scores.append(sse(b))
    pal = [(c[idx] * w[idx][:, None]).sum(0) / w[idx].sum() for idx in boxes]
    return np.clip(np.round(np.asarray(pal)), 0, 255).astype(np.uint8)


def map_to_palette(frame: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour for every pixel: (H, W) uint8."""
    h, w = frame.shape[:2]
    u, inv = np.unique(_pack(frame), return_inverse=True)
    uc = _unpack(u).astype(np.int32)
    pal = np.asarray(palette, np.int32)
    nearest = np.empty(len(uc), np.uint8)
    for s in range(0, len(uc), 4096):  # bounded memory: 4096 x 255 distances at a time
        d = ((uc[s:s + 4096, None, :] - pal[None]) ** 2).sum(-1)
        nearest[s:s + 4096] = np.argmin(d, axis=1)
    return nearest[inv.ravel()].reshape(h, w)


# ---------------------------------------------------------------------------------- LZW
def lzw_encode(indices: bytes | np.ndarray, min_code_size: int) -> bytes:
    """GIF-flavoured variable-width LZW of a stream of palette indices (< 2**min_code_size)."""
    data = bytes(np.asarray(indices, np.uint8).ravel()) if not isinstance(indices, bytes) else indices
    clear = 1 << min_code_size
    eoi = clear + 1
    out = bytearray()
    acc = nbits = 0
    size = min_code_size + 1
    table: dict[int, int] = {}
    nxt = eoi + 1
    acc |= clear << nbits
    nbits += size
    if not data:
        acc |= eoi << nbits
        nbits += size
    else:
        prefix = data[0]
        get = table.get
        for b in data[1:]:
            key = (prefix << 8) | b
            code = get(key)
            if code is not None:
                prefix = code
                continue
            acc |= prefix << nbits
            nbits += size
            while nbits >= 8:
                out.append(acc & 255)
                acc >>= 8
                nbits -= 8
            table[key] = nxt
            nxt += 1
            if nxt - 1 == (1 << size) and size < 12:
                size += 1
            if nxt == 4096:  # table full: start over (the decoder resets on the clear code)
                acc |= clear << nbits
                nbits += size
                table.clear()
                get = table.get
                size = min_code_size + 1
                nxt = eoi + 1
            prefix = b
        acc |= prefix << nbits
        nbits += size
        acc |= eoi << nbits
        nbits += size
    while nbits > 0:
        out.append(acc & 255)
        acc >>= 8
        nbits -= 8
    return bytes(out)


def _sub_blocks(data: bytes) -> bytes:
    parts = [bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255)]
    return b"".join(parts) + b"\x00"


def _table_bits(n_entries: int) -> int:
    """Bits per index for a colour table holding ``n_entries`` (GIF tables have 2..256 entries)."""
    return max(1, int(np.ceil(np.log2(max(2, n_entries)))))


def _color_table(palette: np.ndarray, bits: int) -> bytes:
    table = np.zeros((1 << bits, 3), np.uint8)
    table[:len(palette)] = palette
    return table.tobytes()


# ---------------------------------------------------------------------------------- the file
def _check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(frames) == 0:
        raise GifError("no frames to write")
    out = []
    shape = None
    for i, f in enumerate(frames):
        a = np.asarray(f)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise GifError(f"frame {i} must be a uint8 (H, W, 3) RGB array, got {a.dtype} {a.shape}")
        if shape is None:
            shape = a.shape
        elif a.shape != shape:
            raise GifError(f"frame {i} is {a.shape[1]}x{a.shape[0]}, the first frame is {shape[1]}x{shape[0]}")
        out.append(np.ascontiguousarray(a))
    h, w = shape[:2]
    if not (0 < w < 65536 and 0 < h < 65536):
        raise GifError(f"a GIF frame must be between 1 and 65535 pixels on a side, got {w}x{h}")
    return out


def _delays_cs(delay_ms: int | Sequence[int], n: int) -> list[int]:
    ds = [delay_ms] * n if isinstance(delay_ms, (int, float, np.integer)) else list(delay_ms)
    if len(ds) != n:
        raise GifError(f"{len(ds)} delays given for {n} frames")
    # GIF counts hundredths of a second; viewers slow anything under 2 cs down to 10 cs
    return [int(min(65535, max(2, round(float(d) / 10)))) for d in ds]


def encode_gif(frames: Sequence[np.ndarray], delay_ms: int | Sequence[int] = 100, *, loop: int = 0,
               palette: str = "global", n_colors: int = MAX_COLORS,
               progress: Callable[[int, int], None] | None = None) -> bytes:
    """GIF89a bytes of an animation.

    ``delay_ms``: one delay for all frames or one per frame (stored in hundredths of a second,
    at least 20 ms). ``loop``: 0 loops forever, n plays n+1 times in most viewers; None adds no
    loop block (plays once). ``palette``: 'global', 'per-frame' or 'fixed' (see module doc).
    ``progress(done, total)`` is called after each frame (encoding is pure Python; a long
    recording takes seconds, so a caller may run this in a worker thread and show progress).
    """
    if palette not in PALETTES:
        raise GifError(f"palette must be one of {', '.join(PALETTES)}, got '{palette}'")
    if not 2 <= n_colors <= MAX_COLORS:
        raise GifError(f"n_colors must be between 2 and {MAX_COLORS}, got {n_colors}")
    frames = _check_frames(frames)
    n = len(frames)
    delays = _delays_cs(delay_ms, n)
    h, w = frames[0].shape[:2]

    global_pal = None
    if palette == "fixed":
        global_pal = fixed_palette()
    elif palette == "global":
        global_pal = median_cut(*unique_colors(frames), n_colors=n_colors)

    out = bytearray(b"GIF89a")
    if global_pal is not None:
        gbits = _table_bits(len(global_pal) + 1)  # + the transparent index
        out += struct.pack("<HHBBB", w, h, 0x80 | 0x70 | (gbits - 1), 0, 0)
        out += _color_table(global_pal, gbits)
    else:
        out += struct.pack("<HHBBB", w, h, 0x70, 0, 0)
    if loop is not None:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", int(loop)) + b"\x00"

    shown: np.ndarray | None = None  # what a viewer displays after the previous frame
    for i, frame in enumerate(frames):
        pal = global_pal if global_pal is not None else median_cut(*unique_colors([frame]), n_colors=n_colors)
        bits = _table_bits(len(pal) + 1)
        transparent = len(pal)
        idx = map_to_palette(frame, pal)
        rgb = pal[idx]
        if shown is None:
            x0, y0, x1, y1 = 0, 0, w, h
            sub = idx
            use_transparency = False
        else:
            changed = np.any(rgb != shown, axis=2)
            rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
            if len(rows) == 0:  # nothing moved: one transparent pixel keeps the frame's timing
                x0, y0, x1, y1 = 0, 0, 1, 1
            else:
                y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            sub = np.where(changed[y0:y1, x0:x1], idx[y0:y1, x0:x1], np.uint8(transparent))
            use_transparency = True
        shown = rgb
        # graphic control: disposal 1 (leave the frame in place), delay, transparent index
        packed = (1 << 2) | (1 if use_transparency else 0)
        out += b"\x21\xf9\x04" + struct.pack("<BHB", packed, delays[i], transparent if use_transparency else 0) + b"\x00"
        local = global_pal is None
        out += b"\x2c" + struct.pack("<HHHHB", int(x0), int(y0), int(x1 - x0), int(y1 - y0),
                                     (0x80 | (bits - 1)) if local else 0)
        if local:
            out += _color_table(pal, bits)
        min_code = max(2, bits)
        out += bytes([min_code]) + _sub_blocks(lzw_encode(np.ascontiguousarray(sub).tobytes(), min_code))
        if progress is not None:
            progress(i + 1, n)
    out += b"\x3b"
    return bytes(out)


def save_gif(path: str | Path, frames: Sequence[np.ndarray], delay_ms: int | Sequence[int] = 100, *,
             loop: int = 0, palette: str = "global", n_colors: int = MAX_COLORS,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Write an animated GIF (see ``encode_gif``); OSError if the file cannot be written."""
    data = encode_gif(frames, delay_ms, loop=loop, palette=palette, n_colors=n_colors, progress=progress)
    p = Path(path)
    p.write_bytes(data)
    return p
