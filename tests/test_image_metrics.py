"""Image metrics checked on real digits against themselves, on obvious failures, and on Stacked
MNIST mode counting; plus the PNG grid writer and evaluation of a trainer and a snapshot."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganplay.assets import asset_path
from ganplay.engine import image_metrics as M
from ganplay.engine.config import Config, DataConfig
from ganplay.engine.mnist import make_image_dataset
from ganplay.engine.png import encode_png, image_grid, save_png_grid
from ganplay.engine.snapshot import snapshot_generator
from ganplay.engine.trainer import Trainer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def mnist():
    return make_image_dataset(DataConfig(name="mnist"))


def test_weights_are_small_and_safetensors():
    p = asset_path(M.WEIGHTS_NAME)
    assert p.suffix == ".safetensors" and p.stat().st_size < 400_000


def test_classifier_reads_real_digits(mnist):
    x, y = mnist.real_numpy(600, seed=3)
    probs = M.classify(x)
    assert probs.shape == (600, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert (probs.argmax(1) == y).mean() > 0.97
    # flat input and (N, 28, 28) input give the same answer
    np.testing.assert_allclose(M.classify(x.reshape(600, -1)[:10]), probs[:10], atol=1e-6)
    assert M.features(x[:7]).shape == (7, M.FEATURE_DIM)


def test_score_bounds():
    eye = np.eye(10)
    assert M.mnist_score(np.tile(eye, (5, 1))) == pytest.approx(10.0, rel=1e-6)   # sure and balanced
    assert M.mnist_score(np.tile(eye[3], (50, 1))) == pytest.approx(1.0, abs=1e-6)  # one class only
    assert M.mnist_score(np.full((20, 10), 0.1)) == pytest.approx(1.0, abs=1e-6)    # unsure


def test_real_vs_real(mnist):
    a, _ = mnist.real_numpy(600, seed=1)
    b, _ = mnist.real_numpy(600, seed=2)
    fa, fb = M.features(a), M.features(b)
    fd_real = M.frechet_distance(*M.feature_stats(fa), *M.feature_stats(fb))
    noise = np.random.default_rng(0).uniform(-1, 1, a.shape).astype(np.float32)
    fd_noise = M.frechet_distance(*M.feature_stats(fa), *M.feature_stats(M.features(noise)))
    assert fd_real < 0.02 * fd_noise
    assert M.frechet_distance(*M.feature_stats(fa), *M.feature_stats(fa)) == pytest.approx(0.0, abs=1e-6 * fd_noise)
    p, r = M.precision_recall(fa, fb, k=3)
    assert p > 0.8 and r > 0.8
    pn, rn = M.precision_recall(fa, M.features(noise), k=3)
    assert pn < 0.05
    sa, sb = M.mnist_score(M.classify(a)), M.mnist_score(M.classify(b))
    assert sa > 9.0 and abs(sa - sb) < 0.3


def test_collapse_shows_in_histogram_and_recall(mnist):
    x, y = mnist.real_numpy(1000, seed=4)
    only_ones = x[y == 1][:100]
    hist = M.class_histogram(M.classify(only_ones))
    assert hist.argmax() == 1 and hist.sum() == len(only_ones) and (hist > 0).sum() <= 3
    assert M.mnist_score(M.classify(only_ones)) < 1.5
    p, r = M.precision_recall(M.features(x[:500]), M.features(only_ones), k=3)
    assert p > 0.8 and r < 0.3


def test_stacked_modes_counting():
    d = make_image_dataset(DataConfig(name="stacked_mnist"))
    x, y = d.real_numpy(400, seed=0)
    modes = M.stacked_modes(x)
    assert modes.shape == (400,) and (modes == y).mean() > 0.9
    cov = M.mode_coverage(y, 1000)
    assert cov["modes_covered"] == len(np.unique(y))
    one = M.mode_coverage(np.full(50, 123), 1000)
    assert one["modes_covered"] == 1 and one["kl_uniform"] == pytest.approx(np.log(1000))
    assert M.mode_coverage(np.arange(1000), 1000)["kl_uniform"] == pytest.approx(0.0, abs=1e-12)


def small_cfg(**kw) -> Config:
    cfg = Config()
    cfg.data.name = kw.pop("name", "mnist")
    cfg.data.limit = 400
    cfg.model.arch = "dcgan"
    cfg.model.latent_dim = 8
    cfg.model.g_width = 16
    cfg.model.d_width = 16
    cfg.train.batch_size = 16
    cfg.train.device = "cpu"
    cfg.model.conditional = kw.pop("conditional", False)
    return cfg


def test_evaluate_trainer_and_snapshot():
    t = Trainer(small_cfg())
    t.step()
    m = M.evaluate_images(t, n=150)
    for key in ("mnist_score", "fid", "precision", "recall", "classes_covered", "class_hist", "real_score"):
        assert key in m
    assert 1.0 <= m["mnist_score"] <= 10.0 and m["fid"] > 0 and m["class_hist"].sum() == 150
    assert m["real_score"] > 8.0
    # the snapshot of the same generator, with the data passed in, measures the same numbers
    m2 = M.evaluate_images(snapshot_generator(t), n=150, data=t.data)
    assert m2["fid"] == pytest.approx(m["fid"], rel=1e-3)
    # the real statistics are computed once per data set
    assert len(t.data.reference_cache) == 1


def test_evaluate_conditional_and_stacked():
    t = Trainer(small_cfg(conditional=True))
    t.step()
    m = M.evaluate_images(t, n=100)
    assert 0.0 <= m["label_accuracy"] <= 1.0
    ts = Trainer(small_cfg(name="stacked_mnist"))
    ts.step()
    ms = M.evaluate_images(ts, n=100)
    assert ms["modes_total"] == 1000 and 1 <= ms["modes_covered"] <= 100
    assert ms["mode_counts"].sum() == 100 and ms["kl_uniform"] >= 0


def _decode_png(data: bytes) -> np.ndarray:
    """(H, W, C) of a PNG: the writer's arrays in and out, through the file."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        a = np.asarray(im)
    return a[:, :, None] if a.ndim == 2 else a


def test_png_grid_round_trip(tmp_path, mnist):
    x, _ = mnist.real_numpy(10, seed=0)
    grid = image_grid(x, nrow=4, pad=2)
    assert grid.shape == (3 * 30 + 2, 4 * 30 + 2) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[2:30, 2:30], np.round((x[0, 0] + 1) * 127.5).astype(np.uint8))
    p = save_png_grid(x, tmp_path / "g.png", nrow=4)
    np.testing.assert_array_equal(_decode_png(p.read_bytes())[:, :, 0], grid)
    rgb = image_grid(np.zeros((2, 3, 28, 28), np.float32), nrow=2)
    assert rgb.shape[2] == 3 and _decode_png(encode_png(rgb)).shape == rgb.shape
