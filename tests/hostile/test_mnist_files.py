"""MNIST IDX files that are empty, claim gigabytes, or inflate past what they promise."""
from __future__ import annotations

import gzip
import io
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from ganplay.cli import main
from ganplay.engine.data2d import DataFileError
from ganplay.engine.limits import MAX_IDX_ITEMS, MNIST_TRAIN_IMAGES
from ganplay.engine.mnist import IMAGES_MAGIC, LABELS_MAGIC, load_mnist, read_idx


def empty_pair(folder: Path) -> Path:
    (folder / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", IMAGES_MAGIC, 0, 28, 28))
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", LABELS_MAGIC, 0))
    return folder


def test_empty_idx_pair_is_a_clear_cli_error(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    data = empty_pair(tmp_path / "data")
    run = tmp_path / "run"
    rc = main(["train", "--set", "data.name=mnist", "--set", f"data.path={data}", "--steps", "5",
               "-o", str(run), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and "reshape" not in err
    assert "train-images-idx3-ubyte" in err and "no images" in err


def test_empty_idx_pair_is_refused_by_the_loader(tmp_path):
    with pytest.raises(DataFileError, match="holds no images") as e:
        load_mnist(empty_pair(tmp_path))
    assert str(tmp_path / "train-images-idx3-ubyte") in str(e.value)


def test_gz_whose_header_claims_a_billion_images_is_refused_before_inflating(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(struct.pack(">IIII", IMAGES_MAGIC, 10**9, 28, 28) + bytes(4096)))
    t0 = time.perf_counter()
    with pytest.raises(DataFileError, match="claims 1,000,000,000 images") as e:
        read_idx(f, IMAGES_MAGIC)
    assert time.perf_counter() - t0 < 2.0
    assert str(f) in str(e.value) and f"{MAX_IDX_ITEMS:,}" in str(e.value)


def test_labels_header_over_the_limit_is_refused(tmp_path):
    f = tmp_path / "train-labels-idx1-ubyte"
    f.write_bytes(struct.pack(">II", LABELS_MAGIC, MAX_IDX_ITEMS + 1) + bytes(100))
    with pytest.raises(DataFileError, match="claims 300,001 labels"):
        read_idx(f, LABELS_MAGIC)


def test_limit_is_five_mnist_training_sets():
    assert MAX_IDX_ITEMS == 5 * MNIST_TRAIN_IMAGES == 300_000


def test_gzip_bomb_that_inflates_past_its_header_stops_reading(tmp_path):
    """10 images promised, 64 MiB of zeros inside (a 64 KiB file): refused after 7,841 bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as gz:
        gz.write(struct.pack(">IIII", IMAGES_MAGIC, 10, 28, 28))
        block = bytes(1 << 20)
        for _ in range(64):
            gz.write(block)
    f = tmp_path / "bomb-images-idx3-ubyte.gz"
    f.write_bytes(buf.getvalue())
    assert f.stat().st_size < 1 << 20
    with pytest.raises(DataFileError, match="more than the 7840 bytes its header promises") as e:
        read_idx(f, IMAGES_MAGIC)
    assert str(f) in str(e.value)


def test_raw_file_with_trailing_data_is_refused(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte"
    x = np.zeros((3, 28, 28), np.uint8)
    f.write_bytes(struct.pack(">IIII", IMAGES_MAGIC, 3, 28, 28) + x.tobytes() + b"garbage")
    with pytest.raises(DataFileError, match="trailing data"):
        read_idx(f, IMAGES_MAGIC)


def test_wrong_image_size_is_refused_from_the_header(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(struct.pack(">IIII", IMAGES_MAGIC, 10**6, 1000, 1000)))
    with pytest.raises(DataFileError, match="1000x1000 images; 28x28 expected"):
        read_idx(f, IMAGES_MAGIC)
