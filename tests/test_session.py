"""Sessions: save + load + continue equals training straight through, and bad files are refused."""
from __future__ import annotations

import copy
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.engine import Config, Trainer
from ganplay.engine.config import apply_overrides
from ganplay.engine.runs import History, RunError
from ganplay.engine.session import (
    STATE, TENSORS, SessionError, load_session, read_session, save_session,
)


def small(*overrides: str) -> Config:
    return apply_overrides(Config(), ["model.g_width=32", "model.d_width=32", "train.batch_size=64",
                                      "train.device=cpu", *overrides])


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class Evil:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def assert_same_state(a: Trainer, b: Trainer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["step"] == sb["step"] and sa["config"] == sb["config"]
    assert torch.equal(sa["rng"], sb["rng"])
    for net in ("G", "D", "G_ema"):
        assert (net in sa) == (net in sb)
        for k, v in sa.get(net, {}).items():
            assert torch.equal(v, sb[net][k]), f"{net}.{k} differs"
    for opt in ("opt_g", "opt_d"):
        assert sa[opt]["param_groups"] == sb[opt]["param_groups"]
        for i, st in sa[opt]["state"].items():
            for k, v in st.items():
                other = sb[opt]["state"][i][k]
                assert torch.equal(v, other) if torch.is_tensor(v) else v == other, f"{opt} {i} {k}"


@pytest.mark.parametrize("overrides", [
    ("train.opt_d=adam", "train.opt_g=adam"),
    ("train.opt_d=sgd", "train.opt_g=sgd", "train.ema=0.95"),
    ("train.opt_d=rmsprop", "train.opt_g=rmsprop", "train.momentum=0.3", "model.g_norm=batch"),
    ("loss.name=wgan-gp", "train.d_steps=2", "model.d_norm=layer", "train.ema=0.9"),
], ids=["adam", "sgd-ema", "rmsprop-batchnorm", "wgan-gp-ema"])
def test_save_load_continue_equals_straight_bit_for_bit(overrides, tmp_path):
    n, m = 7, 6
    cfg = small(*overrides)
    straight, split = Trainer(cfg), Trainer(cfg)
    hist = History()
    for _ in range(n):
        straight.step()
        hist.add(split.step().as_dict())
    path = save_session(split, hist, tmp_path / "s.gpsession")
    resumed, hist2 = load_session(path)
    assert isinstance(hist2, History) and hist2.rows == hist.rows
    assert_same_state(resumed, split)
    rows_a = [straight.step().as_dict() for _ in range(m)]
    rows_b = [resumed.step().as_dict() for _ in range(m)]
    assert rows_a == rows_b
    assert_same_state(resumed, straight)
    z = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    assert np.array_equal(resumed.generate(z), straight.generate(z))


def test_live_changes_survive_a_session(tmp_path):
    tr = Trainer(small())
    tr.step()
    tr.set("train.lr_g", "5e-4")
    tr.set("train.ema", "0.9")   # EMA switched on while training
    tr.step()
    resumed, _ = load_session(save_session(tr, None, tmp_path / "s.gpsession"))
    assert resumed.cfg.train.lr_g == 5e-4 and resumed.opt_g.param_groups[0]["lr"] == 5e-4
    assert resumed.G_ema is not None
    assert_same_state(resumed, tr)
    assert resumed.step().as_dict() == tr.step().as_dict()


def test_chart_columns_round_trip_with_dtypes(tmp_path):
    tr = Trainer(small())
    cols = {"step": np.arange(5, dtype=np.int64), "loss_d": np.array([1.0, np.nan, 0.5, np.inf, -2.0]),
            "w1": np.array([0.25], dtype=np.float32), "empty": np.zeros(0)}
    _, got = load_session(save_session(tr, cols, tmp_path / "c.gpsession"))
    assert list(got) == list(cols)
    for k, v in cols.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v, equal_nan=True)
    with pytest.raises(SessionError, match="chart column 'bad' must be a 1-D numeric array"):
        save_session(tr, {"bad": np.array(["a", "b"])}, tmp_path / "x.gpsession")


def test_history_rows_keep_none_and_nan(tmp_path):
    tr = Trainer(small())
    hist = History([{"step": 10, "loss_d": 0.5, "w1": None}, {"step": 20, "loss_d": float("nan")}])
    _, got = load_session(save_session(tr, hist, tmp_path / "h.gpsession"))
    assert got.rows[0] == hist.rows[0] and got.rows[1]["step"] == 20 and np.isnan(got.rows[1]["loss_d"])


def test_drawn_points_travel_with_the_session(tmp_path):
    pts = np.random.default_rng(1).standard_normal((40, 2)).astype(np.float32)
    tr = Trainer(small("data.name=points", "data.path=drawn"), points=pts)
    tr.step()
    resumed, _ = load_session(save_session(tr, None, tmp_path / "p.gpsession"))
    assert np.array_equal(resumed.points, pts)
    assert resumed.step().as_dict() == tr.step().as_dict()


def test_session_holds_no_pickle(tmp_path):
    path = save_session(Trainer(small("train.ema=0.5")), History(), tmp_path / "s.gpsession")
    names = zipfile.ZipFile(path).namelist()
    assert names == [STATE, TENSORS]
    doc, tensors = read_session(path)
    assert doc["format"] == "ganplay-session" and "state/G/net.0.weight" in tensors
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


# ---------------------------------------------------------------- refusing bad files
def test_malicious_pickles_are_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    raw = tmp_path / "raw.gpsession"
    raw.write_bytes(pickle.dumps(Evil(marker)))
    tsave = tmp_path / "torchsave.gpsession"
    torch.save({"G": Evil(marker)}, tsave)
    for bad in (raw, tsave):
        with pytest.raises(SessionError) as exc:
            load_session(bad)
        assert str(bad) in str(exc.value)
    assert not marker.exists()


def test_truncated_tampered_and_foreign_files_are_refused(tmp_path):
    good = save_session(Trainer(small()), History(), tmp_path / "good.gpsession")
    data = good.read_bytes()
    cut = tmp_path / "cut.gpsession"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SessionError, match="cut.gpsession.*truncated"):
        load_session(cut)

    # a tensor swapped for one of another shape
    doc, tensors = read_session(good)
    tensors = dict(tensors)
    tensors["state/G/net.0.weight"] = torch.zeros(3, 3)
    from safetensors.torch import save
    bad = tmp_path / "shape.gpsession"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(STATE, json.dumps(doc))
        zf.writestr(TENSORS, save(tensors))
    with pytest.raises(SessionError, match=r"'G.net.0.weight' is torch.float32 \(3, 3\)"):
        load_session(bad)

    # a safetensors header with garbage in it
    blob = bytearray(zipfile.ZipFile(good).read(TENSORS))
    blob[8:20] = b"\x00garbage\x00\x00\x00\x00"
    hdr = tmp_path / "header.gpsession"
    with zipfile.ZipFile(hdr, "w") as zf:
        zf.writestr(STATE, json.dumps(doc))
        zf.writestr(TENSORS, bytes(blob))
    with pytest.raises(SessionError, match="header.gpsession.*not a valid safetensors file"):
        load_session(hdr)

    foreign = tmp_path / "foreign.gpsession"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(SessionError, match="not a ganplay session"):
        load_session(foreign)

    doc2 = dict(doc, format_version=99)
    newer = tmp_path / "newer.gpsession"
    with zipfile.ZipFile(newer, "w") as zf:
        zf.writestr(STATE, json.dumps(doc2))
        zf.writestr(TENSORS, zipfile.ZipFile(good).read(TENSORS))
    with pytest.raises(SessionError, match="format version 99"):
        load_session(newer)
    with pytest.raises(RunError, match="no session file at"):
        load_session(tmp_path / "missing.gpsession")


# ---------------------------------------------------------------- writing safely
def test_unwritable_path_raises_and_loses_nothing(tmp_path, monkeypatch):
    tr = Trainer(small("train.ema=0.9"))
    tr.step()
    before = copy.deepcopy(tr.state_dict())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SessionError, match="cannot write the session '.*a-file/s.gpsession'"):
        save_session(tr, History(), blocker / "s.gpsession")

    good = save_session(tr, History(), tmp_path / "keep.gpsession")
    old = good.read_bytes()
    real_open = open

    def failing_open(file, mode="r", *a, **k):
        if "x" in mode:
            fh = real_open(file, mode, *a, **k)

            class Half:
                def write(self, data):
                    fh.write(data[:100])
                    raise OSError(28, "No space left on device")

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    fh.close()

            return Half()
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(SessionError, match="keep.gpsession.*No space left"):
        save_session(tr, History(), good)
    monkeypatch.undo()
    assert good.read_bytes() == old                       # the previous session is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "keep.gpsession"]
    after = tr.state_dict()
    assert torch.equal(after["rng"], before["rng"]) and after["step"] == before["step"]
    assert all(torch.equal(v, before["G"][k]) for k, v in after["G"].items())


def test_session_from_another_device_kind_loads_with_a_note(tmp_path):
    """A CUDA generator's RNG state (16 bytes) cannot seed a CPU generator: load, and say so."""
    from safetensors.torch import save

    tr = Trainer(small())
    tr.step()
    doc, tensors = read_session(save_session(tr, None, tmp_path / "cpu.gpsession"))
    tensors = dict(tensors, **{"state/rng": torch.zeros(16, dtype=torch.uint8)})
    doc["device"] = "cuda:0"
    other = tmp_path / "cuda.gpsession"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr(STATE, json.dumps(doc))
        zf.writestr(TENSORS, save(tensors))
    resumed, _ = load_session(other)
    assert "saved on cuda:0" in resumed.device_message and "not bit-exact" in resumed.device_message
    assert all(torch.equal(v, tr.G.state_dict()[k]) for k, v in resumed.G.state_dict().items())
    assert np.isfinite(resumed.step().loss_d)
