import numpy as np
import pytest
import torch

from ganplay.engine.config import DATASETS_2D, DataConfig
from ganplay.engine.data2d import DataFileError, load_points, make_dataset, ring_centers


def test_ring_modes_are_evenly_spaced_without_duplicate():
    c = ring_centers(8, 1.0)
    ang = np.sort(np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi))
    assert np.allclose(ang, 2 * np.pi * np.arange(8) / 8)
    d = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(8)
    assert d.min() > 0.7  # no two centres coincide (0 and 2*pi would)


def test_grid_centres_match_protocol():
    ds = make_dataset(DataConfig(name="grid", grid_n=5, spacing=2.0, std=0.05))
    assert sorted(set(ds.centers[:, 0])) == [-4, -2, 0, 2, 4]
    assert ds.n_modes == 25


@pytest.mark.parametrize("name", [n for n in DATASETS_2D if n != "points"])
def test_every_dataset_samples_finite_points(name):
    ds = make_dataset(DataConfig(name=name))
    g = torch.Generator().manual_seed(0)
    x = ds.sample(500, g)
    assert x.shape == (500, 2) and torch.isfinite(x).all()
    x0, x1, y0, y1 = ds.bounds
    inside = ((x[:, 0] > x0) & (x[:, 0] < x1) & (x[:, 1] > y0) & (x[:, 1] < y1)).float().mean()
    assert inside > 0.95


@pytest.mark.parametrize("name", ["ring", "grid", "two_gaussians", "gaussian", "blobs", "line", "checkerboard"])
def test_exact_densities_integrate_to_one(name):
    cfg = DataConfig(name=name, std=0.2, noise=0.1)
    ds = make_dataset(cfg)
    x0, x1, y0, y1 = ds.bounds
    xs, ys = np.linspace(x0, x1, 400), np.linspace(y0, y1, 400)
    xx, yy = np.meshgrid(xs, ys)
    p = ds.density(np.stack([xx.ravel(), yy.ravel()], 1))
    mass = p.sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert mass == pytest.approx(1.0, abs=0.02)


def test_segments_are_uniform_on_theta_line():
    ds = make_dataset(DataConfig(name="segments", theta=0.7))
    x = ds.sample_numpy(1000)
    assert np.allclose(x[:, 0], 0.7) and 0 <= x[:, 1].min() and x[:, 1].max() <= 1


def test_points_from_csv_and_npy(tmp_path):
    pts = np.random.default_rng(0).normal(size=(50, 2))
    np.savetxt(tmp_path / "p.csv", pts, delimiter=",", header="x,y", comments="")
    np.save(tmp_path / "p.npy", pts)
    assert np.allclose(load_points(tmp_path / "p.csv"), pts, atol=1e-6)
    assert np.allclose(load_points(tmp_path / "p.npy"), pts, atol=1e-6)
    ds = make_dataset(DataConfig(name="points", path=str(tmp_path / "p.npy")))
    assert ds.sample(10, torch.Generator().manual_seed(0)).shape == (10, 2)


@pytest.mark.parametrize("content, needle", [
    ("1,2,3\n4,5,6\n", "shape"),
    ("1,2\nnan,3\n", "NaN"),
    ("", "empty"),
    ("a,b\nc,d\n", "read"),
])
def test_bad_csv_errors_name_the_file(tmp_path, content, needle):
    f = tmp_path / "bad_points.csv"
    f.write_text(content)
    with pytest.raises(DataFileError, match=needle) as e:
        load_points(f)
    assert "bad_points.csv" in str(e.value)


def test_bad_npy_and_missing_files(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((4, 3)))
    with pytest.raises(DataFileError, match="w.npy"):
        load_points(tmp_path / "w.npy")
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataFileError, match="corrupt.npy"):
        load_points(tmp_path / "corrupt.npy")
    with pytest.raises(DataFileError, match="nothere.csv"):
        load_points(tmp_path / "nothere.csv")
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(DataFileError, match="x.json"):
        load_points(tmp_path / "x.json")
