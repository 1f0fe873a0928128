import math

import numpy as np
import pytest

from ganplay.engine.config import DataConfig
from ganplay.engine.data2d import make_dataset
from ganplay.engine.metrics import energy_distance, mode_metrics, optimal_discriminator, w1_distance


def test_perfect_samples_cover_every_mode():
    ds = make_dataset(DataConfig(name="ring", std=0.01, radius=1.0))
    m = mode_metrics(ds.sample_numpy(2500), ds.centers, ds.std)
    assert m["modes_covered"] == 8
    assert m["hq_fraction"] > 0.98  # 3 sigma in 2D keeps ~98.9%
    assert m["reverse_kl"] < 0.01


def test_collapsed_samples():
    ds = make_dataset(DataConfig(name="grid", std=0.05))
    fake = np.tile(ds.centers[3], (2500, 1)) + 0.01
    m = mode_metrics(fake, ds.centers, ds.std)
    assert m["modes_covered"] == 1 and m["hq_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(25))
    far = np.full((100, 2), 50.0)
    assert mode_metrics(far, ds.centers, ds.std)["modes_covered"] == 0


def test_w1_of_parallel_segments_is_theta():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=800)
    a = np.stack([np.zeros(800), y], 1)
    for theta in (0.25, 1.0):
        b = np.stack([np.full(800, theta), y], 1)
        assert w1_distance(a, b) == pytest.approx(theta, rel=1e-6)


def test_energy_distance_separates():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 2)), rng.normal(size=(600, 2))
    assert abs(energy_distance(a, b)) < 0.05
    assert energy_distance(a, b + 2.0) > 1.0


def test_optimal_discriminator_formula():
    d = optimal_discriminator(np.array([1.0, 0.0, 2.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.0]))
    assert np.allclose(d, [0.5, 0.0, 1.0, 0.5])
