"""Generator bundles: round trips, the torch-only .pt2, ONNX, and refusal of damaged files."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.engine import Config, Trainer
from ganplay.engine.config import apply_overrides
from ganplay.engine.export import (
    CONFIG, PT2, WEIGHTS, BundleError, bundle_size, export_bundle, load_bundle, read_bundle_info,
    sample_snapshot,
)
from ganplay.engine.runs import RunError
from ganplay.engine.snapshot import snapshot_generator


def small(*overrides: str) -> Config:
    return apply_overrides(Config(), ["model.g_width=32", "model.d_width=32", "train.batch_size=64",
                                      "train.device=cpu", *overrides])



@pytest.fixture(scope="module")
def zip_bundle(ring_trainer, tmp_path_factory) -> Path:
    return export_bundle(ring_trainer, tmp_path_factory.mktemp("b") / "ring.ganplay")


def _z(n: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


class Evil:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ---------------------------------------------------------------- round trips
def test_zip_bundle_samples_equal_live_ema_generator(ring_trainer, zip_bundle):
    assert zipfile.ZipFile(zip_bundle).namelist() == [WEIGHTS, PT2, CONFIG]
    snap = load_bundle(zip_bundle)
    z = _z(257, 3)
    live = ring_trainer.generate(z)              # the EMA generator, as the views show it
    assert np.array_equal(snap(z), live)
    assert not np.array_equal(live, ring_trainer.generate(z, ema=False))   # so EMA really was exported
    assert (snap.latent_dim, snap.prior, snap.n_classes, snap.image_shape, snap.step) == (3, "gaussian", 0, None, 5)
    assert not snap.module.training and not any(p.requires_grad for p in snap.module.parameters())


def test_config_json_documents_the_generator(zip_bundle):
    info = read_bundle_info(zip_bundle)
    assert info["format"] == "ganplay-generator" and info["format_version"] == 1
    assert info["latent_dim"] == 3 and info["prior"] == "gaussian" and info["n_classes"] == 0
    assert info["data_kind"] == "points2d" and info["image_shape"] is None and info["output_range"] is None
    assert info["torch_version"] == torch.__version__ and info["ganplay_version"]
    assert info["ema"] is True and info["config"]["model"]["g_norm"] == "batch"
    assert len(info["data_bounds"]) == 4
    assert set(info["files"]) == {WEIGHTS, PT2}


def test_folder_bundle_from_snapshot_and_reexport(ring_trainer, tmp_path):
    snap = snapshot_generator(ring_trainer)
    out = export_bundle(snap, tmp_path / "folder")
    assert sorted(os.listdir(out)) == [CONFIG, PT2, WEIGHTS]
    again = export_bundle(load_bundle(out), tmp_path / "again.ganplay", formats=())
    z = _z(64, 3, seed=2)
    assert np.array_equal(load_bundle(again)(z), snap(z))
    assert bundle_size(out) > bundle_size(again)       # no .pt2 in the second one


def test_export_then_overwrite_existing_bundle_folder(ring_trainer, tmp_path):
    out = tmp_path / "b"
    export_bundle(ring_trainer, out, formats=())
    export_bundle(ring_trainer, out)                # replacing a bundle folder is allowed
    assert (out / PT2).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["b"]   # no temporary names left behind


def test_load_bundle_leaves_global_rng_alone(zip_bundle):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_bundle(zip_bundle)
    assert torch.equal(torch.rand(3), expected)


def test_sample_snapshot_matches_trainer_sample_for_same_seed(ring_trainer, zip_bundle):
    x, y = sample_snapshot(load_bundle(zip_bundle), 100, seed=7)
    assert y is None and np.array_equal(x, ring_trainer.sample(100, seed=7))


def test_unknown_format_is_refused(ring_trainer, tmp_path):
    with pytest.raises(BundleError, match="unknown export format 'tflite'"):
        export_bundle(ring_trainer, tmp_path / "b", formats=("tflite",))
    assert not (tmp_path / "b").exists()


def test_conditional_dcgan_bundle_round_trip(tmp_path):
    cfg = small("data.name=mnist", "data.limit=256", "model.arch=dcgan", "model.conditional=true",
                "model.latent_dim=8", "model.g_width=8", "model.d_width=8", "model.g_norm=batch",
                "train.batch_size=8")
    tr = Trainer(cfg)
    tr.step()
    out = export_bundle(tr, tmp_path / "digits.ganplay")
    info = read_bundle_info(out)
    assert info["data_kind"] == "image" and info["image_shape"] == [1, 28, 28]
    assert info["output_range"] == [-1.0, 1.0] and info["n_classes"] == 10 and "y" in info["inputs"]
    snap = load_bundle(out)
    z, y = _z(20, 8), np.arange(20) % 10
    assert np.array_equal(snap(z, y), tr.generate(z, y).reshape(20, 1, 28, 28))
    prog = torch.export.load(__import__("io").BytesIO(zipfile.ZipFile(out).read(PT2))).module()
    got = prog(torch.from_numpy(z), torch.from_numpy(y)).numpy()
    assert got.shape == (20, 1, 28, 28)
    np.testing.assert_allclose(got, snap(z, y), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- refusing bad files
def test_truncated_zip_is_refused(zip_bundle, tmp_path):
    bad = tmp_path / "cut.ganplay"
    data = zip_bundle.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="cut.ganplay.*truncated"):
        load_bundle(bad)


def test_foreign_zip_and_foreign_json_are_refused(tmp_path):
    foreign = tmp_path / "photos.ganplay"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("holiday.jpg", b"\xff\xd8 not really")
    with pytest.raises(BundleError, match="has no config.json"):
        load_bundle(foreign)
    d = tmp_path / "d"
    d.mkdir()
    (d / CONFIG).write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(BundleError, match="not a ganplay generator config"):
        load_bundle(d)
    (d / CONFIG).write_text("{not json")
    with pytest.raises(BundleError, match="config.json' is not valid JSON"):
        load_bundle(d)


def test_tampered_safetensors_header_is_refused(ring_trainer, tmp_path):
    out = export_bundle(ring_trainer, tmp_path / "b", formats=())
    w = out / WEIGHTS
    data = bytearray(w.read_bytes())
    hdr = int.from_bytes(data[:8], "little")
    text = data[8:8 + hdr].decode()
    data[8:8 + hdr] = text.replace("F32", "F16", 1).encode()   # same length, wrong dtype
    w.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.safetensors.*checksum"):
        load_bundle(out)
    # even with the checksum forged, the shapes and dtypes are checked against the architecture
    info = json.loads((out / CONFIG).read_text())
    info["files"][WEIGHTS]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (out / CONFIG).write_text(json.dumps(info))
    with pytest.raises(BundleError, match="model.safetensors"):
        load_bundle(out)


def test_wrong_shapes_are_refused_naming_the_tensor(ring_trainer, tmp_path):
    from safetensors.torch import save

    out = export_bundle(ring_trainer, tmp_path / "b", formats=())
    sd = {k: v.clone() for k, v in snapshot_generator(ring_trainer).module.state_dict().items()}
    sd["net.0.weight"] = torch.zeros(5, 5)
    data = save(sd)
    (out / WEIGHTS).write_bytes(data)
    info = json.loads((out / CONFIG).read_text())
    info["files"][WEIGHTS]["sha256"] = hashlib.sha256(data).hexdigest()
    (out / CONFIG).write_text(json.dumps(info))
    with pytest.raises(BundleError, match=r"tensor 'net.0.weight' is torch.float32 \(5, 5\)"):
        load_bundle(out)


def test_malicious_pickles_are_refused_without_running(ring_trainer, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": Evil(marker)})
    # 1. a raw pickle named like a bundle
    (tmp_path / "evil.ganplay").write_bytes(payload)
    # 2. a torch.save archive (a zip whose data.pkl runs code) named like a bundle
    torch.save({"w": Evil(marker)}, tmp_path / "evil2.ganplay")
    # 3. a bundle whose weights were swapped for a pickle, checksum forged to match
    out = export_bundle(ring_trainer, tmp_path / "b", formats=())
    (out / WEIGHTS).write_bytes(payload)
    info = json.loads((out / CONFIG).read_text())
    info["files"][WEIGHTS]["sha256"] = hashlib.sha256(payload).hexdigest()
    (out / CONFIG).write_text(json.dumps(info))
    for bad in (tmp_path / "evil.ganplay", tmp_path / "evil2.ganplay", out):
        with pytest.raises(BundleError) as exc:
            load_bundle(bad)
        assert str(bad) in str(exc.value)
    assert not marker.exists()


def test_missing_listed_file_is_refused(ring_trainer, tmp_path):
    out = export_bundle(ring_trainer, tmp_path / "b")
    (out / PT2).unlink()
    with pytest.raises(BundleError, match="lacks generator.pt2"):
        load_bundle(out)


def test_errors_are_value_and_run_errors(tmp_path):
    with pytest.raises(ValueError):
        load_bundle(tmp_path / "nothing.ganplay")
    with pytest.raises(RunError, match="no generator bundle at"):
        load_bundle(tmp_path / "nothing.ganplay")


# ---------------------------------------------------------------- writing safely
def test_unwritable_path_raises_and_keeps_previous_bundle(ring_trainer, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("I am a file, not a folder")
    with pytest.raises(BundleError, match="cannot write the bundle '.*a-file/x.ganplay'"):
        export_bundle(ring_trainer, blocker / "x.ganplay")
    with pytest.raises(BundleError, match="it exists and is not a ganplay bundle"):
        d = tmp_path / "docs"
        d.mkdir()
        (d / "thesis.tex").write_text("precious")
        export_bundle(ring_trainer, d)
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"

    good = export_bundle(ring_trainer, tmp_path / "keep.ganplay", formats=())
    before = good.read_bytes()
    state = {k: v.clone() for k, v in ring_trainer.G.state_dict().items()}

    def disk_full(self, name, data, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(BundleError, match="keep.ganplay.*No space left"):
        export_bundle(ring_trainer, good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "docs", "keep.ganplay"]
    assert all(torch.equal(v, state[k]) for k, v in ring_trainer.G.state_dict().items())


def test_config_asking_for_a_huge_network_is_refused_without_building_it(ring_trainer, tmp_path):
    out = export_bundle(ring_trainer, tmp_path / "b", formats=())
    info = json.loads((out / CONFIG).read_text())
    info["config"]["model"].update(g_width=4096, g_depth=16)   # the largest valid G: 1 GiB of weights
    (out / CONFIG).write_text(json.dumps(info))
    with pytest.raises(BundleError, match="model.safetensors' does not hold this generator's tensors"):
        load_bundle(out)
