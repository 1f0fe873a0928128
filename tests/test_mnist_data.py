"""MNIST loaders: the shipped digits, user folders (gz and raw), and clear errors for bad files."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.assets import asset_path
from ganplay.engine.config import Config, DataConfig
from ganplay.engine.data import make_data
from ganplay.engine.data2d import DataFileError
from ganplay.engine.mnist import (IMAGES_MAGIC, LABELS_MAGIC, find_mnist_files, load_mnist,
                                  make_image_dataset, read_idx)


def idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.astype(np.uint8).tobytes()


def write_set(folder: Path, n: int = 50, gz: bool = True, prefix: str = "train") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    for name, arr, magic in ((f"{prefix}-images-idx3-ubyte", x, IMAGES_MAGIC), (f"{prefix}-labels-idx1-ubyte", y, LABELS_MAGIC)):
        data = idx_bytes(arr, magic)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return x, y


def test_shipped_assets_load():
    x, y = load_mnist(None)
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))
    assert asset_path("mnist").is_dir()


@pytest.mark.parametrize("gz", [True, False])
def test_folder_gz_and_raw(tmp_path, gz):
    x, y = write_set(tmp_path, 40, gz=gz)
    xl, yl = load_mnist(tmp_path)
    np.testing.assert_array_equal(xl, x)
    np.testing.assert_array_equal(yl, y)


def test_limit_and_progress(tmp_path):
    write_set(tmp_path, 60)
    seen = []
    x, y = load_mnist(tmp_path, limit=25, progress=lambda f, msg: seen.append((f, msg)))
    assert len(x) == 25 and len(y) == 25
    assert seen and seen[-1][0] == pytest.approx(1.0) and "labels" in seen[-1][1]


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)            # empty folder: says which names it expects
    write_set(tmp_path, 10)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError, match="train-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def test_truncated_files_name_the_file(tmp_path):
    write_set(tmp_path, 30, gz=False)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:5000])
    with pytest.raises(DataFileError, match="truncated") as e:
        load_mnist(tmp_path)
    assert str(f) in str(e.value)
    # a cut gzip stream
    g = tmp_path / "t.gz"
    g.write_bytes(gzip.compress(idx_bytes(np.random.default_rng(1).integers(0, 256, (30, 28, 28)), IMAGES_MAGIC))[:3000])
    with pytest.raises(DataFileError, match="t.gz"):
        read_idx(g, IMAGES_MAGIC)


def test_wrong_magic_names_the_file(tmp_path):
    write_set(tmp_path, 10)
    lab = tmp_path / "train-labels-idx1-ubyte.gz"
    img = tmp_path / "train-images-idx3-ubyte.gz"
    img.write_bytes(lab.read_bytes())   # labels where the images should be
    with pytest.raises(DataFileError, match="magic number 2049") as e:
        load_mnist(tmp_path)
    assert str(img) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_mismatched_counts(tmp_path):
    write_set(tmp_path, 10)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(7), LABELS_MAGIC)))
    with pytest.raises(DataFileError, match="7 labels"):
        load_mnist(tmp_path)


def test_find_prefers_train_split(tmp_path):
    write_set(tmp_path, 10, prefix="t10k")
    assert find_mnist_files(tmp_path)[0].name.startswith("t10k")
    write_set(tmp_path, 10, prefix="train", gz=False)
    assert find_mnist_files(tmp_path)[0].name == "train-images-idx3-ubyte"


def test_dataset_contract():
    d = make_data(DataConfig(name="mnist", limit=300))
    assert (d.dim, d.n_classes, d.image_shape, len(d)) == (784, 10, (1, 28, 28), 300)
    assert d.bounds is None and d.centers is None and d.name == "mnist"
    g = torch.Generator().manual_seed(0)
    x, y = d.sample_labeled(64, g, "cpu")
    assert x.shape == (64, 784) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    # the same generator state gives the same batch
    x2 = d.sample(64, torch.Generator().manual_seed(0), "cpu")
    assert torch.equal(x, x2)
    # label matches the image it came with
    imgs = torch.from_numpy(d.images.reshape(300, -1)).float() / 127.5 - 1
    i = int(((imgs[None] - x[:1, None]).abs().sum(-1)).argmin())
    assert int(d.labels[i]) == int(y[0])


def test_stacked_dataset_labels():
    d = make_image_dataset(DataConfig(name="stacked_mnist", limit=300))
    assert (d.dim, d.n_classes, d.image_shape) == (3 * 784, 1000, (3, 28, 28))
    x, y = d.sample_labeled(200, torch.Generator().manual_seed(1), "cpu")
    assert x.shape == (200, 2352) and int(y.max()) < 1000
    imgs = torch.from_numpy(d.images.reshape(300, -1)).float() / 127.5 - 1
    digits = []
    for c in range(3):
        ch = x[:5, c * 784:(c + 1) * 784]
        idx = ((imgs[None] - ch[:, None]).abs().sum(-1)).argmin(1)
        digits.append(torch.from_numpy(d.labels[idx.numpy()].astype(np.int64)))
    assert torch.equal(digits[0] * 100 + digits[1] * 10 + digits[2], y[:5])
    # many distinct modes: the three channels are independent digits
    assert len(torch.unique(y)) > 150


def test_config_path_used(tmp_path):
    write_set(tmp_path, 33)
    cfg = Config()
    cfg.data.name = "mnist"
    cfg.data.path = str(tmp_path)
    d = make_image_dataset(cfg.data)
    assert len(d) == 33 and d.source == str(tmp_path)


def test_asset_path_bundle_and_missing(tmp_path, monkeypatch):
    import sys

    (tmp_path / "assets" / "mnist").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert asset_path("mnist") == tmp_path / "assets" / "mnist"   # a PyInstaller bundle wins
    with pytest.raises(FileNotFoundError, match="no_such_asset"):
        asset_path("no_such_asset")
