"""Sessions and bundles whose members are far larger than the networks their config describes.

The oversized members are zeros, deflated (64 MiB in ~64 KiB), so the archives stay small; the
check must come from the zip's directory (or the folder's file sizes) before any member data is
read, whatever the member's checksum says.
"""
from __future__ import annotations

import hashlib
import json
import time
import zipfile

import pytest
import torch

from ganplay.engine import Config, Trainer
from ganplay.engine.config import apply_overrides
from ganplay.engine.export import (
    CONFIG,
    ONNX,
    PT2,
    WEIGHTS,
    BundleError,
    export_bundle,
    load_bundle,
    member_limits,
    read_bundle_info,
)
from ganplay.engine.limits import MEMBER_MARGIN, network_bytes
from ganplay.engine.runs import History
from ganplay.engine.session import STATE, TENSORS, SessionError, load_session, save_session, tensor_limit

BIG = 64 << 20   # far above what a 32-wide MLP GAN needs (a few hundred KiB + the margin)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def small_trainer() -> Trainer:
    cfg = apply_overrides(Config(), ["model.g_width=32", "model.d_width=32", "train.batch_size=64",
                                     "train.device=cpu", "train.ema=0.9"])
    tr = Trainer(cfg)
    tr.step()
    return tr


def write_zeros(zf: zipfile.ZipFile, name: str, size: int) -> str:
    """A deflated member of ``size`` zero bytes, streamed; returns its SHA-256."""
    h = hashlib.sha256()
    block = bytes(1 << 20)
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as fh:
        for _ in range(size // len(block)):
            fh.write(block)
            h.update(block)
    return h.hexdigest()


class OpenSpy:
    """Records which members are opened for reading."""

    def __init__(self, monkeypatch):
        self.names: list[str] = []
        real = zipfile.ZipFile.open

        def spy(zf, name, mode="r", *a, **k):
            if mode == "r":
                self.names.append(name if isinstance(name, str) else name.filename)
            return real(zf, name, mode, *a, **k)

        monkeypatch.setattr(zipfile.ZipFile, "open", spy)


# ---------------------------------------------------------------- sessions
def test_session_tensors_member_is_bounded_by_the_config(tmp_path, monkeypatch):
    good = save_session(small_trainer(), History(), tmp_path / "good.gpsession")
    with zipfile.ZipFile(good) as zf:
        state = zf.read(STATE)
    bomb = tmp_path / "bomb.gpsession"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(STATE, state)
        write_zeros(zf, TENSORS, BIG)
    assert bomb.stat().st_size < 1 << 20
    spy = OpenSpy(monkeypatch)
    t0 = time.perf_counter()
    with pytest.raises(SessionError, match="tensors.safetensors is too large .*networks its config describes") as e:
        load_session(bomb)
    assert time.perf_counter() - t0 < 5.0
    assert str(bomb) in str(e.value) and "refused before reading it" in str(e.value)
    assert TENSORS not in spy.names        # decided from the zip's directory alone


def test_session_limit_counts_networks_optimisers_points_and_charts():
    cfg = apply_overrides(Config(), ["model.g_width=32", "model.d_width=32"]).validate()
    g, d = network_bytes(cfg)
    base = tensor_limit(cfg, {"has_points": False, "history": {"kind": "none"}})
    assert base == 4 * g + 3 * d + MEMBER_MARGIN
    more = tensor_limit(cfg, {"has_points": True, "history": {"kind": "columns", "columns": [[]] * 3}})
    assert more > base
    # a real session fits its own limit
    big = apply_overrides(Config(), ["data.name=mnist", "model.arch=dcgan", "data.limit=64"]).validate()
    assert tensor_limit(big, {}) > 4 * sum(network_bytes(big))


def test_session_with_a_bad_config_is_refused_before_its_tensors(tmp_path, monkeypatch):
    good = save_session(small_trainer(), None, tmp_path / "good.gpsession")
    with zipfile.ZipFile(good) as zf:
        doc = json.loads(zf.read(STATE))
        tensors = zf.read(TENSORS)
    for item in doc["state"]["$dict"]:
        if item[0] == "config":
            item[1]["$dict"] = [["model", {"$dict": [["g_width", -5]]}]]
    bad = tmp_path / "bad.gpsession"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(STATE, json.dumps(doc))
        zf.writestr(TENSORS, tensors)
    spy = OpenSpy(monkeypatch)
    with pytest.raises(SessionError, match="invalid config"):
        load_session(bad)
    assert TENSORS not in spy.names


# ---------------------------------------------------------------- bundles
def resigned_zip_bundle(tmp_path, oversized: dict[str, int]):
    """A real bundle's config.json listing members of the given sizes, checksums re-signed."""
    src = export_bundle(small_trainer(), tmp_path / "src.ganplay", formats=())
    with zipfile.ZipFile(src) as zf:
        info = json.loads(zf.read(CONFIG))
        weights = zf.read(WEIGHTS)
    out = tmp_path / "bomb.ganplay"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        info["files"] = {}
        if WEIGHTS not in oversized:
            zf.writestr(WEIGHTS, weights)
            info["files"][WEIGHTS] = {"sha256": hashlib.sha256(weights).hexdigest(), "bytes": len(weights)}
        for name, size in oversized.items():
            info["files"][name] = {"sha256": write_zeros(zf, name, size), "bytes": size}
        zf.writestr(CONFIG, json.dumps(info))
    return out


@pytest.mark.parametrize("member", [WEIGHTS, PT2, ONNX])
def test_resigned_bundle_with_an_oversized_member_is_refused_from_the_directory(tmp_path, monkeypatch, member):
    out = resigned_zip_bundle(tmp_path, {member: BIG})
    assert out.stat().st_size < 1 << 20
    spy = OpenSpy(monkeypatch)
    t0 = time.perf_counter()
    with pytest.raises(BundleError, match=f"'{member}' in .* is too large .*generator its config.json describes") as e:
        load_bundle(out)
    assert time.perf_counter() - t0 < 5.0 and "refused before reading it" in str(e.value)
    assert member not in spy.names
    with pytest.raises(BundleError, match="too large"):
        read_bundle_info(out)


def test_folder_bundle_with_a_sparse_oversized_file_is_refused_by_its_size(tmp_path):
    out = export_bundle(small_trainer(), tmp_path / "b", formats=())
    with open(out / WEIGHTS, "r+b") as fh:
        fh.truncate(BIG)                  # sparse: costs no disk
    t0 = time.perf_counter()
    with pytest.raises(BundleError, match="model.safetensors' is too large"):
        load_bundle(out)
    assert time.perf_counter() - t0 < 5.0


def test_member_limits_follow_the_generator(tmp_path):
    out = export_bundle(small_trainer(), tmp_path / "b.ganplay", formats=())
    info = read_bundle_info(out)
    lim = member_limits(info)
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo(WEIGHTS).file_size <= lim[WEIGHTS] < 20 << 20
    assert lim[PT2] == lim[ONNX] >= lim[WEIGHTS]
