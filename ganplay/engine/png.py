"""Images to PNG: the one image-grid helper (``tile``) and PNG files through Pillow."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f"cannot write a PNG of shape {img.shape}")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def tile(images: np.ndarray, nrow: int = 8, pad: int = 2, pad_value: float = -1.0, border: bool = True,
         image_shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """Tile images into one float32 picture (C, H, W), ``nrow`` images per row, row 0 at the top,
    ``pad`` pixels between them (and around them with ``border``). The one tiling function: PNG
    grids (``image_grid``) and the window's sample grid (``ui.canvas.tile_images``) use it.

    ``images`` is (N, C, H, W), (N, H, W) or flat (N, C*H*W) with ``image_shape`` given
    (flat 784 defaults to one 28x28 channel).
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 2:
        if image_shape is None:
            side = int(round(np.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError("flat images need image_shape")
            image_shape = (1, side, side)
        x = x.reshape((len(x),) + tuple(image_shape))
    if x.ndim == 3:
        x = x[:, None]
    n, c, h, w = x.shape
    ncol = max(1, min(nrow, n))
    nrows = -(-n // ncol)
    edge = pad if border else 0
    grid = np.full((c, nrows * (h + pad) - pad + 2 * edge, ncol * (w + pad) - pad + 2 * edge), pad_value, np.float32)
    for i in range(n):
        r, q = divmod(i, ncol)
        y0, x0 = edge + r * (h + pad), edge + q * (w + pad)
        grid[:, y0:y0 + h, x0:x0 + w] = x[i]
    return grid


def image_grid(images: np.ndarray, nrow: int = 8, pad: int = 2, pad_value: float = -1.0,
               image_shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """Tile images in [-1, 1] into one uint8 picture (H, W) or (H, W, 3), ``nrow`` images per row."""
    grid = tile(images, nrow, pad, pad_value, border=True, image_shape=image_shape)
    c = grid.shape[0]
    if c not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got {c}")
    out = np.clip((grid + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_png_grid(images: np.ndarray, path: str | Path, nrow: int = 8, scale: int = 1,
                  image_shape: tuple[int, int, int] | None = None) -> Path:
    """Write images in [-1, 1] as one PNG grid; ``scale`` repeats pixels for a bigger picture."""
    grid = image_grid(images, nrow=nrow, image_shape=image_shape)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    p = Path(path)
    p.write_bytes(encode_png(grid))
    return p
