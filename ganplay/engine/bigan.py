"""BiGAN (Donahue, Krähenbühl & Darrell 2016; ALI, Dumoulin et al. 2016): an encoder E: x -> z
learns together with G, and D judges joint pairs: (x, E(x)) for real data against (G(z), z).

At the game's optimum the two joint distributions agree, which forces E = G^-1 on the data:
E(G(z)) = z and G(E(x)) = x. ``inversion_errors`` measures how far from that a run is.

How it rides on the ordinary trainer (``model.bigan``; ``Trainer(cfg)`` builds a
:class:`BiGANTrainer`):
- a *sample* of the D update is a joint vector: ``_real_batch`` gives (x, E(x)), ``_fakes`` gives
  (G(z), z), so ``trainer.d_update`` (and its gradient penalties, on joint interpolates) needs
  nothing new;
- G and E share the generator's optimiser: the generator side minimises G's loss on (G(z), z)
  plus E's on (x, E(x)) (``e_loss``: the label-swapped loss, E wants its pairs called fake);
- ``D(x)`` of a lone point, which the canvas's views ask for (decision surface, arrows, the JSD
  that D implies), is D(x, E(x)): D's verdict on x paired with its code.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import losses as L
from .config import Config, ConfigError
from .models import MLPDiscriminator, MLPGenerator, init_weights, mlp
from .trainer import Trainer, g_objective


class Encoder(nn.Module):
    """E(x) -> z: an MLP the generator's size (its depth, width, activation and norm)."""

    def __init__(self, cfg: Any, data_dim: int):
        super().__init__()
        self.data_dim = data_dim
        self.latent_dim = cfg.latent_dim
        self.net = mlp(data_dim, cfg.latent_dim, cfg.g_depth, cfg.g_width, cfg.g_activation, cfg.g_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], -1))


class JointDiscriminator(nn.Module):
    """D(x, z) on the concatenated pair. Given a lone x (``data_dim`` wide, never the joint
    width ``data_dim + latent_dim``), it judges (x, E(x)) with E held fixed: the data-space views.

    E is referenced, not registered: D's parameters, optimiser and state dict stay D's own."""

    def __init__(self, cfg: Any, data_dim: int, encoder: Encoder):
        super().__init__()
        self.data_dim = data_dim
        self.latent_dim = cfg.latent_dim
        self.pack = 1
        self.net = MLPDiscriminator(cfg, data_dim + cfg.latent_dim)
        self._encoder = (encoder,)

    @property
    def encoder(self) -> Encoder:
        return self._encoder[0]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] == self.data_dim:
            with torch.no_grad():
                code = self.encoder(x)
            x = torch.cat([x, code], 1)
        return self.net(x)


def build_bigan(cfg: Config, data: Any) -> tuple[nn.Module, nn.Module]:
    """(G, D) of a BiGAN; D holds the encoder (``D.encoder``), built after G and D from the same
    seeded stream."""
    out_tanh = getattr(data, "image_shape", None) is not None
    G = MLPGenerator(cfg.model, data.dim, 0, out_tanh=out_tanh)
    E = Encoder(cfg.model, data.dim)
    return G, JointDiscriminator(cfg.model, data.dim, E)


def e_loss(name: str, v_r: torch.Tensor) -> torch.Tensor:
    """The encoder's loss on D's raw scores of (x, E(x)): the generator's loss with the labels
    swapped, so E wants its pairs called fake as G wants its pairs called real.

    For the losses whose real and fake targets mirror each other under v -> -v (minimax, ns, ml,
    the critics) that is ``g_loss(-v_r)``; least squares aims at 0 (D's fake target); an f-GAN's
    E lowers D's fake term f*(g_f(v)) on its pairs."""
    if name == "lsgan":
        return 0.5 * (v_r ** 2).mean()
    if name.startswith("f-"):
        div = name[2:]
        _, fstar = L.F_GAN[div]
        return fstar(L.f_score(div, v_r)).mean()
    return L.g_loss(name, -v_r)


class BiGANTrainer(Trainer):
    """The Trainer with an encoder; see the module's docstring. Built by ``Trainer(cfg)`` when
    ``cfg.model.bigan`` is set."""

    E: Encoder

    def __init__(self, cfg: Config, **kwargs: Any):
        super().__init__(cfg, **kwargs)
        self.E = self.D.encoder.to(self.device)
        if self.cfg.model.init != "default":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.cfg.train.seed + 1)
                init_weights(self.E, self.cfg.model.init)
        # G and E are one player: one optimiser over both
        self.g_params = list(self.G.parameters()) + list(self.E.parameters())
        tc = self.cfg.train
        from .trainer import make_optimizer

        self.opt_g = make_optimizer(tc.opt_g, self.g_params, tc.lr_g, tc)
        self._buffers += [(f"E.{name}", b) for name, b in self.E.named_buffers() if b.is_floating_point()]
        self._remember_good()

    # ------------------------------------------------------------------ joint samples
    def _real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.data.sample(n, self.gen, self.device)
        return torch.cat([x.reshape(n, -1), self.E(x)], 1), None

    def _fakes(self, z: torch.Tensor, yf: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([self.G(z).reshape(len(z), -1), z], 1)

    def per_member_loss(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        """D's objective as usual; the generator side's adds E's loss on a fresh real batch."""
        loss = fn(self.cfg.loss, *args)
        if fn is g_objective:
            pairs, _ = self._real_batch(self.cfg.train.batch_size)
            loss = loss + e_loss(self.cfg.loss.name, self.d_scores(pairs))
        return loss

    @torch.no_grad()
    def _update_ema(self) -> None:
        assert self.G_ema is not None
        torch._foreach_lerp_(list(self.G_ema.parameters()), list(self.G.parameters()), 1 - self.cfg.train.ema)
        for b_e, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_e.copy_(b)

    def set(self, path: str, raw: Any) -> None:
        if path == "train.unrolled" and str(raw).strip() not in ("0", "0.0"):
            raise ConfigError("bad value for 'train.unrolled': a BiGAN trains without unrolled steps")
        super().set(path, raw)

    # ------------------------------------------------------------------ the encoder
    @torch.no_grad()
    def encode(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """E(x) as float32 numpy, in eval mode, without touching the training RNG."""
        x_t = torch.as_tensor(np.asarray(x, np.float32) if not torch.is_tensor(x) else x, device=self.device).float()
        was = self.E.training
        self.E.eval()
        try:
            return self.E(x_t).cpu().numpy().astype(np.float32)
        finally:
            self.E.train(was)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        if hasattr(self, "E"):   # the base constructor remembers a state before E is in place
            sd["E"] = self.E.state_dict()
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        if "E" not in sd:
            raise KeyError("a BiGAN state needs the encoder's weights ('E')")
        self.E.load_state_dict(sd["E"])
        super().load_state_dict(sd)


def inversion_errors(trainer: Any, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """How well E and G invert each other, on n prior draws and n real samples (fixed seeds):
    ``z_recon`` = mean |E(G(z)) - z|, ``x_recon`` = mean |G(E(x)) - x|. Reference points: a
    constant E at the prior's mean gives E|z| (1.25 for a 2D standard Gaussian); the trained
    pair should be well under it."""
    g = torch.Generator(trainer.device).manual_seed(50_000 + seed)
    z = trainer.sample_z(n, g)
    x_fake = trainer.generate(z, ema=False)
    z_back = trainer.encode(x_fake)
    z_np = z.cpu().numpy()
    real = trainer.data.sample_numpy(n, seed=60_000 + seed).astype(np.float32)
    x_back = trainer.generate(trainer.encode(real), ema=False)
    z_err = float(np.linalg.norm(z_back - z_np, axis=1).mean())
    x_err = float(np.linalg.norm(x_back.reshape(n, -1) - real.reshape(n, -1), axis=1).mean())
    return {"z_recon": z_err if math.isfinite(z_err) else float("nan"),
            "x_recon": x_err if math.isfinite(x_err) else float("nan")}
