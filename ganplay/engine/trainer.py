"""The trainer: one ``step()`` = k discriminator updates + 1 generator update.

Design points:
- All randomness (data, z, GP interpolation) comes from one ``torch.Generator`` seeded from the
  config, and networks are initialised under a forked global RNG, so the same seed gives the same
  numbers on the CPU and the trainer never disturbs the caller's RNG.
- A non-finite loss or gradient is caught *before* the optimiser applies it, so the networks are
  never corrupted; ``TrainingDiverged`` says which network and which quantity failed.
- Live hyperparameters (``LIVE_FIELDS``) change between steps via ``set``; the rest need a rebuild.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from . import losses as L
from .config import LIVE_FIELDS, Config, ConfigError, get_field, set_field, to_dict
from .data import make_data
from .device import resolve_device
from .models import MLPDiscriminator, MLPGenerator, init_weights, sample_prior


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the update was not applied."""


class NeedsReset(ConfigError):
    """The field cannot change while training; rebuild the trainer with the new config."""


@dataclass
class StepStats:
    step: int
    loss_d: float
    loss_g: float
    d_real: float       # mean sigmoid(D(x))
    d_fake: float       # mean sigmoid(D(G(z)))
    score_real: float   # mean raw D(x)
    score_fake: float   # mean raw D(G(z))
    grad_d: float       # L2 norm of D's gradient (last D update)
    grad_g: float       # L2 norm of G's gradient
    jsd: float          # (V + log 4) / 2 as this D sees it

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


STAT_NAMES = tuple(StepStats.__dataclass_fields__)


def build_networks(cfg: Config, data: Any) -> tuple[nn.Module, nn.Module]:
    n_classes = getattr(data, "n_classes", 0) if cfg.model.conditional else 0
    if cfg.model.arch == "dcgan":
        from .image_models import build_dcgan  # only image runs need it

        return build_dcgan(cfg, data, n_classes)
    out_tanh = getattr(data, "image_shape", None) is not None  # images live in [-1, 1]
    G = MLPGenerator(cfg.model, data.dim, n_classes, out_tanh=out_tanh)
    D = MLPDiscriminator(cfg.model, data.dim, cfg.train.pack, n_classes)
    return G, D


def _make_opt(name: str, params: Any, lr: float, tc: Any) -> torch.optim.Optimizer:
    # Adam and SGD use the fused kernels (CPU and CUDA): one call per update instead of ~8 small
    # ops per parameter, the largest per-step overhead for small MLPs. Runs stay seeded-exact.
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=tc.momentum, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=tc.momentum if tc.momentum < 0.5 else 0.0)
    return torch.optim.Adam(params, lr=lr, betas=(tc.beta1, tc.beta2), fused=True)


def _grad_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class Trainer:
    """Owns G, D, their optimisers and the data stream for one GAN."""

    def __init__(self, cfg: Config, *, points: np.ndarray | None = None, data: Any = None,
                 device: torch.device | str | None = None):
        cfg = cfg.copy().validate()
        self.cfg = cfg
        if device is None:
            self.device, self.device_message = resolve_device(cfg.train.device)
        else:
            self.device, self.device_message = torch.device(device), None
        self.points = points
        self.data = data if data is not None else make_data(cfg.data, points)
        self.n_classes = getattr(self.data, "n_classes", 0) if cfg.model.conditional else 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.train.seed)
            G, D = build_networks(cfg, self.data)
            init_weights(G, cfg.model.init)
            init_weights(D, cfg.model.init)
        self.G = G.to(self.device)
        self.D = D.to(self.device)
        self.g_params = [p for p in self.G.parameters()]
        self.d_params = [p for p in self.D.parameters()]
        self.gen = torch.Generator(self.device).manual_seed(cfg.train.seed)
        self.opt_g = _make_opt(cfg.train.opt_g, self.g_params, cfg.train.lr_g, cfg.train)
        self.opt_d = _make_opt(cfg.train.opt_d, self.d_params, cfg.train.lr_d, cfg.train)
        self.G_ema: nn.Module | None = None
        if cfg.train.ema > 0:
            self._start_ema()
        self.step_count = 0
        self._last_good: dict[str, Any] | None = None
        self.good_every = 200
        self._remember_good()

    # ------------------------------------------------------------------ sampling
    @property
    def latent_dim(self) -> int:
        return self.cfg.model.latent_dim

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return sample_prior(n, self.latent_dim, self.cfg.model.prior, generator or self.gen, self.device)

    def _sample_labels(self, n: int) -> torch.Tensor | None:
        if not self.n_classes:
            return None
        return torch.randint(self.n_classes, (n,), generator=self.gen, device=self.device)

    def _real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.n_classes:
            return self.data.sample_labeled(n, self.gen, self.device)
        return self.data.sample(n, self.gen, self.device), None

    def eval_generator(self) -> nn.Module:
        """The generator to show and measure: the EMA copy when EMA is on."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def generate(self, z: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray | None = None,
                 ema: bool = True) -> np.ndarray:
        """G(z) as a numpy array (float32), in eval mode, without touching the training RNG."""
        G = self.eval_generator() if ema else self.G
        z_t = torch.as_tensor(np.asarray(z, dtype=np.float32) if not torch.is_tensor(z) else z,
                              device=self.device).float()
        y_t = None
        if self.n_classes:
            if y is None:
                y_t = torch.arange(len(z_t), device=self.device) % self.n_classes
            else:
                y_t = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y, device=self.device).long()
        was = G.training
        G.eval()
        try:
            out = G(z_t, y_t) if self.n_classes else G(z_t)
        finally:
            G.train(was)
        return out.detach().cpu().numpy().astype(np.float32).copy()

    def sample(self, n: int, seed: int | None = None, ema: bool = True) -> np.ndarray:
        """n generated samples; a ``seed`` gives a fixed z independent of the training stream."""
        g = torch.Generator(self.device).manual_seed(seed if seed is not None else 12345)
        z = sample_prior(n, self.latent_dim, self.cfg.model.prior, g, self.device)
        return self.generate(z, ema=ema)

    # ------------------------------------------------------------------ one step
    def step(self, mode: str = "both") -> StepStats:
        """k D-updates then one G-update (``mode`` 'd' or 'g' runs only one side, as GAN Lab does)."""
        tc, lc = self.cfg.train, self.cfg.loss
        B = tc.batch_size
        stats_d = stats_g = None
        if mode in ("both", "d"):
            k = tc.d_steps if mode == "both" else max(1, tc.d_steps)
            for _ in range(k):
                stats_d = self._d_update(B, lc)
        if mode in ("both", "g"):
            stats_g = self._g_update(B, lc)
        self.step_count += 1
        if stats_d is None:
            stats_d = self._d_eval(B, lc)
        if stats_g is None:
            stats_g = torch.zeros(2, device=self.device)
        vals = torch.cat([stats_d, stats_g]).tolist()
        loss_d, d_real, d_fake, s_r, s_f, gd, jsd_v, loss_g, gg = vals
        jsd = max(0.0, (jsd_v + math.log(4)) / 2)
        if self.step_count % self.good_every == 0:
            self._remember_good()
        return StepStats(self.step_count, loss_d, loss_g, d_real, d_fake, s_r, s_f, gd, gg, jsd)

    def _d_forward(self, x: torch.Tensor, xf: torch.Tensor, y: torch.Tensor | None,
                   yf: torch.Tensor | None, lc: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if lc.r1 > 0:
            x = x.detach().requires_grad_(True)
        v_r = self.D(x, y) if y is not None else self.D(x)
        v_f = self.D(xf, yf) if yf is not None else self.D(xf)
        loss = L.d_loss(lc.name, v_r, v_f, lc.real_label)
        gp_w = (lc.gp_lambda if lc.name == "wgan-gp" else 0.0) + lc.gp
        if gp_w > 0:
            loss = loss + gp_w * self._gradient_penalty(x.detach(), xf, y)
        if lc.r1 > 0:
            (gx,) = torch.autograd.grad(v_r.sum(), x, create_graph=True)
            loss = loss + lc.r1 / 2 * gx.pow(2).reshape(gx.shape[0], -1).sum(1).mean()
        return loss, v_r, v_f

    def _gradient_penalty(self, x: torch.Tensor, xf: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        eps = torch.rand(shape, generator=self.gen, device=self.device)
        xh = (eps * x + (1 - eps) * xf).requires_grad_(True)
        v = self.D(xh, y) if y is not None else self.D(xh)
        (g,) = torch.autograd.grad(v.sum(), xh, create_graph=True)
        per = g.reshape(v.shape[0], -1).norm(2, dim=1)  # one norm per (packed) D input
        return ((per - 1) ** 2).mean()

    def _d_update(self, B: int, lc: Any) -> torch.Tensor:
        x, y = self._real_batch(B)
        yf = self._sample_labels(B)
        with torch.no_grad():
            xf = self.G(self.sample_z(B), yf) if yf is not None else self.G(self.sample_z(B))
        loss, v_r, v_f = self._d_forward(x, xf, y, yf, lc)
        grads = torch.autograd.grad(loss, self.d_params)
        gn = _grad_norm(list(grads))
        loss_v, gn_v = torch.stack([loss.detach(), gn]).tolist()  # one read-back for the guard
        if not (math.isfinite(loss_v) and math.isfinite(gn_v)):
            what = "loss" if not math.isfinite(loss_v) else "gradient"
            raise TrainingDiverged(
                f"discriminator {what} became {loss_v if what == 'loss' else gn_v} at step "
                f"{self.step_count + 1} (loss '{lc.name}'); the update was not applied. Lower the "
                "learning rates, add a gradient penalty or spectral norm, or go back to the last good state.")
        for p, g in zip(self.d_params, grads):
            p.grad = g
        self.opt_d.step()
        if lc.name == "wgan" and lc.clip > 0:
            with torch.no_grad():
                torch._foreach_clamp_min_(self.d_params, -lc.clip)
                torch._foreach_clamp_max_(self.d_params, lc.clip)
        with torch.no_grad():
            v_r, v_f = v_r.detach(), v_f.detach()
            val = -torch.nn.functional.softplus(-v_r).mean() - torch.nn.functional.softplus(v_f).mean()
            return torch.stack([loss.detach(), torch.sigmoid(v_r).mean(), torch.sigmoid(v_f).mean(),
                                v_r.mean(), v_f.mean(), gn, val])

    @torch.no_grad()
    def _d_eval(self, B: int, lc: Any) -> torch.Tensor:
        x, y = self._real_batch(B)
        yf = self._sample_labels(B)
        xf = self.G(self.sample_z(B), yf) if yf is not None else self.G(self.sample_z(B))
        v_r = self.D(x, y) if y is not None else self.D(x)
        v_f = self.D(xf, yf) if yf is not None else self.D(xf)
        loss = L.d_loss(lc.name, v_r, v_f, lc.real_label)
        val = -torch.nn.functional.softplus(-v_r).mean() - torch.nn.functional.softplus(v_f).mean()
        return torch.stack([loss, torch.sigmoid(v_r).mean(), torch.sigmoid(v_f).mean(),
                            v_r.mean(), v_f.mean(), torch.zeros((), device=self.device), val])

    def _unrolled_params(self, lc: Any, B: int) -> dict[str, torch.Tensor]:
        """D's parameters after ``unrolled`` look-ahead SGD steps, kept differentiable w.r.t. G."""
        params = dict(self.D.named_parameters())
        buffers = dict(self.D.named_buffers())
        lr = self.cfg.train.lr_d
        for _ in range(self.cfg.train.unrolled):
            x, y = self._real_batch(B)
            yf = self._sample_labels(B)
            xf = self.G(self.sample_z(B), yf) if yf is not None else self.G(self.sample_z(B))
            args_r = (x, y) if y is not None else (x,)
            args_f = (xf, yf) if yf is not None else (xf,)
            v_r = functional_call(self.D, (params, buffers), args_r)
            v_f = functional_call(self.D, (params, buffers), args_f)
            ld = L.d_loss(lc.name, v_r, v_f, lc.real_label)
            grads = torch.autograd.grad(ld, list(params.values()), create_graph=True)
            params = {n: p - lr * g for (n, p), g in zip(params.items(), grads)}
        return params

    def _g_update(self, B: int, lc: Any) -> torch.Tensor:
        yf = self._sample_labels(B)
        if self.cfg.train.unrolled > 0:
            params = self._unrolled_params(lc, B)
            xf = self.G(self.sample_z(B), yf) if yf is not None else self.G(self.sample_z(B))
            args = (xf, yf) if yf is not None else (xf,)
            v_f = functional_call(self.D, (params, dict(self.D.named_buffers())), args)
        else:
            xf = self.G(self.sample_z(B), yf) if yf is not None else self.G(self.sample_z(B))
            v_f = self.D(xf, yf) if yf is not None else self.D(xf)
        loss = L.g_loss(lc.name, v_f)
        grads = torch.autograd.grad(loss, self.g_params)
        gn = _grad_norm(list(grads))
        loss_v, gn_v = torch.stack([loss.detach(), gn]).tolist()  # one read-back for the guard
        if not (math.isfinite(loss_v) and math.isfinite(gn_v)):
            what = "loss" if not math.isfinite(loss_v) else "gradient"
            raise TrainingDiverged(
                f"generator {what} became {loss_v if what == 'loss' else gn_v} at step "
                f"{self.step_count + 1} (loss '{lc.name}'); the update was not applied. Lower the "
                "learning rates or change the loss, or go back to the last good state.")
        for p, g in zip(self.g_params, grads):
            p.grad = g
        self.opt_g.step()
        if self.G_ema is not None:
            self._update_ema()
        return torch.stack([loss.detach(), gn])

    # ------------------------------------------------------------------ EMA
    def _start_ema(self) -> None:
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def _update_ema(self) -> None:
        assert self.G_ema is not None
        d = self.cfg.train.ema
        torch._foreach_lerp_(list(self.G_ema.parameters()), self.g_params, 1 - d)
        for b_e, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_e.copy_(b)

    # ------------------------------------------------------------------ live changes
    def set(self, path: str, raw: Any) -> None:
        """Change one config field between steps; raises ``NeedsReset`` for structural fields."""
        if path not in LIVE_FIELDS:
            raise NeedsReset(f"'{path}' changes the networks or the data; reset to apply it")
        set_field(self.cfg, path, raw)
        tc = self.cfg.train
        if self.cfg.train.batch_size % tc.pack:
            raise ConfigError(f"'train.batch_size' must be a multiple of train.pack ({tc.pack})")
        for opt, lr, name in ((self.opt_d, tc.lr_d, tc.opt_d), (self.opt_g, tc.lr_g, tc.opt_g)):
            for group in opt.param_groups:
                group["lr"] = lr
                if name == "adam":
                    group["betas"] = (tc.beta1, tc.beta2)
                elif name == "sgd":
                    group["momentum"] = tc.momentum
        if tc.ema > 0 and self.G_ema is None:
            self._start_ema()
        elif tc.ema == 0:
            self.G_ema = None

    def get(self, path: str) -> Any:
        return get_field(self.cfg, path)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit for bit: networks, optimisers, RNG, config."""
        sd = {
            "format": "ganplay-trainer-1",
            "config": to_dict(self.cfg),
            "step": self.step_count,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.gen.get_state(),
        }
        if self.G_ema is not None:
            sd["G_ema"] = self.G_ema.state_dict()
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.G.load_state_dict(sd["G"])
        self.D.load_state_dict(sd["D"])
        # Optimizer.load_state_dict keeps the given tensors; copy them so two trainers never share state.
        self.opt_g.load_state_dict(copy.deepcopy(sd["opt_g"]))
        self.opt_d.load_state_dict(copy.deepcopy(sd["opt_d"]))
        self.gen.set_state(sd["rng"].cpu())
        self.step_count = int(sd["step"])
        if "G_ema" in sd:
            if self.G_ema is None:
                self._start_ema()
            assert self.G_ema is not None
            self.G_ema.load_state_dict(sd["G_ema"])
        elif self.G_ema is not None:
            self._start_ema()  # a checkpoint without EMA: start the average from the loaded G
        self._remember_good()

    def _remember_good(self) -> None:
        self._last_good = copy.deepcopy(self.state_dict())

    def restore_last_good(self) -> int:
        """Go back to the last remembered state (taken every ``good_every`` steps); returns its step."""
        assert self._last_good is not None
        self.load_state_dict(copy.deepcopy(self._last_good))
        return self.step_count

    @property
    def last_good_step(self) -> int:
        return int(self._last_good["step"]) if self._last_good else 0
