"""Several same-shaped MLP GANs trained as ONE batched problem.

Each member's weights sit on a leading axis of shared tensors (``(P, out, in)`` per linear layer),
so one ``baddbmm`` runs a layer for every member at once: eight small GANs then cost far less than
eight separate trainers, whose time on a CPU is mostly per-operation overhead, not arithmetic.

Exactness: every member is first built as a real :class:`Trainer` (same seeding, same weights),
draws its data/z/GP batches from its own seeded generator in the order ``Trainer.step`` does,
does the same spectral-norm power iterations (one per D call) and the same optimiser arithmetic
(torch's single-tensor Adam/SGD/RMSprop written with per-member hyperparameter tensors).  What
remains is float reassociation in ``bmm`` vs ``linear`` (about 1e-6 after 50 steps, see tests).

The member's ``Trainer`` doubles as its *view*: ``sync_view(i)`` copies the stacked weights,
optimiser state, RNG and step count back into it, so every function in ``metrics`` and
``Trainer.state_dict`` works on a batched member unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import losses as L
from .config import IMAGE_DATASETS, Config, to_dict
from .models import sample_prior
from .trainer import StepStats, Trainer


def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed blocks of up to 32 MiB instead of returning them to the OS.

    A stacked activation of 8 members is ~1 MiB, above glibc's default 128 KiB mmap threshold,
    so without this every such tensor is a fresh mmap whose pages fault in on first touch
    (~2000 page faults and ~15% of a batched step on the CPU). Single trainers' tensors stay
    under the threshold, so they never paid this. Process-wide and harmless elsewhere;
    returns False where there is no glibc (macOS, Windows, musl).
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20) == 1
        return ok and libc.mallopt(m_trim_threshold, 128 << 20) == 1
    except (OSError, AttributeError):
        return False


def batch_key(cfg: Config) -> tuple | None:
    """Configs with equal keys can share one stacked problem; ``None``: this one trains alone.

    Loss, learning rates, label smoothing, GP/R1, spectral norm, EMA, init and seed may differ
    inside a group; what must match is everything that fixes tensor shapes or the optimiser kind,
    and k: members with more D steps would run their extra steps on gathered sub-stacks, which
    costs more than it saves (one k = 5 member outweighs several k = 1 members anyway).
    """
    m, t = cfg.model, cfg.train
    if (m.arch != "mlp" or m.conditional or m.latent_modes or t.unrolled > 0 or t.d_steps < 1
            or "batch" in (m.g_norm, m.d_norm) or cfg.data.name in IMAGE_DATASETS):
        return None
    data = tuple(sorted(to_dict(cfg)["data"].items()))
    return (data, m.latent_dim, m.g_depth, m.g_width, m.d_depth, m.d_width, m.g_activation,
            m.d_activation, m.g_norm, m.d_norm, t.pack, t.batch_size, t.opt_d, t.opt_g, t.device,
            t.d_steps)


def _uses_gp(cfg: Config) -> bool:
    return ((cfg.loss.gp_lambda if cfg.loss.name == "wgan-gp" else 0.0) + cfg.loss.gp) > 0


def _bc(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A (p,) tensor shaped to broadcast against a (p, ...) stack."""
    return t.reshape((-1,) + (1,) * (like.dim() - 1))


def _take(t: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
    return t if idx is None else t[idx]


# ---------------------------------------------------------------------------- stacked MLP
class _NarrowOut(torch.autograd.Function):
    """A linear layer with one output (D's score): the forward is the same ``baddbmm``, but the
    input gradient is a broadcast product, because CPU ``bmm`` with an inner size of 1 is ~20x
    slower than the multiply it amounts to. The backward uses differentiable ops, so gradient
    penalties (create_graph) still work."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, W)
        return torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, W = ctx.saved_tensors
        return g * W, torch.bmm(g.transpose(1, 2), h), g.sum(1)


@dataclass
class _Linear:
    w: int      # slot of the weight stack in StackedMLP.params
    b: int      # slot of the bias stack
    sn: int     # index into u/v lists, -1 when no member of the group normalises this layer


class StackedMLP:
    """The ``mlp()`` networks of P members as stacked tensors, with a batched forward pass."""

    def __init__(self, nets: Sequence[nn.Sequential], sn_mask: Sequence[bool], device: torch.device):
        self.ops: list[tuple[str, Any]] = []
        self.params: list[torch.Tensor] = []
        self.member_params: list[list[nn.Parameter]] = [[] for _ in nets]  # per member, slot order
        self.u: list[torch.Tensor] = []
        self.v: list[torch.Tensor] = []
        self.member_sn: list[list[Any]] = [[] for _ in nets]   # the _SpectralNorm modules or None
        self.sn_mask = torch.tensor(list(sn_mask), device=device)
        self.sn_list = list(sn_mask)
        self.any_sn = any(sn_mask)
        mods = [list(n) for n in nets]
        for layer in zip(*mods):
            first = layer[0]
            if isinstance(first, nn.Linear):
                ws = [_weight_param(m) for m in layer]
                w_slot = self._add([*ws])
                b_slot = self._add([m.bias for m in layer])
                sn = -1
                if self.any_sn:
                    sn = len(self.u)
                    us, vs, snm = [], [], []
                    for i, m in enumerate(layer):
                        par = _sn_module(m)
                        snm.append(par)
                        if par is not None:
                            us.append(par._u.detach().clone())
                            vs.append(par._v.detach().clone())
                        else:  # unused placeholders: this member's sigma is forced to 1
                            us.append(F.normalize(torch.ones(m.out_features, device=device), dim=0))
                            vs.append(F.normalize(torch.ones(m.in_features, device=device), dim=0))
                        self.member_sn[i].append(par)
                    self.u.append(torch.stack(us).to(device))
                    self.v.append(torch.stack(vs).to(device))
                self.ops.append(("linear", _Linear(w_slot, b_slot, sn)))
            elif isinstance(first, nn.LayerNorm):
                g_slot = self._add([m.weight for m in layer])
                b_slot = self._add([m.bias for m in layer])
                self.ops.append(("layer", (g_slot, b_slot, first.normalized_shape, first.eps)))
            elif isinstance(first, nn.LeakyReLU):
                self.ops.append(("act", ("leaky_relu", first.negative_slope)))
            elif isinstance(first, nn.ReLU):
                self.ops.append(("act", ("relu", 0.0)))
            elif isinstance(first, nn.Tanh):
                self.ops.append(("act", ("tanh", 0.0)))
            else:
                raise TypeError(f"cannot batch a {type(first).__name__} layer")

    def _add(self, per_member: list[nn.Parameter]) -> int:
        stack = torch.stack([p.detach() for p in per_member]).clone().requires_grad_(True)
        self.params.append(stack)
        for i, p in enumerate(per_member):
            self.member_params[i].append(p)
        return len(self.params) - 1

    def gather(self, idx: torch.Tensor | None) -> list[torch.Tensor]:
        """The parameter stacks of the members ``idx`` (all when None), differentiable."""
        return [_take(p, idx) for p in self.params]

    def forward(self, x: torch.Tensor, params: list[torch.Tensor], idx: torch.Tensor | None,
                power: bool = True) -> torch.Tensor:
        """x: (p, N, in) -> (p, N, out). ``power``: one power iteration per SN layer, as a
        spectrally normalised module does on every call in training mode."""
        h = x
        sn_rows = self.sn_list if idx is None else [self.sn_list[i] for i in idx.tolist()]
        use_sn = any(sn_rows)
        sn_mask = _take(self.sn_mask, idx) if use_sn else None
        for kind, arg in self.ops:
            if kind == "linear":
                W, b = params[arg.w], params[arg.b]
                if arg.sn >= 0 and use_sn:
                    assert sn_mask is not None
                    W = W / self._sigma(W, arg.sn, idx, sn_mask, power)
                if W.shape[1] == 1:
                    h = _NarrowOut.apply(h, W, b)
                else:
                    # bmm + in-place bias rather than baddbmm: baddbmm first copies the bias into
                    # a fresh output, an extra pass over ~1 MiB of cold memory per layer.
                    h = torch.bmm(h, W.transpose(1, 2)).add_(b.unsqueeze(1))
            elif kind == "layer":
                g_slot, b_slot, shape, eps = arg
                h = F.layer_norm(h, shape, eps=eps) * params[g_slot].unsqueeze(1) + params[b_slot].unsqueeze(1)
            else:
                # In place: the layer before never needs its output for its own backward, and
                # one 1 MiB buffer less per layer matters when the step is memory-bound.
                name, slope = arg
                if name == "relu":
                    h = torch.relu_(h)
                elif name == "leaky_relu":
                    h = F.leaky_relu_(h, slope)
                else:
                    h = torch.tanh_(h)
        return h

    def _sigma(self, W: torch.Tensor, j: int, idx: torch.Tensor | None, sn_mask: torch.Tensor,
               power: bool) -> torch.Tensor:
        u, v = _take(self.u[j], idx), _take(self.v[j], idx)
        # W v is computed as v^T W^T: on the CPU that is bit-identical to torch.mv(W, v), the
        # product the spectral-norm module uses, while bmm(W, v) is not.
        if power:
            with torch.no_grad():
                Wd = W.detach()
                u = F.normalize(torch.bmm(v.unsqueeze(1), Wd.transpose(1, 2)).squeeze(1), dim=1, eps=1e-12)
                v = F.normalize(torch.bmm(Wd.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12)
                if idx is None:
                    self.u[j].copy_(u)
                    self.v[j].copy_(v)
                else:
                    self.u[j][idx] = u
                    self.v[j][idx] = v
        sigma = (u * torch.bmm(v.unsqueeze(1), W.transpose(1, 2)).squeeze(1)).sum(1)
        return torch.where(sn_mask, sigma, torch.ones_like(sigma)).reshape(-1, 1, 1)

    # -------------------------------------------------------------- back into the member modules
    @torch.no_grad()
    def write_member(self, i: int, params: list[torch.Tensor] | None = None) -> None:
        src = self.params if params is None else params
        for stack, p in zip(src, self.member_params[i]):
            p.copy_(stack[i])
        for j, par in enumerate(self.member_sn[i]):
            if par is not None:
                par._u.copy_(self.u[j][i])
                par._v.copy_(self.v[j][i])


def _weight_param(lin: nn.Linear) -> nn.Parameter:
    if hasattr(lin, "parametrizations"):
        return lin.parametrizations.weight.original
    return lin.weight


def _sn_module(lin: nn.Linear) -> Any:
    if hasattr(lin, "parametrizations"):
        return lin.parametrizations.weight[0]
    return None


# ---------------------------------------------------------------------------- optimisers
def _f32(values: np.ndarray, device: torch.device) -> torch.Tensor:
    # Per-member scalars are computed in float64 (as torch does with Python floats) and rounded
    # once to float32, which is what a Python scalar becomes inside a float32 kernel.
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=torch.float32, device=device)


class StackedOptimizer:
    """torch's single-tensor Adam / SGD / RMSprop over stacked parameters, one lr (and betas,
    momentum) per member. Only the members being updated advance their step counters."""

    def __init__(self, kind: str, params: list[torch.Tensor], lr: Sequence[float],
                 beta1: Sequence[float], beta2: Sequence[float], momentum: Sequence[float]):
        self.kind = kind
        self.params = params
        self.lr = np.asarray(lr, np.float64)
        self.beta1 = np.asarray(beta1, np.float64)
        self.beta2 = np.asarray(beta2, np.float64)
        self.momentum = np.asarray(momentum, np.float64)
        self.steps = np.zeros(len(self.lr), np.int64)
        self.m = [torch.zeros_like(p, requires_grad=False) for p in params]   # exp_avg / momentum buffer
        self.v = [torch.zeros_like(p, requires_grad=False) for p in params]   # exp_avg_sq / square_avg
        self.use_momentum = kind != "adam" and bool((self.momentum > 0).any())

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], rows: list[int] | None) -> None:
        sel = np.arange(len(self.lr)) if rows is None else np.asarray(rows)
        idx = None if rows is None else torch.as_tensor(sel, device=self.params[0].device)
        self.steps[sel] += 1
        dev = self.params[0].device
        lr = self.lr[sel]
        if self.kind == "adam":
            n = self.steps[sel].astype(np.float64)
            b1, b2 = self.beta1[sel], self.beta2[sel]
            w1, w2 = _f32(1 - b1, dev), _f32(1 - b2, dev)
            b2_t = _f32(b2, dev)
            bc2_sqrt = _f32((1 - b2**n) ** 0.5, dev)
            neg_step = _f32(-(lr / (1 - b1**n)), dev)
        else:
            neg_lr = _f32(-lr, dev)
            mom = _f32(self.momentum[sel], dev)
        for k, (p, g) in enumerate(zip(self.params, grads)):
            ps, m, v = _take(p, idx), _take(self.m[k], idx), _take(self.v[k], idx)
            if self.kind == "adam":
                m.lerp_(g, _bc(w1, g))
                v.mul_(_bc(b2_t, g)).add_(_bc(w2, g) * g * g)
                denom = (v.sqrt() / _bc(bc2_sqrt, g)).add_(1e-8)
                ps.add_(_bc(neg_step, g) * m / denom)
            elif self.kind == "sgd":
                if self.use_momentum:
                    m.mul_(_bc(mom, g)).add_(g)
                    ps.add_(_bc(neg_lr, g) * m)
                else:
                    ps.add_(_bc(neg_lr, g) * g)
            else:  # rmsprop, alpha 0.99, eps 1e-8 (torch's defaults, as the Trainer uses)
                v.mul_(0.99).addcmul_(g, g, value=1 - 0.99)
                avg = v.sqrt().add_(1e-8)
                if self.use_momentum:
                    m.mul_(_bc(mom, g)).addcdiv_(g, avg)
                    ps.add_(_bc(neg_lr, g) * m)
                else:
                    ps.add_(_bc(neg_lr, g) * g / avg)
            if idx is not None:
                p[idx] = ps
                self.m[k][idx] = m
                self.v[k][idx] = v

    def member_state(self, i: int, k: int) -> dict[str, Any]:
        """Member i's state for parameter slot k, in the layout torch.optim uses."""
        if self.steps[i] == 0:
            return {}
        if self.kind == "adam":
            return {"step": torch.tensor(float(self.steps[i])), "exp_avg": self.m[k][i].clone(),
                    "exp_avg_sq": self.v[k][i].clone()}
        if self.kind == "sgd":
            return {"momentum_buffer": self.m[k][i].clone() if self.momentum[i] != 0 else None}
        out = {"step": torch.tensor(float(self.steps[i])), "square_avg": self.v[k][i].clone()}
        if self.momentum[i] > 0:
            out["momentum_buffer"] = self.m[k][i].clone()
        return out


def _member_losses(fn: Any, names: Sequence[tuple], a: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """Per-member losses (p,) from the losses module's functions, one vmap per distinct loss.

    ``names[r]`` is the (loss name, *extra args) of row r; rows sharing it are evaluated together.
    """
    groups: dict[tuple, list[int]] = {}
    for r, key in enumerate(names):
        groups.setdefault(key, []).append(r)
    parts, order = [], []
    for key, rows in groups.items():
        name, *extra = key
        if b is None:
            f = lambda x, _n=name: fn(_n, x)  # noqa: E731
            args: tuple = (a if len(rows) == len(names) else a[rows],)
        else:
            f = lambda x, y, _n=name, _e=tuple(extra): fn(_n, x, y, *_e)  # noqa: E731
            sel = slice(None) if len(rows) == len(names) else rows
            args = (a[sel], b[sel])
        parts.append(torch.vmap(f)(*args))
        order += rows
    if len(parts) == 1:
        return parts[0]
    out = torch.cat(parts)
    inv = torch.empty(len(order), dtype=torch.long)
    inv[torch.as_tensor(order)] = torch.arange(len(order))
    return out[inv.to(out.device)]


# ---------------------------------------------------------------------------- the group
class BatchedGroup:
    """P same-shaped members trained in lockstep; ``views[i]`` is member i's Trainer."""

    def __init__(self, views: Sequence[Trainer]):
        self.views = list(views)
        cfgs = [t.cfg for t in self.views]
        keys = {k[:-1] if k is not None else None for k in map(batch_key, cfgs)}  # k may differ here
        if None in keys or len(keys) != 1:
            raise ValueError("a batched group needs configs with one shared, batchable architecture")
        t0 = self.views[0]
        self.P = len(cfgs)
        self.device = t0.device
        self.data = t0.data
        c0 = cfgs[0]
        self.B, self.pack, self.latent = c0.train.batch_size, c0.train.pack, c0.model.latent_dim
        self.G = StackedMLP([t.G.net for t in self.views], [False] * self.P, self.device)
        self.D = StackedMLP([t.D.net for t in self.views], [c.model.spectral_norm for c in cfgs], self.device)
        tr = [c.train for c in cfgs]

        def momenta(kind: str) -> list[float]:
            if kind == "rmsprop":  # the Trainer turns RMSprop momentum >= 0.5 off
                return [t.momentum if t.momentum < 0.5 else 0.0 for t in tr]
            return [t.momentum for t in tr]

        self.opt_d = StackedOptimizer(c0.train.opt_d, self.D.params, [t.lr_d for t in tr],
                                      [t.beta1 for t in tr], [t.beta2 for t in tr], momenta(c0.train.opt_d))
        self.opt_g = StackedOptimizer(c0.train.opt_g, self.G.params, [t.lr_g for t in tr],
                                      [t.beta1 for t in tr], [t.beta2 for t in tr], momenta(c0.train.opt_g))
        self.ema = np.array([t.ema for t in tr])
        self.G_ema = [p.detach().clone() for p in self.G.params] if (self.ema > 0).any() else None
        self.k = [t.d_steps for t in tr]
        self.loss = [c.loss.name for c in cfgs]
        self.real_label = [c.loss.real_label for c in cfgs]
        self.gp_w = [(c.loss.gp_lambda if c.loss.name == "wgan-gp" else 0.0) + c.loss.gp for c in cfgs]
        self.r1 = [c.loss.r1 for c in cfgs]
        self.clip = [c.loss.clip if (c.loss.name == "wgan" and c.loss.clip > 0) else math.inf for c in cfgs]
        # Members whose seed and draw pattern agree draw identical batches: one generator serves them.
        self.stream_keys: list[tuple] = []
        self.stream_of: list[int] = []
        self.gens: list[torch.Generator] = []
        for c in cfgs:
            key = (c.train.seed, c.train.d_steps, _uses_gp(c), c.model.prior)
            if key not in self.stream_keys:
                self.stream_keys.append(key)
                self.gens.append(torch.Generator(self.device).manual_seed(c.train.seed))
            self.stream_of.append(self.stream_keys.index(key))
        self.steps = np.zeros(self.P, np.int64)
        self.stopped: list[str | None] = [None] * self.P
        self._dead_rng: dict[int, torch.Tensor] = {}

    # -------------------------------------------------------------- data
    def _draw(self, act: list[int], d_side: bool) -> tuple[torch.Tensor | None, torch.Tensor, dict[int, torch.Tensor]]:
        """Real batch, z and GP interpolation weights for the members ``act``, each drawn from the
        member's stream in the order ``Trainer._d_update`` / ``_g_update`` draws them."""
        cls = []
        for i in act:
            if self.stream_of[i] not in cls:
                cls.append(self.stream_of[i])
        xs, zs, eps = {}, {}, {}
        for c in cls:
            g = self.gens[c]
            _, _, gp, prior = self.stream_keys[c]
            if d_side:
                xs[c] = self.data.sample(self.B, g, self.device)
            zs[c] = sample_prior(self.B, self.latent, prior, g, self.device)
            if d_side and gp:
                eps[c] = torch.rand((self.B,) + (1,) * (xs[c].dim() - 1), generator=g, device=self.device)
        p = len(act)

        def gather(d: dict[int, torch.Tensor]) -> torch.Tensor:
            if len(cls) == 1:
                t = d[cls[0]]
                return t.unsqueeze(0).expand((p,) + t.shape)
            return torch.stack([d[self.stream_of[i]] for i in act])

        X = gather(xs) if d_side else None
        Z = gather(zs)
        return X, Z, {r: eps[self.stream_of[i]] for r, i in enumerate(act) if self.stream_of[i] in eps}

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        p = x.shape[0]
        return x.reshape(p, x.shape[1] // self.pack, -1)

    # -------------------------------------------------------------- one step
    def step(self) -> list[StepStats | str | None]:
        """One ``Trainer.step()`` for every live member: its StepStats, the divergence message
        for a member that diverged now (its update not applied), None for one stopped before."""
        out: list[StepStats | str | None] = [None] * self.P
        live = [i for i in range(self.P) if self.stopped[i] is None]
        stats_d: dict[int, list[float]] = {}
        for j in range(max((self.k[i] for i in live), default=0)):
            act = [i for i in live if self.k[i] > j and self.stopped[i] is None]
            if not act:
                break
            stats_d.update(self._d_update(act, out))
        act = [i for i in live if self.stopped[i] is None]
        stats_g = self._g_update(act, out) if act else {}
        for i, sg in stats_g.items():
            self.steps[i] += 1
            loss_d, d_real, d_fake, s_r, s_f, gd, jsd_v = stats_d[i]
            jsd = max(0.0, (jsd_v + math.log(4)) / 2)
            out[i] = StepStats(int(self.steps[i]), loss_d, sg[0], d_real, d_fake, s_r, s_f, gd, sg[1], jsd)
        return out

    def _diverged(self, i: int, who: str, what: str, value: float, out: list) -> None:
        name = self.loss[i]
        hint = ("Lower the learning rates, add a gradient penalty or spectral norm, or go back to the "
                "last good state." if who == "discriminator" else
                "Lower the learning rates or change the loss, or go back to the last good state.")
        msg = (f"{who} {what} became {value} at step {self.steps[i] + 1} (loss '{name}'); the update "
               f"was not applied. {hint}")
        self.stopped[i] = out[i] = msg
        self._dead_rng[i] = self.gens[self.stream_of[i]].get_state()

    def _d_update(self, act: list[int], out: list) -> dict[int, list[float]]:
        p = len(act)
        idx = None if p == self.P else torch.as_tensor(act, device=self.device)
        X, Z, eps = self._draw(act, d_side=True)
        assert X is not None
        with torch.no_grad():
            XF = self.G.forward(Z, self.G.gather(idx), idx)
        Dp = self.D.gather(idx)
        r1 = [self.r1[i] for i in act]
        if any(r1):
            X = X.detach().clone().requires_grad_(True)
        v_r = self.D.forward(self._packed(X), Dp, idx).squeeze(-1)
        v_f = self.D.forward(self._packed(XF), Dp, idx).squeeze(-1)
        loss = _member_losses(L.d_loss, [(self.loss[i], self.real_label[i]) for i in act], v_r, v_f)
        gp_rows = sorted(eps)
        if gp_rows:
            rows_t = torch.as_tensor(gp_rows, device=self.device)
            e = torch.stack([eps[r] for r in gp_rows])
            xh = (e * X.detach()[rows_t] + (1 - e) * XF[rows_t]).requires_grad_(True)
            sub_idx = torch.as_tensor([act[r] for r in gp_rows], device=self.device)
            v = self.D.forward(self._packed(xh), [q[rows_t] for q in Dp], sub_idx).squeeze(-1)
            (gh,) = torch.autograd.grad(v.sum(), xh, create_graph=True)
            per = gh.reshape(len(gp_rows), v.shape[1], -1).norm(2, dim=2)  # one norm per (packed) input
            pen = ((per - 1) ** 2).mean(1)
            w = _f32([self.gp_w[act[r]] for r in gp_rows], self.device)
            loss = loss.index_add(0, rows_t, w * pen)
        if any(r1):
            (gx,) = torch.autograd.grad(v_r.sum(), X, create_graph=True)
            pen = gx.pow(2).reshape(p, gx.shape[1], -1).sum(2).mean(1)
            loss = loss + _f32([x / 2 for x in r1], self.device) * pen
        grads = torch.autograd.grad(loss.sum(), Dp)
        with torch.no_grad():
            gn = torch.stack([g.reshape(p, -1).norm(dim=1) for g in grads], 1).norm(dim=1)
            vr, vf = v_r.detach(), v_f.detach()
            val = -F.softplus(-vr).mean(1) - F.softplus(vf).mean(1)
            stats = torch.stack([loss.detach(), torch.sigmoid(vr).mean(1), torch.sigmoid(vf).mean(1),
                                 vr.mean(1), vf.mean(1), gn, val], 1).tolist()
        good = self._check(act, stats, 0, 5, "discriminator", out)
        if good:
            sel = None if len(good) == self.P else [act[r] for r in good]
            g_sel = grads if len(good) == p else [g[good] for g in grads]
            self.opt_d.step(list(g_sel), sel)
            clip = [self.clip[act[r]] for r in good]
            if any(math.isfinite(c) for c in clip):
                c_t = _f32(clip, self.device)
                sel_t = None if sel is None else torch.as_tensor(sel, device=self.device)
                with torch.no_grad():
                    for q in self.D.params:
                        qs = _take(q, sel_t)
                        qs = torch.clamp(qs, min=-_bc(c_t, qs), max=_bc(c_t, qs))
                        if sel_t is None:
                            q.copy_(qs)
                        else:
                            q[sel_t] = qs
        return {act[r]: stats[r] for r in good}

    def _g_update(self, act: list[int], out: list) -> dict[int, list[float]]:
        p = len(act)
        idx = None if p == self.P else torch.as_tensor(act, device=self.device)
        _, Z, _ = self._draw(act, d_side=False)
        Gp = self.G.gather(idx)
        Dp = [_take(q.detach(), idx) for q in self.D.params]
        xf = self.G.forward(Z, Gp, idx)
        v_f = self.D.forward(self._packed(xf), Dp, idx).squeeze(-1)
        loss = _member_losses(L.g_loss, [(self.loss[i],) for i in act], v_f, None)
        grads = torch.autograd.grad(loss.sum(), Gp)
        with torch.no_grad():
            gn = torch.stack([g.reshape(p, -1).norm(dim=1) for g in grads], 1).norm(dim=1)
            stats = torch.stack([loss.detach(), gn], 1).tolist()
        good = self._check(act, stats, 0, 1, "generator", out)
        if good:
            sel = None if len(good) == self.P else [act[r] for r in good]
            self.opt_g.step(list(grads if len(good) == p else [g[good] for g in grads]), sel)
            if self.G_ema is not None:
                self._update_ema([act[r] for r in good])
        return {act[r]: stats[r] for r in good}

    def _check(self, act: list[int], stats: list[list[float]], li: int, gi: int, who: str,
               out: list) -> list[int]:
        good = []
        for r, row in enumerate(stats):
            if math.isfinite(row[li]) and math.isfinite(row[gi]):
                good.append(r)
            else:
                what = "loss" if not math.isfinite(row[li]) else "gradient"
                self._diverged(act[r], who, what, row[li] if what == "loss" else row[gi], out)
        return good

    @torch.no_grad()
    def _update_ema(self, members: list[int]) -> None:
        assert self.G_ema is not None
        rows = [i for i in members if self.ema[i] > 0]
        if not rows:
            return
        idx = torch.as_tensor(rows, device=self.device)
        w = _f32(1 - self.ema[rows], self.device)
        for e, q in zip(self.G_ema, self.G.params):
            es = e[idx]
            es.lerp_(q[idx], _bc(w, es))
            e[idx] = es

    # -------------------------------------------------------------- views
    @torch.no_grad()
    def sync_view(self, i: int, weights_only: bool = False) -> Trainer:
        """Copy member i's weights (and unless ``weights_only``: optimiser state, RNG and step
        count) into its Trainer. Drawing needs the weights only; a state_dict needs it all."""
        t = self.views[i]
        self.G.write_member(i)
        self.D.write_member(i)
        if t.G_ema is not None and self.G_ema is not None:
            for e, q in zip(self.G_ema, _module_params_like(t.G_ema, self.G, i, t.G)):
                q.copy_(e[i])
        t.step_count = int(self.steps[i])
        if weights_only:
            return t
        for opt, view_opt, stack in ((self.opt_d, t.opt_d, self.D), (self.opt_g, t.opt_g, self.G)):
            view_opt.state.clear()
            for k, par in enumerate(stack.member_params[i]):
                st = opt.member_state(i, k)
                if st:
                    view_opt.state[par] = st
        state = self._dead_rng.get(i)
        t.gen.set_state(state if state is not None else self.gens[self.stream_of[i]].get_state())
        return t


def _module_params_like(ema: nn.Module, stack: StackedMLP, i: int, G: nn.Module) -> list[nn.Parameter]:
    """The EMA module's parameters in the order of the stack's slots (it is a deep copy of G)."""
    by_name = dict(ema.named_parameters())
    names = {id(p): n for n, p in G.named_parameters()}
    return [by_name[names[id(p)]] for p in stack.member_params[i]]
