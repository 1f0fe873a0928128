"""model.latent_modes: G reads a one-hot mode off z's first K coordinates (a mixture prior that
leaves z itself N(0, I)); it trains, is validated, and survives export to a program that needs
torch only."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch

from ganplay.engine.config import Config, ConfigError, apply_overrides
from ganplay.engine.export import PT2, export_bundle, load_bundle
from ganplay.engine.image_models import DCGANGenerator
from ganplay.engine.models import MODE_SCALE, MLPGenerator, latent_mode_code
from ganplay.engine.trainer import Trainer

torch.set_num_threads(1)


def test_mode_code_is_a_scaled_one_hot_of_the_argmax_and_modes_are_equally_likely():
    z = torch.randn(20000, 12, generator=torch.Generator().manual_seed(0))
    code = latent_mode_code(z, 5)
    assert code.shape == (20000, 5)
    k = z[:, :5].argmax(1)
    assert torch.equal(code.argmax(1), k)
    assert torch.equal(code.sum(1), torch.full((20000,), MODE_SCALE))
    share = torch.bincount(k, minlength=5).float() / len(z)
    assert torch.all((share - 0.2).abs() < 0.015), share


def test_generators_read_the_code_and_it_changes_the_output():
    cfg = Config().model
    cfg.latent_dim, cfg.latent_modes = 8, 4
    for G in (MLPGenerator(cfg, 2), DCGANGenerator(cfg)):
        G.eval()
        z = torch.zeros(2, 8)
        z[0, 0], z[1, 1] = 0.01, 0.01   # nearly the same z, but different modes
        with torch.no_grad():
            x = G(z)
        assert (x[0] - x[1]).abs().max() > 1e-3, type(G).__name__
        cfg_off = Config().model
        cfg_off.latent_dim = 8
        n_on = sum(p.numel() for p in G.parameters())
        n_off = sum(p.numel() for p in type(G)(cfg_off, *((2,) if isinstance(G, MLPGenerator) else ())).parameters())
        assert n_on > n_off      # the first layer has K more inputs


def test_more_modes_than_latent_coordinates_is_refused():
    with pytest.raises(ConfigError, match="latent_modes"):
        apply_overrides(Config(), ["model.latent_dim=4", "model.latent_modes=5"]).validate()
    with pytest.raises(ConfigError, match="latent_modes"):
        apply_overrides(Config(), ["model.latent_modes=-1"])


def test_ring_gan_with_modes_trains_and_bundle_program_matches(tmp_path):
    cfg = apply_overrides(Config(), ["model.latent_dim=8", "model.latent_modes=8", "model.g_width=32",
                                     "model.d_width=32", "train.batch_size=64", "train.device=cpu",
                                     "train.ema=0.9", "model.g_norm=batch"])
    tr = Trainer(cfg)
    for _ in range(5):
        st = tr.step()
    assert np.isfinite(st.loss_d) and np.isfinite(st.loss_g)
    out = export_bundle(tr, tmp_path / "modes.ganplay")
    z = np.random.default_rng(2).standard_normal((257, 8)).astype(np.float32)
    live = tr.generate(z)
    snap = load_bundle(out)
    np.testing.assert_allclose(snap(z), live, rtol=0, atol=1e-6)
    pt2 = tmp_path / "g.pt2"
    pt2.write_bytes(zipfile.ZipFile(out).read(PT2))
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, torch
        prog = torch.export.load({str(pt2)!r}).module()
        np.save({str(tmp_path / 'out.npy')!r}, prog(torch.from_numpy(np.load({str(tmp_path / 'z.npy')!r}))).numpy())
        assert 'ganplay' not in sys.modules
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), live, rtol=0, atol=1e-6)


def test_onnx_export_keeps_the_mode_switch(tmp_path):
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    cfg = apply_overrides(Config(), ["model.latent_dim=6", "model.latent_modes=6", "model.g_width=16",
                                     "model.d_width=16", "train.batch_size=32", "train.device=cpu"])
    tr = Trainer(cfg)
    tr.step()
    out = export_bundle(tr, tmp_path / "b", formats=("pt2", "onnx"))
    sess = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    z = np.random.default_rng(5).standard_normal((65, 6)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"z": z})[0], tr.generate(z), rtol=0, atol=1e-5)


def test_presets_without_modes_clear_them():
    from ganplay.engine.presets import apply_preset

    cfg = apply_preset("dcgan", Config(), adapt_data=True)
    assert cfg.model.latent_modes == 10 and cfg.data.name == "mnist"
    back = apply_preset("wgan-gp", cfg, adapt_data=True)   # a 2D recipe with a 2-D latent
    assert back.model.latent_modes == 0 and back.model.latent_dim == 2
    back.validate()
    assert apply_preset("dcgan-plain", cfg).model.latent_modes == 0
