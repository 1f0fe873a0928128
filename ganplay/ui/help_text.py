"""Window texts that are not about one config field: which data fields each data set uses, the
MNIST credit and the first-run hint. (Each field's own one-line help lives with the field, in
``ganplay.engine.config``'s dataclass metadata; losses' formulas come from the engine's
DESCRIPTIONS.)"""
from __future__ import annotations

# data fields that matter for each data set (the others are hidden)
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "ring": ("modes", "radius", "std"),
    "grid": ("grid_n", "spacing", "std"),
    "two_gaussians": ("radius", "std"),
    "gaussian": ("std",),
    "blobs": ("radius", "std"),
    "line": ("noise",), "spiral": ("noise",), "moons": ("noise",), "circles": ("noise",),
    "swiss_roll": ("noise",), "checkerboard": (), "segments": ("theta",),
    "points": ("path",), "mnist": ("path", "limit"), "stacked_mnist": ("path", "limit"),
}

MNIST_CREDIT = ("MNIST database of handwritten digits: Yann LeCun, Corinna Cortes and "
                "Christopher J.C. Burges, licensed CC BY-SA 3.0.")

FIRST_RUN_HINT = ("Press Space (or Play) to train a GAN on the ring; pick a preset on the left, "
                  "e.g. 'vanilla' to watch mode collapse, then 'stable' to see the modes come back.")
