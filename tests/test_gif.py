"""The GIF writer (palette here, file by Pillow): decode its files with an independent minimal
decoder and with Qt's reader."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from ganplay.engine.gif import (GifError, encode_gif, fixed_palette, map_to_palette, median_cut, save_gif,
                                unique_colors)


# ---------------------------------------------------------------------------- a minimal decoder
def lzw_decode(data: bytes, min_code_size: int) -> bytes:
    clear, eoi = 1 << min_code_size, (1 << min_code_size) + 1
    base = [bytes([i]) for i in range(clear)] + [b"", b""]
    table = list(base)
    size = min_code_size + 1
    pos, out, prev = 0, bytearray(), None
    padded = data + b"\x00\x00\x00"
    while pos + size <= len(data) * 8:
        i = pos >> 3
        code = (int.from_bytes(padded[i:i + 3], "little") >> (pos & 7)) & ((1 << size) - 1)
        pos += size
        if code == clear:
            table, size, prev = list(base), min_code_size + 1, None
            continue
        if code == eoi:
            return bytes(out)
        if prev is None:
            entry = table[code]
        else:
            if code < len(table):
                entry = table[code]
                new = prev + entry[:1]
            elif code == len(table):
                entry = new = prev + prev[:1]
            else:
                raise AssertionError(f"code {code} beyond table size {len(table)}")
            if len(table) < 4096:
                table.append(new)
            if len(table) == (1 << size) and size < 12:
                size += 1
        out += entry
        prev = entry
    raise AssertionError("no end-of-information code")


def read_blocks(buf: bytes, pos: int) -> tuple[bytes, int]:
    parts = []
    while buf[pos]:
        n = buf[pos]
        parts.append(buf[pos + 1:pos + 1 + n])
        pos += n + 1
    return b"".join(parts), pos + 1


def decode_gif(buf: bytes) -> dict:
    """Composited RGB frames, delays (cs) and loop count, following the GIF89a spec."""
    assert buf[:6] == b"GIF89a"
    w, h, flags, _, _ = struct.unpack("<HHBBB", buf[6:13])
    pos = 13
    gct = None
    if flags & 0x80:
        n = 2 << (flags & 7)
        gct = np.frombuffer(buf[pos:pos + 3 * n], np.uint8).reshape(n, 3)
        pos += 3 * n
    canvas = np.zeros((h, w, 3), np.uint8)
    frames, delays, loop = [], [], None
    gce = (0, 0, None)
    while True:
        b = buf[pos]
        if b == 0x3B:
            break
        if b == 0x21:
            label = buf[pos + 1]
            if label == 0xF9:
                packed, delay, tidx = struct.unpack("<BHB", buf[pos + 3:pos + 7])
                gce = ((packed >> 2) & 7, delay, tidx if packed & 1 else None)
                pos += 8
            else:
                body, pos = read_blocks(buf, pos + 2)
                if body.startswith(b"NETSCAPE2.0"):
                    loop = struct.unpack("<H", body[-2:])[0]
            continue
        assert b == 0x2C, f"unexpected block {b:#x} at {pos}"
        x, y, fw, fh, f = struct.unpack("<HHHHB", buf[pos + 1:pos + 10])
        pos += 10
        table = gct
        if f & 0x80:
            n = 2 << (f & 7)
            table = np.frombuffer(buf[pos:pos + 3 * n], np.uint8).reshape(n, 3)
            pos += 3 * n
        min_code = buf[pos]
        data, pos = read_blocks(buf, pos + 1)
        idx = np.frombuffer(lzw_decode(data, min_code), np.uint8)
        assert len(idx) == fw * fh
        idx = idx.reshape(fh, fw)
        disposal, delay, tidx = gce
        assert disposal == 1
        region = canvas[y:y + fh, x:x + fw]
        mask = np.ones(idx.shape, bool) if tidx is None else idx != tidx
        region[mask] = table[idx[mask]]
        frames.append(canvas.copy())
        delays.append(delay)
        gce = (0, 0, None)
    return {"size": (w, h), "frames": frames, "delays": delays, "loop": loop}


# ---------------------------------------------------------------------------- fixtures
def moving_square_frames(n: int = 6, w: int = 40, h: int = 30) -> list[np.ndarray]:
    colours = np.array([[255, 255, 255], [31, 119, 180], [255, 127, 14], [44, 160, 44]], np.uint8)
    frames = []
    for i in range(n):
        f = np.empty((h, w, 3), np.uint8)
        f[:] = colours[0]
        f[5:12, 3 + 4 * i:10 + 4 * i] = colours[1]
        f[20:26, 30 - 3 * i:36 - 3 * i] = colours[2]
        f[0, i] = colours[3]
        frames.append(f)
    return frames


# ---------------------------------------------------------------------------- tests
@pytest.mark.parametrize("palette", ["global", "per-frame"])
def test_few_colours_round_trip_exactly(palette):
    frames = moving_square_frames()
    g = decode_gif(encode_gif(frames, delay_ms=100, palette=palette))
    assert g["size"] == (40, 30)
    assert g["loop"] == 0  # loops forever
    assert g["delays"] == [10] * len(frames)
    assert len(g["frames"]) == len(frames)
    for got, want in zip(g["frames"], frames):
        np.testing.assert_array_equal(got, want)


def test_later_frames_store_only_the_changed_rectangle():
    frames = moving_square_frames(n=2, w=200, h=150)
    data = encode_gif(frames)
    # the first frame's descriptor covers the screen, the second only the moved squares
    descs = [i for i in range(len(data) - 10) if data[i] == 0x2C and data[i - 1] == 0]
    sizes = [struct.unpack("<HHHH", data[i + 1:i + 9]) for i in descs]
    assert sizes[0] == (0, 0, 200, 150)
    x, y, w, h = sizes[1]
    assert w * h < 200 * 150 / 4
    np.testing.assert_array_equal(decode_gif(data)["frames"][1], frames[1])


def test_repeated_frames_keep_their_timing():
    # Pillow stores a run of identical frames as one frame shown for their total time
    f, g2 = moving_square_frames(n=2)
    g = decode_gif(encode_gif([f, g2, g2, f], delay_ms=[100, 250, 40, 70]))
    assert g["delays"] == [10, 29, 7]
    for got, want in zip(g["frames"], [f, g2, f]):
        np.testing.assert_array_equal(got, want)
    one = decode_gif(encode_gif([f, f, f], delay_ms=[100, 250, 40]))
    assert len(one["frames"]) == 1
    np.testing.assert_array_equal(one["frames"][0], f)


def test_many_colours_are_reduced_to_a_close_palette():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    base = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.float64)
    frames = [np.clip(base + rng.normal(0, 8, base.shape) + 10 * i, 0, 255).astype(np.uint8) for i in range(3)]
    assert len(unique_colors(frames)[0]) > 1000
    for palette, tol in (("global", 6.0), ("per-frame", 6.0), ("fixed", 16.0)):
        g = decode_gif(encode_gif(frames, palette=palette))
        for got, want in zip(g["frames"], frames):
            err = np.abs(got.astype(int) - want.astype(int)).mean()
            assert err < tol, (palette, err)


def test_median_cut_reaches_the_requested_size_and_is_exact_when_small():
    rng = np.random.default_rng(1)
    cols = rng.integers(0, 256, (5000, 3)).astype(np.uint8)
    cnt = rng.integers(1, 10, 5000)
    pal = median_cut(cols, cnt, 64)
    assert pal.shape == (64, 3)
    small = cols[:10]
    np.testing.assert_array_equal(median_cut(small, cnt[:10], 64), small)
    # every colour maps to itself when it is in the palette
    img = small.reshape(2, 5, 3)
    np.testing.assert_array_equal(median_cut(small, cnt[:10], 64)[map_to_palette(img, small)], img)


def test_fixed_palette_has_cube_and_greys():
    pal = fixed_palette()
    assert pal.shape == (255, 3)
    assert len(np.unique(pal, axis=0)) == 255  # no wasted duplicate entries
    greys = pal[216:]
    assert np.all(greys[:, 0] == greys[:, 1]) and np.all(greys[:, 1] == greys[:, 2])


def test_qt_reads_frames_size_and_colours(tmp_path, qapp):
    from PySide6.QtGui import QImage, QImageReader

    frames = moving_square_frames(n=5)
    path = save_gif(tmp_path / "a.gif", frames, delay_ms=120)
    reader = QImageReader(str(path))
    assert reader.format().data() == b"gif"
    assert reader.supportsAnimation()
    assert reader.loopCount() == -1  # Qt says -1 for "forever"
    got = []
    while True:
        img = reader.read()
        if img.isNull():
            break
        img = img.convertToFormat(QImage.Format.Format_RGB888)
        assert (img.width(), img.height()) == (40, 30)
        arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        got.append(arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy())
    assert len(got) == len(frames)
    for a, b in zip(got, frames):
        np.testing.assert_array_equal(a, b)


def test_bad_input_raises_clear_errors(tmp_path):
    f = moving_square_frames(n=1)[0]
    with pytest.raises(GifError, match="no frames"):
        encode_gif([])
    with pytest.raises(GifError, match="frame 1"):
        encode_gif([f, f[:10]])
    with pytest.raises(GifError, match="uint8"):
        encode_gif([f.astype(np.float32)])
    with pytest.raises(GifError, match="palette"):
        encode_gif([f], palette="rainbow")
    with pytest.raises(GifError, match="delays"):
        encode_gif([f, f], delay_ms=[100])
    with pytest.raises(OSError):
        save_gif(tmp_path / "missing" / "dir" / "a.gif", [f])
