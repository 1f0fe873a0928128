"""Latent-space math: exact interpolation endpoints, Jacobian directions, manifold cells."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganplay.engine import latent as L
from ganplay.engine.config import Config
from ganplay.engine.metrics import manifold_mesh
from ganplay.engine.models import MLPGenerator
from ganplay.engine.snapshot import GeneratorSnapshot, snapshot_generator
from ganplay.engine.trainer import Trainer


def _reference_jacobian(f, z: np.ndarray) -> np.ndarray:
    """J by one autograd jvp per latent column (cheap for wide outputs, unlike a row loop)."""
    zt = torch.as_tensor(z)
    cols = [torch.autograd.functional.jvp(f, zt, torch.eye(len(z))[k])[1] for k in range(len(z))]
    return torch.stack(cols, 1).double().numpy()


def _mlp_snapshot(latent: int, out: int, n_classes: int = 0, image: bool = False, seed: int = 0) -> GeneratorSnapshot:
    cfg = Config().model
    cfg.latent_dim, cfg.g_width = latent, 32
    torch.manual_seed(seed)
    G = MLPGenerator(cfg, out, n_classes, out_tanh=image).eval()
    return GeneratorSnapshot(G, latent, "gaussian", n_classes, (1, 28, 28) if image else None)


@pytest.mark.parametrize("method", L.INTERPOLATIONS)
def test_interpolation_endpoints_are_exact(method: str) -> None:
    rng = np.random.default_rng(1)
    for d in (1, 2, 16, 100):
        a, b = rng.standard_normal(d).astype(np.float32), rng.standard_normal(d).astype(np.float32)
        zs = L.interpolate(a, b, L.frame_times(9), method)
        assert zs.shape == (9, d) and zs.dtype == np.float32
        assert np.array_equal(zs[0], a) and np.array_equal(zs[-1], b)
        assert np.array_equal(L.interpolate(a, b, 0.0, method), a)
        assert np.array_equal(L.interpolate(a, b, 1.0, method), b)
        # consecutive frames are evenly spaced in angle / distance, so no frame is a duplicate
        steps = np.linalg.norm(np.diff(zs, axis=0), axis=1)
        assert steps.min() > 0


def test_lerp_and_slerp_shapes_of_the_path() -> None:
    a = np.array([1.0, 0.0, 0.0], np.float32)
    b = np.array([0.0, 2.0, 0.0], np.float32)
    np.testing.assert_allclose(L.lerp(a, b, 0.5), [0.5, 1.0, 0.0], atol=1e-7)
    # slerp between orthogonal unit vectors stays on the unit circle (a straight line dips to 0.707)
    u = np.array([0.0, 1.0, 0.0], np.float32)
    mid = L.slerp(a, u, 0.5)
    np.testing.assert_allclose(np.linalg.norm(mid), 1.0, atol=1e-6)
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5), 0.0], atol=1e-6)
    assert np.linalg.norm(L.lerp(a, u, 0.5)) < 0.75
    # opposite vectors: still a finite path of the right length, ends exact
    path = L.slerp(a, -a, np.linspace(0, 1, 11))
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(path[-1], -a)
    # nearly identical vectors fall back to the line without dividing by ~0
    near = L.slerp(a, a + 1e-7, np.linspace(0, 1, 5))
    assert np.all(np.isfinite(near))


def test_interpolate_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown interpolation"):
        L.interpolate(np.zeros(2), np.ones(2), 0.5, "cubic")
    with pytest.raises(ValueError, match="differ in size"):
        L.interpolate(np.zeros(2), np.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        L.interpolate(np.zeros(2), np.ones(2), 1.5)
    with pytest.raises(ValueError):
        L.frame_times(1)


@pytest.mark.parametrize("latent,out,n_classes", [(16, 2, 0), (2, 2, 0), (8, 784, 0), (8, 784, 10)])
def test_jacobian_matches_autograd(latent: int, out: int, n_classes: int) -> None:
    snap = _mlp_snapshot(latent, out, n_classes, image=out == 784)
    z = np.random.default_rng(0).standard_normal(latent).astype(np.float32)
    J = L.jacobian(snap, z, 3 if n_classes else None)
    assert J.shape == (out, latent)

    def f(zz: torch.Tensor) -> torch.Tensor:
        if n_classes:
            return snap.module(zz[None], torch.tensor([3])).reshape(-1)
        return snap.module(zz[None]).reshape(-1)

    ref = _reference_jacobian(f, z)
    np.testing.assert_allclose(J, ref, rtol=1e-4, atol=1e-7)


def test_jacobian_of_the_dcgan_generator() -> None:
    from ganplay.engine.image_models import DCGANGenerator

    cfg = Config().model
    cfg.latent_dim, cfg.g_width, cfg.g_norm = 6, 8, "batch"
    torch.manual_seed(0)
    G = DCGANGenerator(cfg, 1, 10).eval()
    snap = GeneratorSnapshot(G, 6, "gaussian", 10, (1, 28, 28))
    z = np.random.default_rng(0).standard_normal(6).astype(np.float32)
    J = L.jacobian(snap, z, 4)
    ref = _reference_jacobian(lambda zz: G(zz[None], torch.tensor([4])).reshape(-1), z)
    np.testing.assert_allclose(J, ref, rtol=1e-4, atol=1e-7)
    assert G.training is False


def test_principal_directions_are_the_fastest_moving_directions() -> None:
    snap = _mlp_snapshot(16, 2)
    z = np.random.default_rng(3).standard_normal(16).astype(np.float32)
    V, s = L.principal_directions(snap, z)
    assert V.shape == (16, 16)
    np.testing.assert_allclose(V @ V.T, np.eye(16), atol=1e-5)
    assert np.all(np.diff(s) <= 1e-12) and s[0] > 0
    # a 2-D output has a rank-2 Jacobian: the other 14 directions do not move G to first order
    assert np.all(s[2:] < 1e-6 * s[0])
    J = L.jacobian(snap, z)
    np.testing.assert_allclose(np.linalg.norm(J @ V[0].astype(np.float64)), s[0], rtol=1e-4)
    # no unit vector moves G(z) faster than the first direction
    rng = np.random.default_rng(4)
    u = rng.standard_normal((200, 16))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    assert np.linalg.norm(u @ J.T, axis=1).max() <= s[0] * (1 + 1e-6)
    # a small step along d1 moves G(z) by about s1 * step
    eps = 1e-2
    moved = np.linalg.norm(L.generate_one(snap, z + eps * V[0]) - L.generate_one(snap, z))
    assert abs(moved - eps * s[0]) < 0.1 * eps * s[0]
    # signs are deterministic: the largest component of each direction is positive
    V2, _ = L.principal_directions(snap, z)
    assert np.array_equal(V, V2)
    assert np.all(V[np.arange(16), np.argmax(np.abs(V), axis=1)] > 0)


def test_manifold_cell_matches_manifold_mesh_grid() -> None:
    tr = Trainer(Config(), device="cpu")
    res, span = 11, 2.5
    mesh = manifold_mesh(tr, res=res, span=span)
    snap = snapshot_generator(tr)
    t = np.linspace(-span, span, res, dtype=np.float32)
    rng = np.random.default_rng(0)
    for z in rng.uniform(-span, span, (50, 2)).astype(np.float32):
        i, j = L.manifold_cell(z, "gaussian", res, span)
        assert 0 <= i <= res - 2 and 0 <= j <= res - 2
        assert t[j] - 1e-6 <= z[0] <= t[j + 1] + 1e-6 and t[i] - 1e-6 <= z[1] <= t[i + 1] + 1e-6
        # the cell's corner vertex of the mesh really is G at that grid z
        np.testing.assert_allclose(mesh[i, j], snap(np.array([[t[j], t[i]]]))[0], rtol=1e-5, atol=1e-6)
    assert L.manifold_cell([span, span], "gaussian", res, span) == (res - 2, res - 2)
    assert L.manifold_cell([-span, -span], "gaussian", res, span) == (0, 0)
    assert L.manifold_cell([span + 0.1, 0], "gaussian", res, span) is None
    assert L.manifold_cell([0.5, 0.5], "uniform", 21) == (15, 15)   # uniform grid spans [-1, 1]
    assert L.manifold_cell([1.5, 0.0], "uniform", 21) is None
    assert L.manifold_cell([0.0, 0.0, 0.0], "gaussian") is None
    assert L.manifold_cell([np.nan, 0.0], "gaussian") is None


def test_evaluate_path_endpoints_equal_single_evaluation() -> None:
    for snap, y in ((_mlp_snapshot(16, 2), None), (_mlp_snapshot(8, 784, 10, image=True), 5)):
        rng = np.random.default_rng(2)
        a = rng.standard_normal(snap.latent_dim).astype(np.float32)
        b = rng.standard_normal(snap.latent_dim).astype(np.float32)
        for method in L.INTERPOLATIONS:
            zs, out = L.evaluate_path(snap, a, b, np.linspace(0, 1, 33), method, y)
            assert np.array_equal(zs[0], a) and np.array_equal(zs[-1], b)
            assert np.array_equal(out[0], L.generate_one(snap, a, y))
            assert np.array_equal(out[-1], L.generate_one(snap, b, y))
            # inner rows are G(z(t)) up to batch rounding
            np.testing.assert_allclose(out[16], L.generate_one(snap, zs[16], y), atol=1e-5)


def test_latent_math_does_not_import_qt() -> None:
    import subprocess
    import sys

    code = "import sys, ganplay.engine.latent; print(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
