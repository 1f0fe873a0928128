"""The trainer: one ``step()`` = k discriminator updates + 1 generator update.

Design points:
- All randomness (data, z, GP interpolation) comes from one ``torch.Generator`` seeded from the
  config, and networks are initialised under a forked global RNG, so the same seed gives the same
  numbers on the CPU and the trainer never disturbs the caller's RNG.
- A non-finite loss or gradient is caught *before* the optimiser applies it, so the networks are
  never corrupted; ``TrainingDiverged`` says which network and which quantity failed.
- Live hyperparameters (``LIVE_FIELDS``) change between steps via ``set``; the rest need a rebuild.
- The update itself (``d_update`` / ``g_update`` and the per-member functions they call) is
  written once, for any :class:`UpdateTarget`: the Trainer is one, and so is the batched compare
  (``compare_batched.BatchedGroup``), which runs the same code on stacked members.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from . import losses as L
from .config import LIVE_FIELDS, MAX_BATCH, MAX_WIDTH, Config, ConfigError, get_field, set_field, to_dict
from .data import make_data
from .device import resolve_device
from .memory_estimate import LIVE_SIZE_FIELDS, check_change, check_fits
from .models import MLPDiscriminator, MLPGenerator, init_weights, sample_prior, set_data_units


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
    if cfg.model.bigan:   # D judges (x, z) pairs and holds the encoder (engine/bigan.py)
        from .bigan import build_bigan

        return build_bigan(cfg, data)
    n_classes = getattr(data, "n_classes", 0) if cfg.model.conditional else 0
    if cfg.model.arch == "dcgan":
        from .image_models import build_dcgan  # only image runs need it

        return build_dcgan(cfg, data, n_classes)
    out_tanh = getattr(data, "image_shape", None) is not None  # images live in [-1, 1]
    G = MLPGenerator(cfg.model, data.dim, n_classes, out_tanh=out_tanh)
    D = MLPDiscriminator(cfg.model, data.dim, cfg.train.pack, n_classes,
                         data_units=cfg.model.data_norm and not out_tanh)
    if cfg.model.data_norm and hasattr(data, "spread"):
        centre, scale = data.spread()
        set_data_units(G, centre, scale)
        set_data_units(D, centre, scale)
    return G, D


LR_FLOOR = 0.1   # train.lr_decay_from: the rates end at a tenth


def lr_factor(tc: Any, step: int) -> float:
    """What the learning rates are multiplied by before update ``step + 1``: 1 until
    ``lr_decay_from`` x ``steps``, then linearly down to ``LR_FLOOR`` at ``steps``, then flat."""
    start = tc.lr_decay_from * tc.steps
    if tc.lr_decay_from >= 1 or tc.steps <= 0 or step <= start:
        return 1.0
    return 1.0 - (1.0 - LR_FLOOR) * min(1.0, (step - start) / max(1.0, tc.steps - start))


def noise_std(tc: Any, step: int) -> float:
    """``train.instance_noise`` before update ``step + 1``: linearly down to 0 at ``noise_until`` x
    ``steps``, then none."""
    end = tc.noise_until * tc.steps
    if tc.instance_noise <= 0 or step >= end:
        return 0.0
    return tc.instance_noise * (1.0 - step / end)


def step_budget(tc: Any, n_modes: int) -> int:
    """The steps a run trains: ``train.steps``, raised to ``steps_per_mode`` x the data's modes.
    Why: each mode costs G steps to find and D steps to pin down, so a 7x7 grid needs about twice
    the 5x5 grid's budget (measured with ``ganplay sweep --table stable-robustness-edges``).
    Idempotent, so a resolved config resolves to itself."""
    return max(tc.steps, tc.steps_per_mode * n_modes) if tc.steps_per_mode > 0 else tc.steps


NARROW_MAX = 4.0   # train.narrow_width: the batch grows 4x at most (a 1024 batch for stable's 256)


def narrow_factor(tc: Any, relative_width: float | None) -> float:
    """How much narrower than ``narrow_width`` (in units of the data's spread) the modes are,
    between 1 and ``NARROW_MAX``; 1 when off or for data without Gaussian modes."""
    if tc.narrow_width <= 0 or not relative_width:
        return 1.0
    return min(NARROW_MAX, max(1.0, tc.narrow_width / relative_width))


def late_start(tc: Any) -> float:
    """The step from which ``train.late_batch_size`` replaces the batch: where the rates start to fall."""
    return tc.lr_decay_from * tc.steps


def batch_at(tc: Any, step: int) -> int:
    """The batch of update ``step + 1``: ``train.batch_size``, then ``late_batch_size`` (when set)
    from :func:`late_start` on."""
    return tc.late_batch_size if tc.late_batch_size and step >= late_start(tc) else tc.batch_size


def resolve_budget(tc: Any, n_modes: int, relative_width: float | None) -> None:
    """Turns the data-derived fields of ``tc`` into the batch and steps a run trains, in place.

    ``steps_per_mode`` raises the steps (:func:`step_budget`); ``narrow_width`` multiplies the batch
    by :func:`narrow_factor` f from the step the rates start to fall on (``late_batch_size``) and a
    per-mode budget by sqrt(f); the batch grows from the start without a rate decay, or where the
    modes are narrower than ``NARROW_MAX`` x the batch makes up for. Why: narrow modes (the ring of
    radius 5 with std 0.005) are found at 256 samples a batch but stay blurred by the gradients'
    noise; 4x the batch and 2x the steps sharpened its worst seed from 25 % to 83 % high quality.
    Where the 4x batch is enough, it sharpens and finding the modes does not need it: with it from
    the start the ring of 3 (radius 2, std 0.005, f = 4) lost a mode in one seed of three within
    400 steps (3/3 at 97.7 % or better with it from half-way), and the first half costs a quarter.
    Where it is not (that ring of 12 at radius 5, 10x narrower), the modes need it all along: from
    half-way its three seeds fell from 73.6 % to 61.4 % high quality on average. There, what the
    capped batch leaves of the ratio goes into the steps as well: the base budget (``train.steps``)
    grows by the square root of the whole ratio (up to ``NARROW_MAX`` squared), so that ring trains
    63,200 steps, and its seeds went from 77.5 / 60.4 / 82.8 % high quality at 40,000 steps to
    85.2 / 77.0 / 89.8 %. (The 7x7 grids' per-mode budget is larger than that already.)
    The resolved config says what trains (``narrow_width`` is then 0), so it resolves to itself."""
    steps = step_budget(tc, n_modes)
    f = narrow_factor(tc, relative_width)
    if f > 1:
        ratio = tc.narrow_width / relative_width        # f before the cap
        unit = math.lcm(16, tc.pack)
        narrow = min(MAX_BATCH, max(tc.batch_size, unit * round(tc.batch_size * f / unit)))
        if tc.lr_decay_from >= 1 or ratio > NARROW_MAX:
            tc.batch_size = narrow
        elif narrow > tc.batch_size:
            tc.late_batch_size = max(tc.late_batch_size, narrow)
        if tc.steps_per_mode > 0:
            steps = max(steps, 100 * round(steps * math.sqrt(f) / 100),
                        100 * round(tc.steps * math.sqrt(min(NARROW_MAX ** 2, ratio)) / 100))
    tc.steps = steps
    tc.narrow_width = 0.0


def mode_scale(tc: Any, n_modes: int) -> int:
    """How many times more modes than ``train.many_modes`` the data has, as a power of two rounded
    up (1 when off, for data without modes, or for up to ``many_modes`` modes): 49 modes against
    ``stable``'s 25 give 2."""
    if tc.many_modes <= 0 or n_modes <= tc.many_modes:
        return 1
    return 1 << math.ceil(math.log2(n_modes / tc.many_modes))


def discriminator_width(cfg: Config, n_modes: int) -> int:
    """D's hidden units: ``model.d_width`` times :func:`mode_scale`. Why: on the 7x7 grid a 128-unit
    D let one seed in three leave a whole row or column of modes (nearly) empty; 256 units found all
    49 where the modes were not the narrowest."""
    return min(MAX_WIDTH, cfg.model.d_width * mode_scale(cfg.train, n_modes))


MIN_PACKS = 256   # train.many_modes: D judges at least this many packs a batch


def pack_size(tc: Any, n_modes: int) -> int:
    """PacGAN's pack: ``train.pack`` times :func:`mode_scale`, halved back while the batch holds fewer
    than ``MIN_PACKS`` packs (or does not divide by the pack); :func:`many_modes_batch` grows the
    batch first, so this happens only at ``MAX_BATCH``. Why: each of many modes holds little mass,
    and a larger pack shows D a missing one more often. On the narrow 7x7 grid (spacing 4, std 0.01)
    a pack of 2 left a column empty in one seed of three (42-45/49); a pack of 4 at 1,024 a batch
    found all 49 at 92 %. At 288 a batch (72 packs) a pack of 4 blurred every mode (46 % high
    quality), hence the floor of packs."""
    pack = tc.pack * mode_scale(tc, n_modes)
    while pack > tc.pack and (tc.batch_size % pack or tc.late_batch_size % pack or tc.batch_size // pack < MIN_PACKS):
        pack //= 2
    return pack


def many_modes_batch(tc: Any, n_modes: int, batch: int | None = None) -> int:
    """``batch`` (default: the batch), grown (never shrunk) to ``MIN_PACKS`` packs of the scaled pack,
    a multiple of it: 1,024 for the 7x7 grid's pack of 4. Why: with the pack of 4 only where the batch
    already held 256 packs, the wide 7x7 grid (spacing 2, std 0.1) trained at 256 a batch with a pack
    of 2 and left a column thin in one seed of three (48/49); at 1,024 with a pack of 4 it found all
    49 at 94 %."""
    batch = tc.batch_size if batch is None else batch
    pack = tc.pack * mode_scale(tc, n_modes)
    if pack <= tc.pack:
        return batch
    unit = math.lcm(16, pack)
    want = max(batch, pack * MIN_PACKS)
    return min(MAX_BATCH, unit * math.ceil(want / unit))


def resolve_for_data(cfg: Config, n_modes: int, relative_width: float | None) -> tuple[str, ...]:
    """Turns every data-derived field of ``cfg`` into what a run trains, in place: the batch and the
    steps (:func:`resolve_budget`), the batch again for many modes (:func:`many_modes_batch`), the
    pack (:func:`pack_size`, from the resolved batch) and D's width (:func:`discriminator_width`).
    Returns the fields whose rule changed something, for :func:`budget_note`."""
    tc = cfg.train
    why = [name for name, on in (
        ("train.steps_per_mode", step_budget(tc, n_modes) != tc.steps),
        ("train.narrow_width", narrow_factor(tc, relative_width) > 1),
        ("train.many_modes", mode_scale(tc, n_modes) > 1)) if on]
    resolve_budget(tc, n_modes, relative_width)
    if tc.late_batch_size:
        tc.late_batch_size = many_modes_batch(tc, n_modes, tc.late_batch_size)
    tc.batch_size = many_modes_batch(tc, n_modes)
    if tc.late_batch_size <= tc.batch_size:   # the many modes' batch from the start covers the narrow one
        tc.late_batch_size = 0
    cfg.model.d_width = discriminator_width(cfg, n_modes)
    tc.pack = pack_size(tc, n_modes)
    tc.many_modes = 0
    return tuple(why)


def resolve_for(cfg: Config, data: Any) -> tuple[str, ...]:
    """:func:`resolve_for_data` for a data object (data without Gaussian modes: nothing of theirs
    resolves), as the Trainer and the batched compare's keys both need it."""
    return resolve_for_data(cfg, getattr(data, "n_modes", 0), getattr(data, "relative_width", None))


def budget_note(asked: Config, resolved: Config, why: Sequence[str]) -> str:
    """One line saying what :func:`resolve_for_data` changed ("" when nothing) and the fields ``why``
    it did, for the CLI and the window: a user who picked ``stable`` sees why the run is longer than
    its 20,000 steps."""
    a, r = asked.train, resolved.train
    later = (f"{r.late_batch_size:,} from step {math.ceil(late_start(r)):,}"
             if r.late_batch_size and r.late_batch_size != a.late_batch_size else "")
    moved = []
    for name, x, y in (("train.steps", a.steps, r.steps), ("train.batch_size", a.batch_size, r.batch_size),
                       ("train.pack", a.pack, r.pack), ("model.d_width", asked.model.d_width, resolved.model.d_width)):
        if name == "train.batch_size" and later:   # the batch says where the late one takes over
            moved.append(f"{name} {x:,} -> {y:,}, then {later}" if x != y else f"{name} {x:,} -> {later}")
        elif x != y:
            moved.append(f"{name} {x:,} -> {y:,}")
    if not moved:
        return ""
    said = moved[0] if len(moved) == 1 else f"{', '.join(moved[:-1])} and {moved[-1]}"
    return f"{said} for this data ({', '.join(why)})"


def make_optimizer(name: str, params: Any, lr: float, tc: Any) -> torch.optim.Optimizer:
    """The optimiser of one network (or of a run of stacked members, see compare_batched)."""
    # Adam and SGD use the fused kernels (CPU and CUDA): one call per update instead of ~8 small
    # ops per parameter, the largest per-step overhead for small MLPs. Runs stay seeded-exact.
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=tc.momentum, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=tc.momentum if tc.momentum < 0.5 else 0.0)
    return torch.optim.Adam(params, lr=lr, betas=(tc.beta1, tc.beta2), fused=True)


# ============================================================================ the update step
# One definition of a D update and a G update. ``d_update`` / ``g_update`` run on an
# ``UpdateTarget``: a Trainer (one member: plain tensors, plain calls) or a batched group of P
# members (tensors with a leading member axis; ``per_member_loss`` vmaps the per-member
# objectives below over the members that share a loss config, and the statistics reduce the
# last axis only). Everything a member computes is defined here; the targets only supply
# networks, draws, optimiser steps and bookkeeping.

class UpdateTarget(Protocol):
    d_params: list[torch.Tensor]     # what D's update differentiates and steps
    g_params: list[torch.Tensor]
    any_r1: bool                     # some member uses the R1 penalty
    gp_rows: torch.Tensor | None     # members with a gradient penalty; None: all of them

    def d_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any, Any]:
        """(real x, fake G(z) without grad, GP interpolation weights or None, y, y_fake), drawn
        in the one order every member uses: real batch, fake labels, z, interpolation weights."""

    def d_scores(self, x: torch.Tensor, y: Any = None, rows: torch.Tensor | None = None) -> torch.Tensor:
        """D's raw scores (of the members ``rows``; None: all)."""

    def g_scores(self) -> torch.Tensor:
        """Draw fake labels and z, and score G(z) with D as G's update sees D."""

    def per_member_loss(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        """``fn(loss_config, *args)`` for each member: a plain call, or a vmap over members."""

    def grad_norms(self, grads: Sequence[torch.Tensor]) -> torch.Tensor: ...

    def check_update(self, who: str, loss: torch.Tensor, gn: torch.Tensor) -> None:
        """Stop the members whose loss or gradient is not finite (see ``find_divergence``)."""

    def apply_d(self, grads: Sequence[torch.Tensor]) -> None: ...
    def apply_g(self, grads: Sequence[torch.Tensor]) -> None: ...


def gp_weight(lc: Any) -> float:
    """Weight of the one-centred gradient penalty on interpolates (WGAN-GP's lambda + ``gp``)."""
    return (lc.gp_lambda if lc.name == "wgan-gp" else 0.0) + lc.gp


def clip_bound(lc: Any) -> float | None:
    """WGAN's weight clipping bound, None when D is not clipped."""
    return lc.clip if lc.name == "wgan" and lc.clip > 0 else None


def d_objective(lc: Any, v_r: torch.Tensor, v_f: torch.Tensor, gp_grad: torch.Tensor | None,
                r1_grad: torch.Tensor | None) -> torch.Tensor:
    """One member's D loss: the loss of its scores plus the gradient penalties, given D's input
    gradients on the interpolates (``gp_grad``) and on the real batch (``r1_grad``)."""
    loss = L.d_loss(lc.name, v_r, v_f, lc.real_label)
    w = gp_weight(lc)
    if w > 0:
        assert gp_grad is not None
        per = gp_grad.reshape(v_r.shape[0], -1).norm(2, dim=1)  # one norm per (packed) D input
        loss = loss + w * ((per - 1) ** 2).mean()
    if lc.r1 > 0:
        assert r1_grad is not None
        loss = loss + lc.r1 / 2 * r1_grad.pow(2).reshape(r1_grad.shape[0], -1).sum(1).mean()
    return loss


def g_objective(lc: Any, v_f: torch.Tensor) -> torch.Tensor:
    """One member's G loss."""
    return L.g_loss(lc.name, v_f)


def d_stats(loss: torch.Tensor, v_r: torch.Tensor, v_f: torch.Tensor, gn: torch.Tensor) -> torch.Tensor:
    """D's statistics: loss, mean sigmoid(D) on real and fake, mean raw scores, gradient norm, and
    V(D, G) as this D sees it (the order ``step_stats`` reads them in). Reduces the last axis
    only, so stacked members (scores ``(P, N)``, losses ``(P,)``) give one row each."""
    val = -torch.nn.functional.softplus(-v_r).mean(-1) - torch.nn.functional.softplus(v_f).mean(-1)
    return torch.stack([loss, torch.sigmoid(v_r).mean(-1), torch.sigmoid(v_f).mean(-1),
                        v_r.mean(-1), v_f.mean(-1), gn, val], -1)


def g_stats(loss: torch.Tensor, gn: torch.Tensor) -> torch.Tensor:
    return torch.stack([loss, gn], -1)


def step_stats(step: int, d_vals: Sequence[float], g_vals: Sequence[float]) -> StepStats:
    """StepStats from ``d_stats`` and ``g_stats`` read back as floats."""
    loss_d, d_real, d_fake, s_r, s_f, gd, jsd_v = d_vals
    loss_g, gg = g_vals
    jsd = max(0.0, (jsd_v + math.log(4)) / 2)
    return StepStats(step, loss_d, loss_g, d_real, d_fake, s_r, s_f, gd, gg, jsd)


def grad_norm(grads: Sequence[torch.Tensor], members: bool = False) -> torch.Tensor:
    """L2 norm of a network's gradient; ``members``: one norm per row of stacked gradients."""
    if members:
        per = [torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads]
        return torch.linalg.vector_norm(torch.stack(per, 1), dim=1)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(list(grads))))


def find_divergence(loss: torch.Tensor, gn: torch.Tensor) -> list[tuple[str, float] | None]:
    """Per member: None when its loss and gradient norm are finite, else (quantity, value).
    One read-back for all members."""
    vals = torch.stack([loss.detach(), gn]).tolist()
    pairs = [vals] if loss.dim() == 0 else zip(*vals)
    return [None if math.isfinite(lv) and math.isfinite(gv) else
            ("loss", lv) if not math.isfinite(lv) else ("gradient", gv) for lv, gv in pairs]


def divergence_message(who: str, what: str, value: float, step: int, loss_name: str) -> str:
    hint = ("Lower the learning rates, add a gradient penalty or spectral norm, or go back to the "
            "last good state." if who == "discriminator" else
            "Lower the learning rates or change the loss, or go back to the last good state.")
    return (f"{who} {what} became {value} at step {step} (loss '{loss_name}'); the update was not "
            f"applied. {hint}")


def apply_update(opt: torch.optim.Optimizer, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> None:
    for p, g in zip(params, grads):
        if g.stride() != p.stride():
            # The fused kernels walk a gradient in its parameter's memory layout, whatever its
            # strides (a transposed bmm gradient of a stacked weight came out permuted).
            g = torch.empty_like(p).copy_(g)
        p.grad = g
    opt.step()


@torch.no_grad()
def clip_(params: list[torch.Tensor], c: float) -> None:
    torch._foreach_clamp_min_(params, -c)
    torch._foreach_clamp_max_(params, c)


@torch.no_grad()
def ema_update_(ema: list[torch.Tensor], params: list[torch.Tensor], decay: float) -> None:
    torch._foreach_lerp_(ema, params, 1 - decay)


def _total(loss: torch.Tensor) -> torch.Tensor:
    return loss if loss.dim() == 0 else loss.sum()   # members are independent: one backward


def d_update(t: UpdateTarget) -> torch.Tensor:
    """One discriminator update of every member of ``t``; returns the ``d_stats`` per member.
    A member whose loss or gradient is not finite is stopped (a Trainer raises
    ``TrainingDiverged``) before the optimiser touches it."""
    x, xf, eps, y, yf = t.d_batch()
    if t.any_r1:
        x = x.detach().requires_grad_(True)
    v_r = t.d_scores(x, y)
    v_f = t.d_scores(xf, yf)
    gp_grad = r1_grad = None
    if eps is not None:
        rows = t.gp_rows
        xr, xfr = (x.detach(), xf) if rows is None else (x.detach()[rows], xf[rows])
        xh = (eps * xr + (1 - eps) * xfr).requires_grad_(True)
        (gp_grad,) = torch.autograd.grad(t.d_scores(xh, y, rows).sum(), xh, create_graph=True)
        if rows is not None:   # back to one row per member; the others' rows are never read
            gp_grad = gp_grad.new_zeros(x.shape).index_copy(0, rows, gp_grad)
    if t.any_r1:
        (r1_grad,) = torch.autograd.grad(v_r.sum(), x, create_graph=True)
    loss = t.per_member_loss(d_objective, v_r, v_f, gp_grad, r1_grad)
    grads = torch.autograd.grad(_total(loss), t.d_params)
    gn = t.grad_norms(grads)
    t.check_update("discriminator", loss, gn)
    t.apply_d(grads)
    return d_stats(loss.detach(), v_r.detach(), v_f.detach(), gn)


def g_update(t: UpdateTarget) -> torch.Tensor:
    """One generator update of every member of ``t``; returns the ``g_stats`` per member."""
    v_f = t.g_scores()
    loss = t.per_member_loss(g_objective, v_f)
    grads = torch.autograd.grad(_total(loss), t.g_params)
    gn = t.grad_norms(grads)
    t.check_update("generator", loss, gn)
    t.apply_g(grads)
    return g_stats(loss.detach(), gn)


class Trainer:
    """Owns G, D, their optimisers and the data stream for one GAN."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "Trainer":
        # a training mode with networks of its own is a subclass; every place that builds
        # ``Trainer(cfg)`` (CLI, window, sessions, fallback) gets it without knowing
        cfg = args[0] if args else kwargs.get("cfg")
        if cls is Trainer and cfg is not None and cfg.model.bigan:
            from .bigan import BiGANTrainer

            cls = BiGANTrainer
        return super().__new__(cls)

    def __init__(self, cfg: Config, *, points: np.ndarray | None = None, data: Any = None,
                 device: torch.device | str | None = None):
        cfg = cfg.copy().validate()
        self.cfg = cfg
        if device is None:
            self.device, self.device_message = resolve_device(cfg.train.device)
        else:
            self.device, self.device_message = torch.device(device), None
        # sizes that cannot fit together are refused here, before the data or a network take memory
        check_fits(cfg, self.device)
        self.points = points
        self._noise_unit: float | None = None   # train.instance_noise's unit: the data's spread, found once
        self.data = data if data is not None else make_data(cfg.data, points)
        self.n_classes = getattr(self.data, "n_classes", 0) if cfg.model.conditional else 0
        # the config as asked for (the window's setup panel shows it: the recipe, not its resolution)
        self.requested_cfg = cfg.copy()
        why = resolve_for(cfg, self.data)
        self.budget_note = budget_note(self.requested_cfg, cfg, why)
        if self.budget_note:   # a larger batch, pack or D must fit too
            check_fits(cfg, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.train.seed)
            G, D = build_networks(cfg, self.data)
            init_weights(G, cfg.model.init)
            init_weights(D, cfg.model.init)
        self.G = G.to(self.device)
        self.D = D.to(self.device)
        self.g_params = [p for p in self.G.parameters()]
        self.d_params = [p for p in self.D.parameters()]
        # BatchNorm statistics and spectral norm's power-iteration vectors change in the forward
        # pass, before the divergence check sees a loss: they are checked and rolled back too.
        self._buffers = [(f"{net}.{name}", b) for net, m in (("G", self.G), ("D", self.D))
                         for name, b in m.named_buffers()
                         if b.is_floating_point() and not name.startswith("units.")]   # constants
        self.gen = torch.Generator(self.device).manual_seed(cfg.train.seed)
        self.opt_g = make_optimizer(cfg.train.opt_g, self.g_params, cfg.train.lr_g, cfg.train)
        self.opt_d = make_optimizer(cfg.train.opt_d, self.d_params, cfg.train.lr_d, cfg.train)
        self._lr_factor = 1.0   # what the optimisers' rates are multiplied by now
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
    def step(self, mode: str = "both", target: UpdateTarget | None = None) -> StepStats:
        """k D-updates then one G-update (``mode`` 'd' or 'g' runs only one side, as GAN Lab does).
        ``target``: a stand-in for this trainer in the updates (``iteration.Recorder``: the same
        arithmetic, with the intermediate tensors kept for slow motion and the formulas)."""
        t: UpdateTarget = self if target is None else target
        tc = self.cfg.train
        if lr_factor(tc, self.step_count) != self._lr_factor:
            self._apply_lrs()
        stats_d = stats_g = None
        bufs = [b for _, b in self._buffers]
        # one flat copy and, below, one finiteness flag in the stats' single read-back
        saved = torch.cat([b.reshape(-1) for b in bufs]) if bufs else None
        try:
            if mode in ("both", "d"):
                k = tc.d_steps if mode == "both" else max(1, tc.d_steps)
                for _ in range(k):
                    stats_d = d_update(t)
            if mode in ("both", "g"):
                stats_g = g_update(t)
        except TrainingDiverged:
            # the failed update was not applied; put the statistics its forward pass moved back,
            # so the live state (and a session saved now) stays finite
            self._restore_buffers(saved)
            raise
        if stats_d is None:
            stats_d = self._d_eval(batch_at(tc, self.step_count))
        if stats_g is None:  # G was not updated: its loss and gradient were not computed
            stats_g = torch.full((2,), float("nan"), device=self.device)
        parts = [stats_d, stats_g]
        if bufs:
            parts.append(torch.cat([b.reshape(-1) for b in bufs]).isfinite().all().to(stats_d.dtype).reshape(1))
        vals = torch.cat(parts).tolist()
        if bufs and not vals[9]:
            message = self._bad_buffer_message()
            self._restore_buffers(saved)
            raise TrainingDiverged(message)
        self.step_count += 1
        if self.step_count % self.good_every == 0:
            self._remember_good()
        return step_stats(self.step_count, vals[:7], vals[7:9])

    def _fakes(self, z: torch.Tensor, yf: torch.Tensor | None) -> torch.Tensor:
        return self.G(z, yf) if yf is not None else self.G(z)

    # What d_update / g_update need (UpdateTarget): this Trainer is a single member.
    gp_rows = None

    @property
    def any_r1(self) -> bool:
        return self.cfg.loss.r1 > 0

    def d_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any, Any]:
        return self.d_draws()[:5]

    def d_draws(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any, Any, torch.Tensor]:
        """``d_batch`` and the z the fakes came from (slow motion links each fake to its z)."""
        B = batch_at(self.cfg.train, self.step_count)
        x, y = self._real_batch(B)
        yf = self._sample_labels(B)
        z = self.sample_z(B)
        eps = None
        if gp_weight(self.cfg.loss) > 0:
            eps = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), generator=self.gen, device=self.device)
        with torch.no_grad():
            xf = self._fakes(z, yf)
        s = self._noise()
        return self._blur(x, s), self._blur(xf, s), eps, y, yf, z

    def _noise(self) -> float:
        """This step's instance noise in data units (0 when off: the random streams stay untouched)."""
        s = noise_std(self.cfg.train, self.step_count)
        if s <= 0:
            return 0.0
        if self._noise_unit is None:
            spread = getattr(self.data, "spread", None)
            self._noise_unit = float(spread()[1]) if callable(spread) else 1.0
        return s * self._noise_unit

    def _blur(self, x: torch.Tensor, s: float) -> torch.Tensor:
        if s <= 0:   # no draw: a run without instance noise keeps its random streams
            return x
        return x + s * torch.randn(x.shape, generator=self.gen, device=self.device, dtype=x.dtype)

    def d_scores(self, x: torch.Tensor, y: Any = None, rows: Any = None) -> torch.Tensor:
        return self.D(x, y) if y is not None else self.D(x)

    def g_scores(self) -> torch.Tensor:
        return self.g_forward()[0]

    def g_forward(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """(D's scores of G(z), z, G(z), the fake labels): ``g_scores`` with what it scored."""
        B = batch_at(self.cfg.train, self.step_count)
        yf = self._sample_labels(B)
        if self.cfg.train.unrolled > 0:
            params = self._unrolled_params(self.cfg.loss, B)
            z = self.sample_z(B)
            xf = self._fakes(z, yf)
            seen = self._blur(xf, self._noise())
            args = (seen, yf) if yf is not None else (seen,)
            return functional_call(self.D, (params, dict(self.D.named_buffers())), args), z, xf, yf
        z = self.sample_z(B)
        xf = self._fakes(z, yf)
        return self.d_scores(self._blur(xf, self._noise()), yf), z, xf, yf

    def per_member_loss(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        return fn(self.cfg.loss, *args)

    def grad_norms(self, grads: Sequence[torch.Tensor]) -> torch.Tensor:
        return grad_norm(grads)

    def check_update(self, who: str, loss: torch.Tensor, gn: torch.Tensor) -> None:
        bad = find_divergence(loss, gn)[0]
        if bad is not None:
            raise TrainingDiverged(divergence_message(who, *bad, self.step_count + 1, self.cfg.loss.name))

    def apply_d(self, grads: Sequence[torch.Tensor]) -> None:
        apply_update(self.opt_d, self.d_params, grads)
        c = clip_bound(self.cfg.loss)
        if c is not None:
            clip_(self.d_params, c)

    def apply_g(self, grads: Sequence[torch.Tensor]) -> None:
        apply_update(self.opt_g, self.g_params, grads)
        if self.G_ema is not None:
            self._update_ema()

    @torch.no_grad()
    def _d_eval(self, B: int) -> torch.Tensor:
        lc = self.cfg.loss
        x, y = self._real_batch(B)
        yf = self._sample_labels(B)
        xf = self._fakes(self.sample_z(B), yf)
        v_r, v_f = self.d_scores(x, y), self.d_scores(xf, yf)
        loss = L.d_loss(lc.name, v_r, v_f, lc.real_label)
        return d_stats(loss, v_r, v_f, torch.zeros((), device=self.device))

    def _unrolled_params(self, lc: Any, B: int) -> dict[str, torch.Tensor]:
        """D's parameters after ``unrolled`` look-ahead SGD steps, kept differentiable w.r.t. G."""
        params = dict(self.D.named_parameters())
        buffers = dict(self.D.named_buffers())
        lr = self.cfg.train.lr_d * lr_factor(self.cfg.train, self.step_count)
        for _ in range(self.cfg.train.unrolled):
            x, y = self._real_batch(B)
            yf = self._sample_labels(B)
            xf = self._fakes(self.sample_z(B), yf)
            args_r = (x, y) if y is not None else (x,)
            args_f = (xf, yf) if yf is not None else (xf,)
            v_r = functional_call(self.D, (params, buffers), args_r)
            v_f = functional_call(self.D, (params, buffers), args_f)
            ld = L.d_loss(lc.name, v_r, v_f, lc.real_label)
            grads = torch.autograd.grad(ld, list(params.values()), create_graph=True)
            params = {n: p - lr * g for (n, p), g in zip(params.items(), grads)}
        return params

    # ------------------------------------------------------------------ EMA
    def _start_ema(self) -> None:
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def _update_ema(self) -> None:
        assert self.G_ema is not None
        ema_update_(list(self.G_ema.parameters()), self.g_params, self.cfg.train.ema)
        for b_e, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_e.copy_(b)

    # ------------------------------------------------------------------ live changes
    def set(self, path: str, raw: Any) -> None:
        """Change one config field between steps; raises ``NeedsReset`` for structural fields."""
        if path not in LIVE_FIELDS:
            raise NeedsReset(f"'{path}' changes the networks or the data; reset to apply it")
        if path in LIVE_SIZE_FIELDS:  # a larger batch (or unrolled steps, ...) must fit before it is taken
            new = self.cfg.copy()
            set_field(new, path, raw)
            check_change(self.cfg, new, self.device)
        set_field(self.cfg, path, raw)
        tc = self.cfg.train
        if path == "train.batch_size":   # the user's batch wins over a later one the data set
            tc.late_batch_size = 0
        if self.cfg.train.batch_size % tc.pack:
            raise ConfigError(f"'train.batch_size' must be a multiple of train.pack ({tc.pack})")
        self._apply_lrs()
        for opt, name in ((self.opt_d, tc.opt_d), (self.opt_g, tc.opt_g)):
            for group in opt.param_groups:
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

    def _apply_lrs(self) -> None:
        """The optimisers' rates: the config's, times the decay at this step (``lr_factor``)."""
        tc = self.cfg.train
        self._lr_factor = f = lr_factor(tc, self.step_count)
        for opt, lr in ((self.opt_d, tc.lr_d), (self.opt_g, tc.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * f

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
        self._apply_lrs()   # the config's rates at this step, whatever the saved optimisers held
        if "G_ema" in sd:
            if self.G_ema is None:
                self._start_ema()
            assert self.G_ema is not None
            self.G_ema.load_state_dict(sd["G_ema"])
        elif self.G_ema is not None:
            self._start_ema()  # a checkpoint without EMA: start the average from the loaded G
        self._remember_good()

    def _restore_buffers(self, saved: torch.Tensor | None) -> None:
        if saved is None:
            return
        at = 0
        for _, b in self._buffers:
            n = b.numel()
            b.copy_(saved[at:at + n].view_as(b))
            at += n

    def _bad_buffer_message(self) -> str:
        name = next(n for n, b in self._buffers if not bool(torch.isfinite(b).all()))
        return (f"step {self.step_count + 1}: {name} became NaN or infinite "
                "(BatchNorm statistics or spectral-norm vectors)")

    def _remember_good(self) -> None:
        self._last_good = copy.deepcopy(self.state_dict())

    def last_good_state(self) -> dict[str, Any]:
        """A copy of the last remembered good state (``state_dict`` form, its config included)."""
        assert self._last_good is not None
        return copy.deepcopy(self._last_good)

    def restore_last_good(self) -> int:
        """Go back to the last remembered state (taken every ``good_every`` steps), its live
        settings included (learning rates, k, ...: the optimisers and ``cfg`` agree afterwards);
        returns its step."""
        assert self._last_good is not None
        good = copy.deepcopy(self._last_good)
        self.load_state_dict(good)
        for path in sorted(LIVE_FIELDS):
            section, name = path.split(".")
            value = good["config"].get(section, {}).get(name)
            if value is not None and value != get_field(self.cfg, path):
                self.set(path, value)
        return self.step_count

    @property
    def last_good_step(self) -> int:
        return int(self._last_good["step"]) if self._last_good else 0
