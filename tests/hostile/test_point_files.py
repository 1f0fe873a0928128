"""2D point files (.npy, .csv) whose headers or lengths ask for more than any point set needs."""
from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.lib import format as npformat

from ganplay.cli import main
from ganplay.engine import data2d
from ganplay.engine.data2d import DataFileError, load_points
from ganplay.engine.limits import MAX_POINT_ROWS


def npy_header_only(path, shape, descr="<f8", version=(1, 0), tail=b""):
    """A .npy file whose header claims ``shape`` but holds only ``tail`` as data."""
    with open(path, "wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": shape}) \
            if version == (1, 0) else \
            npformat.write_array_header_2_0(fh, {"descr": descr, "fortran_order": False, "shape": shape})
        fh.write(tail)
    return path


def test_146_byte_npy_claiming_a_tebibyte_is_refused_from_its_header(tmp_path, capsys):
    f = npy_header_only(tmp_path / "huge.npy", (10**11, 2), tail=bytes(18))
    assert f.stat().st_size == 146
    t0 = time.perf_counter()
    with pytest.raises(DataFileError, match="claims 100,000,000,000 rows") as e:
        load_points(f)
    assert time.perf_counter() - t0 < 2.0 and str(f) in str(e.value)
    rc = main(["train", "--set", "data.name=points", "--set", f"data.path={f}", "--steps", "1",
               "-o", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "huge.npy" in err and "allocate" not in err and "Traceback" not in err


def test_npy_version_2_header_is_checked_too(tmp_path):
    f = npy_header_only(tmp_path / "v2.npy", (MAX_POINT_ROWS + 1, 2), version=(2, 0))
    with pytest.raises(DataFileError, match="at most"):
        load_points(f)


def test_npy_shorter_than_its_header_promises_is_truncated(tmp_path):
    f = npy_header_only(tmp_path / "cut.npy", (1000, 2), descr="<f4", tail=bytes(80))
    with pytest.raises(DataFileError, match="truncated.*1,000 rows"):
        load_points(f)


@pytest.mark.parametrize("shape, descr, match", [
    ((5, 3), "<f8", r"shape \(5, 3\)"),
    ((10**9,), "<f8", r"shape \(1000000000,\)"),
    ((4, 2), "|O", "numbers only"),
    ((4, 2), "<c16", "numbers only"),
])
def test_npy_of_wrong_shape_or_type_is_refused_before_reading(tmp_path, shape, descr, match):
    f = npy_header_only(tmp_path / "bad.npy", shape, descr=descr)
    with pytest.raises(DataFileError, match=match):
        load_points(f)


def test_good_npy_still_loads(tmp_path):
    pts = np.random.default_rng(0).normal(size=(100, 2))
    np.save(tmp_path / "ok.npy", pts)
    np.testing.assert_allclose(load_points(tmp_path / "ok.npy"), pts.astype(np.float32))


def test_csv_row_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(data2d, "MAX_POINT_ROWS", 100)
    f = tmp_path / "many.csv"
    f.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(101)))
    with pytest.raises(DataFileError, match="more than 100 rows") as e:
        load_points(f)
    assert str(f) in str(e.value)
    f.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(100)))
    assert load_points(f).shape == (100, 2)


def test_csv_file_size_is_bounded_before_reading(tmp_path):
    f = tmp_path / "big.csv"
    with open(f, "wb") as fh:          # a sparse 1 GiB file: refused by its size alone
        fh.truncate(1 << 30)
    t0 = time.perf_counter()
    with pytest.raises(DataFileError, match="big.csv' is 1.0 GiB"):
        load_points(f)
    assert time.perf_counter() - t0 < 2.0
