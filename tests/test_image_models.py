"""DCGAN / MLP GANs on MNIST slices: shapes, DCGAN rules, conditioning, and a few training steps
through the real Trainer with every kind of loss and stabiliser."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganplay.engine.config import Config
from ganplay.engine.image_models import build_dcgan
from ganplay.engine.mnist import make_image_dataset
from ganplay.engine.snapshot import snapshot_generator
from ganplay.engine.trainer import Trainer

torch.set_num_threads(1)


def image_cfg(arch: str = "dcgan", name: str = "mnist", **fields) -> Config:
    cfg = Config()
    cfg.data.name = name
    cfg.data.limit = 300
    cfg.model.arch = arch
    cfg.model.latent_dim = 16
    cfg.model.g_width = 16
    cfg.model.d_width = 16
    cfg.model.g_norm = "batch"
    cfg.model.d_norm = "batch"
    cfg.model.d_activation = "leaky_relu"
    cfg.train.batch_size = 16
    cfg.train.device = "cpu"
    for path, val in fields.items():
        sec, f = path.split("__")
        setattr(getattr(cfg, sec), f, val)
    return cfg


@pytest.fixture(scope="module")
def mnist():
    return make_image_dataset(image_cfg().data)


def test_dcgan_shapes_and_rules(mnist):
    cfg = image_cfg()
    G, D = build_dcgan(cfg, mnist, 0)
    z = torch.randn(8, 16)
    x = G(z)
    assert x.shape == (8, 784) and float(x.detach().abs().max()) <= 1.0
    assert D(x).shape == (8,)
    assert D(x.reshape(8, 1, 28, 28)).shape == (8,)   # image-shaped input works too
    mods = list(G.net)
    assert isinstance(mods[-1], nn.Tanh) and isinstance(mods[-2], nn.ConvTranspose2d)   # no BN on G's output
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in mods) == 3
    assert any(isinstance(m, nn.BatchNorm2d) for m in mods)
    feats = list(D.features)
    assert isinstance(feats[0], nn.Conv2d) and isinstance(feats[1], nn.LeakyReLU)        # no BN on D's input
    assert feats[1].negative_slope == pytest.approx(0.2)
    assert any(isinstance(m, nn.BatchNorm2d) for m in feats)
    assert any(isinstance(m, nn.ReLU) for m in mods)


def test_dcgan_spectral_norm_pack_and_layer_norm(mnist):
    cfg = image_cfg(model__spectral_norm=True, model__d_norm="layer", train__pack=4)
    G, D = build_dcgan(cfg, mnist, 0)
    assert all(hasattr(m, "parametrizations") for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert D.features[0].in_channels == 4
    assert D(G(torch.randn(16, 16))).shape == (4,)      # one score per pack of 4
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())


def test_conditional_dcgan_uses_labels(mnist):
    cfg = image_cfg()
    G, D = build_dcgan(cfg, mnist, 10)
    G.eval()
    z = torch.randn(4, 16).repeat(2, 1)
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    x = G(z, y)
    assert x.shape == (8, 784)
    assert not torch.allclose(x[:4], x[4:])            # same z, other label: another image
    assert D(x, y).shape == (8,)
    with pytest.raises(AssertionError):
        G(z)


def test_stacked_channels():
    d = make_image_dataset(image_cfg(name="stacked_mnist").data)
    G, D = build_dcgan(image_cfg(name="stacked_mnist"), d, 0)
    x = G(torch.randn(4, 16))
    assert x.shape == (4, 3 * 784) and D(x).shape == (4,)


def test_dcgan_needs_images():
    from ganplay.engine.config import ConfigError

    cfg = Config()
    cfg.model.arch = "dcgan"
    with pytest.raises(ConfigError, match="model.arch"):
        cfg.validate()


@pytest.mark.parametrize("arch,cond,fields", [
    ("mlp", False, {}),
    ("mlp", True, {}),
    ("dcgan", False, {}),
    ("dcgan", True, {"train__pack": 2}),
    ("dcgan", False, {"loss__name": "wgan-gp", "model__d_norm": "layer", "train__d_steps": 2}),
    ("dcgan", False, {"loss__name": "hinge", "model__spectral_norm": True, "loss__r1": 1.0, "train__ema": 0.9}),
    ("dcgan", False, {"train__unrolled": 1}),
])
def test_trainer_steps(arch, cond, fields):
    cfg = image_cfg(arch, model__conditional=cond, **fields)
    t = Trainer(cfg)
    assert t.n_classes == (10 if cond else 0)
    w0 = [p.detach().clone() for p in t.G.parameters()]
    for _ in range(3):
        s = t.step()
    assert np.isfinite([s.loss_d, s.loss_g, s.grad_d, s.grad_g]).all()
    assert any(not torch.equal(a, b) for a, b in zip(w0, t.G.parameters()))
    x = t.sample(6, seed=1)
    assert x.shape == (6, 784) and np.abs(x).max() <= 1.0
    snap = snapshot_generator(t)
    assert snap.image_shape == (1, 28, 28)
    z = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    imgs = snap(z, np.arange(5) if cond else None)
    assert imgs.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(imgs.reshape(5, -1), t.generate(z, np.arange(5) if cond else None), atol=1e-5)


def test_mlp_on_mnist_has_tanh_output():
    t = Trainer(image_cfg("mlp"))
    assert isinstance(list(t.G.net)[-1], nn.Tanh)


def test_dcgan_checkpoint_continues_bit_exact():
    cfg = image_cfg()
    a = Trainer(cfg)
    a.step()
    sd = a.state_dict()
    b = Trainer(cfg)
    b.load_state_dict(sd)
    sa, sb = a.step(), b.step()
    # the weights continue bit for bit; the reported losses may differ in the last float digits
    # because oneDNN picks its convolution kernel per call site
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(a.D.parameters(), b.D.parameters()))
    assert sa.loss_g == pytest.approx(sb.loss_g, rel=1e-4)


def test_fixed_grid_inputs():
    from ganplay.engine.image_models import fixed_grid_inputs

    z, y, cols = fixed_grid_inputs(16, "gaussian", 0, 64, seed=3)
    assert z.shape == (64, 16) and y is None and cols == 8
    z2, _, _ = fixed_grid_inputs(16, "gaussian", 0, 64, seed=3)
    np.testing.assert_array_equal(z, z2)                       # the same digits every time
    zc, yc, cols = fixed_grid_inputs(16, "uniform", 10, 80)
    assert cols == 8 and zc.shape == (80, 16) and np.abs(zc).max() <= 1
    np.testing.assert_array_equal(yc.reshape(10, 8), np.repeat(np.arange(10)[:, None], 8, 1))  # row = digit
    np.testing.assert_array_equal(zc[:8], zc[8:16])            # a column keeps its z


def test_recipes_build_valid_configs():
    from ganplay.engine.config import set_field
    from ganplay.engine.image_models import IMAGE_RECIPES, STACKED_RECIPES

    for fields in [*IMAGE_RECIPES.values(), *STACKED_RECIPES.values()]:
        cfg = Config()
        cfg.data.name = "mnist"
        for k, v in fields.items():
            assert not k.startswith("data.")                  # recipes never set the data
            set_field(cfg, k, v)
        cfg.validate()
    assert IMAGE_RECIPES["cdcgan"]["model.conditional"] and not IMAGE_RECIPES["dcgan"]["model.conditional"]
    assert STACKED_RECIPES["pacgan2"]["train.pack"] == 2 and STACKED_RECIPES["vanilla"]["train.pack"] == 1
