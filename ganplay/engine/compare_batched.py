"""Several same-shaped MLP GANs trained as ONE batched problem.

Each member's weights sit on a leading axis of shared tensors (``(P, out, in)`` per linear layer),
so one ``bmm`` runs a layer for every member at once: eight small GANs then cost far less than
eight separate trainers, whose time on a CPU is mostly per-operation overhead, not arithmetic.

What is shared with :class:`Trainer`, rather than restated: a :class:`BatchedGroup` is an
``UpdateTarget``, so each step runs the trainer's own ``d_update`` / ``g_update``; the
per-member objectives (``d_objective``, ``g_objective`` on top of the ``losses`` module) are
``torch.vmap``-ed over the members that share a loss config; the optimisers are
``torch.optim`` optimisers built by ``trainer.make_optimizer`` over row views of the stacked
parameters (a row of a stacked tensor steps exactly as the member's own parameter would); the
divergence check and its message, WGAN clipping and the EMA of G are the trainer's functions.

What is batched here: the networks (``StackedMLP`` runs the members' ``mlp()`` Sequentials with
stacked weights: ``torch.func.functional_call`` under ``vmap`` computes the same values but costs
about 20% more per step on the CPU, and torch's spectral-norm parametrization cannot run under
``vmap`` at all, as its power iteration writes with ``out=``), the draws (members whose streams
agree share one generator) and the bookkeeping of which member is which row.

Exactness: every member is first built as a real :class:`Trainer` (same seeding, same weights),
draws its data/z/GP batches from its own seeded generator in the order ``Trainer.d_batch`` does,
and does the same spectral-norm power iterations (one per D call).  What remains is float
reassociation in ``bmm`` vs ``linear`` (about 1e-7 after 50 steps, see tests).

The member's ``Trainer`` doubles as its *view*: ``sync_view(i)`` copies the stacked weights,
optimiser state, RNG and step count back into it, so every function in ``metrics`` and
``Trainer.state_dict`` works on a batched member unchanged; building a group reads the same
state from the views, which is how a group drops a member that diverged.
"""
from __future__ import annotations

import functools
from dataclasses import astuple, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .config import IMAGE_DATASETS, Config, to_dict
from .models import sample_prior
from .trainer import (
    StepStats, Trainer, apply_update, clip_, clip_bound, d_update, divergence_message, ema_update_,
    find_divergence, g_update, gp_weight, grad_norm, lr_factor, make_optimizer, resolve_for, step_stats,
)


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
    and k: every member of a group then takes each update, so each optimiser steps whole rows
    (and one k = 5 member would outweigh several k = 1 members anyway).
    """
    m, t = cfg.model, cfg.train
    if (m.arch != "mlp" or m.conditional or m.bigan or m.latent_modes or t.unrolled > 0 or t.d_steps < 1
            or t.instance_noise > 0 or t.late_batch_size
            or "batch" in (m.g_norm, m.d_norm) or cfg.data.name in IMAGE_DATASETS):
        return None
    if (t.narrow_width > 0 or t.many_modes > 0) and cfg.data.name != "points":
        # the key of what trains: a member's Trainer resolves its batch, pack and D for the data
        # (drawn points have no Gaussian modes, so nothing of theirs resolves)
        from .data import make_data

        resolved = cfg.copy()
        resolve_for(resolved, make_data(resolved.data))
        return batch_key(resolved)
    data = tuple(sorted(to_dict(cfg)["data"].items()))
    return (data, m.latent_dim, m.g_depth, m.g_width, m.d_depth, m.d_width, m.g_activation,
            m.d_activation, m.g_norm, m.d_norm, t.pack, t.batch_size, t.opt_d, t.opt_g, t.device,
            t.d_steps, m.data_norm)


def _take(t: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
    return t if idx is None else t[idx]


def _runs(keys: Sequence[Any]) -> list[slice]:
    """Maximal runs of consecutive equal keys, as slices of the row axis."""
    out, start = [], 0
    for r in range(1, len(keys) + 1):
        if r == len(keys) or keys[r] != keys[start]:
            out.append(slice(start, r))
            start = r
    return out


def _rows_of(t: torch.Tensor, s: slice) -> torch.Tensor:
    with torch.no_grad():   # a view that shares the stack's storage; in-place updates land there
        return t[s]


def _vmap(fn: Callable[..., torch.Tensor], args: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """``vmap(fn)(*args)`` over the leading (member) axis; None arguments stay None."""
    present = [i for i, a in enumerate(args) if a is not None]
    if len(present) == len(args):
        return torch.vmap(fn)(*args)

    def f(*xs: torch.Tensor) -> torch.Tensor:
        full: list[torch.Tensor | None] = [None] * len(args)
        for i, x in zip(present, xs):
            full[i] = x
        return fn(*full)

    return torch.vmap(f)(*[args[i] for i in present])


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
def _stack_state(states: list[dict[str, Any]], shape: torch.Size) -> dict[str, Any]:
    """The optimiser states of one parameter of several members, as the state of their stack."""
    if not states[0]:
        assert not any(states), "members of one run must have taken the same number of steps"
        return {}
    out: dict[str, Any] = {}
    for key, v in states[0].items():
        if torch.is_tensor(v) and v.shape == shape:      # per element: exp_avg, momentum_buffer, ...
            out[key] = torch.stack([st[key] for st in states])
        else:                                             # shared: the step count
            out[key] = v.clone() if torch.is_tensor(v) else v
    return out


class RowOptimizers:
    """torch.optim over the rows of stacked parameters. An optimiser step is elementwise, so a
    row view of a ``(P, ...)`` parameter steps exactly as the member's own parameter would: each
    run of consecutive members with equal hyperparameters gets one optimiser, built by
    ``trainer.make_optimizer`` as a Trainer builds its own, over that run's rows of every stacked
    parameter. The state starts from the members' own optimisers (empty for fresh Trainers) and
    goes back into them with ``write_member``."""

    def __init__(self, kind: str, stack: StackedMLP, member_opts: Sequence[torch.optim.Optimizer],
                 hyper: Sequence[tuple[float, Any]]):
        self.parts: list[tuple[slice, list[torch.Tensor], torch.optim.Optimizer]] = []
        self.rates: list[tuple[float, Any]] = []   # per part: (its lr, its train config) for the decay
        keys = [(lr, tc.beta1, tc.beta2, tc.momentum, tc.lr_decay_from, tc.steps) for lr, tc in hyper]
        for s in _runs(keys):
            lr, tc = hyper[s.start]
            self.rates.append((lr, tc))
            views = [_rows_of(p, s) for p in stack.params]
            opt = make_optimizer(kind, views, lr, tc)
            for k, v in enumerate(views):
                own = [member_opts[r].state.get(stack.member_params[r][k], {}) for r in range(s.start, s.stop)]
                st = _stack_state(own, stack.member_params[s.start][k].shape)
                if st:
                    opt.state[v] = st
            self.parts.append((s, views, opt))

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        for s, views, opt in self.parts:
            apply_update(opt, views, [g[s] for g in grads])

    def at_step(self, step: int) -> None:
        """Each part's rate for update ``step + 1`` (``trainer.lr_factor``; members step in lockstep)."""
        for (_, _, opt), (lr, tc) in zip(self.parts, self.rates):
            if tc.lr_decay_from >= 1:
                continue   # a constant rate stays as the optimiser was built
            for group in opt.param_groups:
                group["lr"] = lr * lr_factor(tc, step)

    def write_member(self, r: int, opt: torch.optim.Optimizer, params: Sequence[nn.Parameter]) -> None:
        """Row r's state into the member's own optimiser ``opt``, keyed by its ``params``."""
        opt.state.clear()
        for s, views, o in self.parts:
            if not s.start <= r < s.stop:
                continue
            for v, p in zip(views, params):
                st = o.state.get(v)
                if st:
                    opt.state[p] = {key: (val[r - s.start].clone() if val.shape == v.shape else val.clone())
                                    if torch.is_tensor(val) else val for key, val in st.items()}


# ---------------------------------------------------------------------------- the group
class BatchedGroup:
    """P same-shaped members trained in lockstep; ``views[i]`` is member i's Trainer.

    An ``UpdateTarget`` (see ``trainer``): ``step()`` runs ``trainer.d_update`` k times and
    ``trainer.g_update`` once on all live members. Slot i (the index into ``views``) never changes;
    row r of the stacks holds slot ``rows[r]``."""

    def __init__(self, views: Sequence[Trainer]):
        self.views = list(views)
        keys = {batch_key(t.cfg) for t in self.views}
        if None in keys or len(keys) != 1:
            raise ValueError("a batched group needs configs with one shared, batchable architecture and k")
        t0 = self.views[0]
        self.P = len(self.views)
        self.device = t0.device
        self.data = t0.data
        c0 = t0.cfg
        self.B, self.pack, self.latent = c0.train.batch_size, c0.train.pack, c0.model.latent_dim
        self.k = c0.train.d_steps
        # model.data_norm: one data set per group (batch_key), so one map for every member
        self.g_units, self.d_units = t0.G.units, t0.D.units
        self.steps = np.array([t.step_count for t in self.views], np.int64)
        self.stopped: list[str | None] = [None] * self.P
        self._out: list[StepStats | str | None] = [None] * self.P
        self._stack(list(range(self.P)))

    def _stack(self, slots: list[int]) -> None:
        """Stack the members ``slots`` from their views: weights, spectral-norm vectors, EMA,
        optimiser state and RNG streams all come from the member Trainers."""
        self.rows = slots
        if not slots:
            return
        views = [self.views[i] for i in slots]
        cfgs = [t.cfg for t in views]
        tr = [c.train for c in cfgs]
        self.G = StackedMLP([t.G.net for t in views], [False] * len(views), self.device)
        self.D = StackedMLP([t.D.net for t in views], [c.model.spectral_norm for c in cfgs], self.device)
        self.d_params, self.g_params = self.D.params, self.G.params
        self.opt_d = RowOptimizers(tr[0].opt_d, self.D, [t.opt_d for t in views], [(t.lr_d, t) for t in tr])
        self.opt_g = RowOptimizers(tr[0].opt_g, self.G, [t.opt_g for t in views], [(t.lr_g, t) for t in tr])
        self.G_ema: list[torch.Tensor] | None = None
        self._ema_parts: list[tuple[float, list[torch.Tensor], list[torch.Tensor]]] = []
        if any(t.ema > 0 for t in tr):
            src = [_module_params_like(t.G_ema, self.G, r, t.G) if t.G_ema is not None else self.G.member_params[r]
                   for r, t in enumerate(views)]
            self.G_ema = [torch.stack([m[k].detach() for m in src]) for k in range(len(self.G.params))]
            self._ema_parts = [(tr[s.start].ema, [_rows_of(e, s) for e in self.G_ema],
                                [_rows_of(p, s) for p in self.G.params])
                               for s in _runs([t.ema for t in tr]) if tr[s.start].ema > 0]
        clips = [clip_bound(c.loss) for c in cfgs]
        self._clip_parts = [(clips[s.start], [_rows_of(p, s) for p in self.D.params])
                            for s in _runs(clips) if clips[s.start] is not None]
        # The loss configs: one vmap of the per-member objective per distinct config.
        by_loss: dict[tuple, list[int]] = {}
        for r, c in enumerate(cfgs):
            by_loss.setdefault(astuple(c.loss), []).append(r)
        self._loss_groups = [(cfgs[rows[0]].loss, None if len(rows) == len(cfgs) else torch.as_tensor(rows, device=self.device))
                             for rows in by_loss.values()]
        order = [r for rows in by_loss.values() for r in rows]
        self._loss_inverse = torch.as_tensor(np.argsort(order), device=self.device)
        gp = [r for r, c in enumerate(cfgs) if gp_weight(c.loss) > 0]
        self._gp = gp
        self.gp_rows = None if len(gp) == len(cfgs) else torch.as_tensor(gp, device=self.device)
        self.any_r1 = any(c.loss.r1 > 0 for c in cfgs)
        # Members whose generators are in the same state and draw the same pattern draw identical
        # batches: one generator serves them.
        self.stream_keys: list[tuple] = []
        self.stream_of: list[int] = []
        self.gens: list[torch.Generator] = []
        for t in views:
            state = t.gen.get_state()
            key = (gp_weight(t.cfg.loss) > 0, t.cfg.model.prior, bytes(state.cpu().numpy()))
            if key not in self.stream_keys:
                self.stream_keys.append(key)
                g = torch.Generator(self.device)
                g.set_state(state)
                self.gens.append(g)
            self.stream_of.append(self.stream_keys.index(key))

    # -------------------------------------------------------------- data
    def _by_row(self, per_stream: dict[int, torch.Tensor], rows: Sequence[int]) -> torch.Tensor:
        streams = {self.stream_of[r] for r in rows}
        if len(streams) == 1:
            t = per_stream[streams.pop()]
            return t.unsqueeze(0).expand((len(rows),) + t.shape)
        return torch.stack([per_stream[self.stream_of[r]] for r in rows])

    def _draw(self, d_side: bool) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Real batch, z and GP interpolation weights (rows ``gp_rows``) for every row, each drawn
        from the member's stream in the order ``Trainer.d_batch`` / ``g_scores`` draws them."""
        xs, zs, eps = {}, {}, {}
        for c, g in enumerate(self.gens):
            gp, prior, _ = self.stream_keys[c]
            if d_side:
                xs[c] = self.data.sample(self.B, g, self.device)
            zs[c] = sample_prior(self.B, self.latent, prior, g, self.device)
            if d_side and gp:
                eps[c] = torch.rand((self.B,) + (1,) * (xs[c].dim() - 1), generator=g, device=self.device)
        all_rows = range(len(self.rows))
        X = self._by_row(xs, all_rows) if d_side else None
        E = self._by_row(eps, self._gp) if eps else None
        return X, self._by_row(zs, all_rows), E

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        """D's input: data-space points in D's units, packed."""
        if self.d_units is not None:
            x = self.d_units.from_data(x)
        return x.reshape(x.shape[0], x.shape[1] // self.pack, -1)

    def _generate(self, Z: torch.Tensor) -> torch.Tensor:
        out = self.G.forward(Z, self.G.params, None)
        return out if self.g_units is None else self.g_units.to_data(out)

    # -------------------------------------------------------------- UpdateTarget
    def d_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any, Any]:
        X, Z, E = self._draw(d_side=True)
        assert X is not None
        with torch.no_grad():
            XF = self._generate(Z)
        return X, XF, E, None, None

    def d_scores(self, x: torch.Tensor, y: Any = None, rows: torch.Tensor | None = None) -> torch.Tensor:
        return self.D.forward(self._packed(x), self.D.gather(rows), rows).squeeze(-1)

    def g_scores(self) -> torch.Tensor:
        _, Z, _ = self._draw(d_side=False)
        xf = self._generate(Z)
        d_fixed = [q.detach() for q in self.D.params]   # G's update needs no gradient for D
        return self.D.forward(self._packed(xf), d_fixed, None).squeeze(-1)

    def per_member_loss(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        parts = [_vmap(functools.partial(fn, lc), [a if rows is None or a is None else a[rows] for a in args])
                 for lc, rows in self._loss_groups]
        return parts[0] if len(parts) == 1 else torch.cat(parts)[self._loss_inverse]

    def grad_norms(self, grads: Sequence[torch.Tensor]) -> torch.Tensor:
        return grad_norm(grads, members=True)

    def check_update(self, who: str, loss: torch.Tensor, gn: torch.Tensor) -> None:
        for r, bad in enumerate(find_divergence(loss, gn)):
            if bad is not None:
                i = self.rows[r]
                msg = divergence_message(who, *bad, int(self.steps[i]) + 1, self.views[i].cfg.loss.name)
                self.sync_view(i)   # its state before this update, which is not applied to it
                self.stopped[i] = self._out[i] = msg

    def apply_d(self, grads: Sequence[torch.Tensor]) -> None:
        self.opt_d.step(grads)
        for c, params in self._clip_parts:
            clip_(params, c)

    def apply_g(self, grads: Sequence[torch.Tensor]) -> None:
        self.opt_g.step(grads)
        for decay, ema, params in self._ema_parts:
            ema_update_(ema, params, decay)

    # -------------------------------------------------------------- one step
    def step(self) -> list[StepStats | str | None]:
        """One ``Trainer.step()`` for every live member: its StepStats, the divergence message
        for a member that diverged now (its update not applied), None for one stopped before."""
        self._out = [None] * self.P
        d = g = None
        if self.rows:
            at = int(self.steps[self.rows[0]])
            self.opt_d.at_step(at)
            self.opt_g.at_step(at)
        for _ in range(self.k):
            if self.rows:
                d = self._run(d_update)
        if self.rows:
            g = self._run(g_update)
        if d is not None and g is not None and self.rows:
            d_vals = dict(zip(d[0], d[1].tolist()))
            g_vals = dict(zip(g[0], g[1].tolist()))
            for i in self.rows:
                self.steps[i] += 1
                self._out[i] = step_stats(int(self.steps[i]), d_vals[i], g_vals[i])
        return self._out

    def _run(self, update: Callable[[Any], torch.Tensor]) -> tuple[list[int], torch.Tensor]:
        rows = list(self.rows)
        stats = update(self)
        if any(self.stopped[i] is not None for i in rows):
            # The update was applied to every row; the stopped members' views already hold their
            # state from before it. Restack the others, so that no row is spent on the dead.
            live = [i for i in rows if self.stopped[i] is None]
            for i in live:
                self.sync_view(i)
            self._stack(live)
        return rows, stats

    # -------------------------------------------------------------- views
    @torch.no_grad()
    def sync_view(self, i: int, weights_only: bool = False) -> Trainer:
        """Copy member i's weights (and unless ``weights_only``: optimiser state, RNG and step
        count) into its Trainer. Drawing needs the weights only; a state_dict needs it all.
        A stopped member's view keeps the state it had when it stopped."""
        t = self.views[i]
        if self.stopped[i] is not None:
            return t
        r = self.rows.index(i)
        self.G.write_member(r)
        self.D.write_member(r)
        if t.G_ema is not None and self.G_ema is not None:
            for e, q in zip(self.G_ema, _module_params_like(t.G_ema, self.G, r, t.G)):
                q.copy_(e[r])
        t.step_count = int(self.steps[i])
        if weights_only:
            return t
        self.opt_d.write_member(r, t.opt_d, self.D.member_params[r])
        self.opt_g.write_member(r, t.opt_g, self.G.member_params[r])
        t.gen.set_state(self.gens[self.stream_of[r]].get_state())
        return t


def _module_params_like(ema: nn.Module, stack: StackedMLP, i: int, G: nn.Module) -> list[nn.Parameter]:
    """The EMA module's parameters in the order of the stack's slots (it is a deep copy of G)."""
    by_name = dict(ema.named_parameters())
    names = {id(p): n for n, p in G.named_parameters()}
    return [by_name[names[id(p)]] for p in stack.member_params[i]]

