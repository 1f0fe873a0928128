"""The optional generator.onnx matches the live generator under onnxruntime (skipped without onnx)."""
from __future__ import annotations

import numpy as np
import pytest

from ganplay.engine.export import BundleError, export_bundle, onnx_available, read_bundle_info



def _z(n: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_onnx_matches_live_generator_within_1e5(ring_trainer, tmp_path):
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    out = export_bundle(ring_trainer, tmp_path / "b", formats=("pt2", "onnx"))
    assert "generator.onnx" in read_bundle_info(out)["files"]
    sess = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["z"]
    for n in (1, 129):
        z = _z(n, 3, seed=n)
        got = sess.run(None, {"z": z})[0]
        np.testing.assert_allclose(got, ring_trainer.generate(z), rtol=0, atol=1e-5)


def test_onnx_request_without_packages_says_what_to_install(ring_trainer, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnxscript(name, *a, **k):
        if name == "onnxscript":
            raise ImportError("No module named 'onnxscript'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_onnxscript)
    assert "pip install onnxscript" in (onnx_available() or "")
    with pytest.raises(BundleError, match="needs the optional package onnxscript"):
        export_bundle(ring_trainer, tmp_path / "b.ganplay", formats=("pt2", "onnx"))
    assert not (tmp_path / "b.ganplay").exists()
