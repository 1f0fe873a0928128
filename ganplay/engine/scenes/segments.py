"""Parallel segments (the WGAN paper's example): P0 uniform on {0}×[0,1], Pθ uniform on {θ}×[0,1].

The closed forms (``closed_forms``, ``closed_gradients``): W1 = |θ|; for θ ≠ 0 the supports are
disjoint, so JSD = log 2, KL = +∞ and TV = 1, whatever θ: their gradients in θ are 0. Only W1
tells θ which way to go.

Then θ, a one-parameter generator (x̃ = x₀ + (θ, 0) for x₀ ~ P0: the engine's "segments" data set
shifted), trains from one start against three discriminators (``SegmentRun``), each with
``d_steps`` Adam steps of D per plain gradient step of θ (plain, so that a vanishing gradient stalls
θ rather than being rescaled as Adam would):

- minimax: D minimises the GAN loss and θ minimises log(1 − D(x̃)); a D that separates the two
  segments drives D(x̃) → 0, and with it θ's gradient (the JS picture: the JSD is flat in θ);
- non-saturating: the same D, θ minimises −log D(x̃), whose gradient does not vanish as D wins;
- WGAN-GP: a critic whose slope between the segments is held near 1 by the gradient penalty, so
  E_P0[T] − E_Pθ[T] estimates W1 = |θ| and θ's gradient is about sign(θ).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import losses
from ..config import DataConfig
from ..data2d import make_dataset
from . import LECTURE_1
from .base import Curve, Heatmap, Param, Plot, Points, Scene, SceneFrame, VLine, fmt
from .optimal_d import step_span
from .optim import Adam, on_one_thread

RUNS = ("minimax", "ns", "wgan-gp")
RUN_LABELS = {"minimax": "minimax D", "ns": "non-saturating", "wgan-gp": "WGAN-GP"}
COLOURS = {"minimax": "c4", "ns": "c2", "wgan-gp": "c0"}
KL_CLIP = 2.3        # where the curve of KL = ∞ is drawn
# The gradient penalty's weight. With slope s between the segments the critic gains s·θ and pays
# λ(s − 1)², so it settles at s = 1 + θ/(2λ): its W1 estimate is θ + θ²/(2λ), 10 % high at θ = 2 for
# the usual λ = 10; at 20 it is 5 % high (``gp_bias``).
GP_LAMBDA = 20.0
MAX_STEPS = 2000
THETA_RANGE = (-2.0, 2.0)
_YS = torch.linspace(0.0, 1.0, 65)   # quadrature along the segments (both uniform in y)


def closed_forms(theta: float) -> dict[str, float]:
    """W1, JSD, KL(P0‖Pθ) and TV between the two segments."""
    if theta == 0.0:
        return {"W1": 0.0, "JSD": 0.0, "KL": 0.0, "TV": 0.0}
    return {"W1": abs(theta), "JSD": math.log(2.0), "KL": math.inf, "TV": 1.0}


def closed_gradients(theta: float) -> dict[str, float]:
    """d/dθ of each for θ ≠ 0 (none of them is differentiable at 0)."""
    return {"W1": math.copysign(1.0, theta), "JSD": 0.0, "KL": 0.0, "TV": 0.0}


def gp_bias(theta: float, gp_lambda: float) -> float:
    """The WGAN-GP critic's estimate of W1 on the segments at its optimum: |θ| + θ²/(2λ)."""
    return abs(theta) + theta ** 2 / (2 * gp_lambda)


class SegmentRuns:
    """θ trained against each kind of D in ``kinds`` (from RUNS), all in one batch: run r's D is an
    MLP 2 → 32 → 32 → 1 whose weights are slice r of stacked tensors, so one forward, backward and
    Adam step serve every run (a third of the cost of three networks: a step is mostly per-call
    overhead). Every run starts from the same θ and the same D weights. ``train_theta=False`` holds
    θ and trains only D (the tests' critic estimate)."""

    WIDTH = 32

    def __init__(self, kinds: tuple[str, ...], theta: float, seed: int = 0, batch: int = 64, lr_d: float = 2e-3,
                 lr_theta: float = 0.05, gp_lambda: float = GP_LAMBDA, train_theta: bool = True):
        for k in kinds:
            if k not in RUNS:
                raise ValueError(f"unknown run {k!r}; runs: {', '.join(RUNS)}")
        self.kinds, self.batch, self.lr_theta, self.train_theta = tuple(kinds), batch, lr_theta, train_theta
        self.gp_lambda = {k: gp_lambda for k in kinds}
        r, h = len(kinds), self.WIDTH
        g = torch.Generator().manual_seed(seed)

        def layer(n_in: int, n_out: int) -> list[torch.Tensor]:
            bound = 1 / math.sqrt(n_in)   # nn.Linear's default initialisation, one draw for every run
            w = (torch.rand(1, n_in, n_out, generator=g) * 2 - 1) * bound
            b = (torch.rand(1, 1, n_out, generator=g) * 2 - 1) * bound
            return [w.repeat(r, 1, 1).requires_grad_(True), b.repeat(r, 1, 1).requires_grad_(True)]

        self.params = layer(2, h) + layer(h, h) + layer(h, 1)
        self.g = torch.Generator().manual_seed(seed + 1)
        self.p0 = make_dataset(DataConfig(name="segments", theta=0.0))
        self.opt = Adam(self.params, lr=lr_d, betas=(0.5, 0.9))
        self.theta = torch.full((r,), float(theta), requires_grad=True)
        self.thetas: dict[str, list[float]] = {k: [float(theta)] for k in kinds}
        self.grads: dict[str, list[float]] = {k: [] for k in kinds}
        self.w1_estimates: dict[str, list[float]] = {k: [] for k in kinds}
        self._gp = [i for i, k in enumerate(kinds) if k == "wgan-gp"]

    def d(self, x: torch.Tensor) -> torch.Tensor:
        """Every run's D on its own points: x (runs, n, 2) -> scores (runs, n)."""
        w1, b1, w2, b2, w3, b3 = self.params
        hid = torch.nn.functional.leaky_relu(torch.baddbmm(b1, x, w1), 0.2)
        hid = torch.nn.functional.leaky_relu(torch.baddbmm(b2, hid, w2), 0.2)
        return torch.baddbmm(b3, hid, w3).squeeze(2)

    def _real(self) -> torch.Tensor:
        return self.p0.sample(len(self.kinds) * self.batch, self.g).view(len(self.kinds), self.batch, 2)

    def _fake(self) -> torch.Tensor:
        shift = torch.stack([self.theta, torch.zeros_like(self.theta)], 1).unsqueeze(1)
        return self._real() + shift

    def d_step(self) -> None:
        real, fake = self._real(), self._fake().detach()
        v_r, v_f = self.d(real), self.d(fake)
        loss = sum(losses.d_loss("wgan-gp" if k == "wgan-gp" else "minimax", v_r[i], v_f[i])
                   for i, k in enumerate(self.kinds))
        if self._gp:
            i = self._gp
            eps = torch.rand(len(i), self.batch, 1, generator=self.g)
            xh = (eps * real[i] + (1 - eps) * fake[i]).requires_grad_(True)
            full = torch.zeros(len(self.kinds), self.batch, 2)
            full[i] = xh
            (grad,) = torch.autograd.grad(self.d(full)[i].sum(), xh, create_graph=True)
            lam = torch.tensor([self.gp_lambda["wgan-gp"]] * len(i))
            loss = loss + (lam * ((grad.norm(dim=2) - 1) ** 2).mean(1)).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def theta_grads(self) -> torch.Tensor:
        """dL_G/dθ of every run on a fresh batch against its current D (θ_r moves only run r's loss)."""
        v_f = self.d(self._fake())
        loss = sum(losses.g_loss(k, v_f[i]) for i, k in enumerate(self.kinds))
        (grad,) = torch.autograd.grad(loss, self.theta)
        return grad

    def step(self, d_steps: int) -> None:
        for _ in range(d_steps):
            self.d_step()
        grad = self.theta_grads()
        if self.train_theta:
            with torch.no_grad():
                self.theta -= self.lr_theta * grad
                self.theta.clamp_(-3.0, 3.0)
        for i, k in enumerate(self.kinds):
            self.grads[k].append(float(grad[i]))
            self.thetas[k].append(float(self.theta[i].detach()))
            if k == "wgan-gp":
                self.w1_estimates[k].append(self.w1_estimate(k))

    def _on(self, kind: str, pts: torch.Tensor) -> torch.Tensor:
        """Run ``kind``'s D on ``pts`` (n, 2)."""
        x = torch.zeros(len(self.kinds), len(pts), 2)
        i = self.kinds.index(kind)
        x[i] = pts
        with torch.no_grad():
            return self.d(x)[i]

    def w1_estimate(self, kind: str = "wgan-gp") -> float:
        """E_P0[T] − E_Pθ[T] by quadrature along the segments: the critic's estimate of W1."""
        th = float(self.theta[self.kinds.index(kind)].detach())
        pts = torch.cat([torch.stack([torch.zeros_like(_YS), _YS], 1), torch.stack([torch.full_like(_YS, th), _YS], 1)])
        v = self._on(kind, pts)
        return float(v[:len(_YS)].mean() - v[len(_YS):].mean())

    def surface(self, kind: str, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        gx, gy = np.meshgrid(xs, ys)
        v = self._on(kind, torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32))
        out = v if kind == "wgan-gp" else torch.sigmoid(v)
        return out.double().numpy().reshape(len(ys), len(xs))


class SegmentRun:
    """One run (θ against one kind of D): on its own (what the tests train), or a view of one run
    of ``runs``."""

    def __init__(self, kind: str, theta: float = 0.0, seed: int = 0, runs: SegmentRuns | None = None,
                 **kw: float | bool):
        self.kind = kind
        self.runs = runs if runs is not None else SegmentRuns((kind,), theta, seed=seed, **kw)  # type: ignore[arg-type]

    @property
    def thetas(self) -> list[float]:
        return self.runs.thetas[self.kind]

    @property
    def grads(self) -> list[float]:
        return self.runs.grads[self.kind]

    @property
    def w1_estimates(self) -> list[float]:
        return self.runs.w1_estimates[self.kind]

    @property
    def gp_lambda(self) -> float:
        return self.runs.gp_lambda[self.kind]

    def surface(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return self.runs.surface(self.kind, xs, ys)

    def d_step(self) -> None:
        self.runs.d_step()

    def step(self, d_steps: int) -> None:
        self.runs.step(d_steps)

    def w1_estimate(self) -> float:
        return self.runs.w1_estimate(self.kind)


class ParallelSegments(Scene):
    name = "segments"
    title = "Wasserstein on parallel segments"
    group = LECTURE_1
    caption = (
        "P0 is uniform on the vertical segment at x = 0, Pθ the same segment moved to x = θ. Top left: the "
        "divergences against θ. For every θ ≠ 0 the supports are disjoint, so the <b>JSD</b> is log 2, "
        "<b>KL</b> is infinite (drawn clipped) and <b>TV</b> is 1: flat, with gradient 0 (top middle). Only "
        "<b>W1 = |θ|</b> slopes toward θ = 0. Then θ trains from the slider's θ against three "
        "discriminators, several D steps per θ step: a <b>minimax</b> D separates the segments at once "
        "and θ's gradient vanishes (it stalls: log scale, top right); the <b>non-saturating</b> loss "
        "keeps a gradient, −(1 − D) times D's slope at the fakes, and brings θ to the real segment "
        "(this is why practitioners use it), wobbling as D re-learns; a <b>WGAN-GP</b> critic's "
        "slope stays near 1, its estimate of W1 tracks |θ| (bottom right) and θ goes to 0. Bottom middle: "
        "the two segments over the chosen run's D (or critic). Drag in the top-left chart or the plane to "
        "set θ."
    )
    params = (
        Param("theta", "θ (start)", 1.0, "where Pθ's segment is, and where every run starts", range=THETA_RANGE),
        Param("run", "plane shows", "minimax", "whose D (critic) the plane shows", choices=RUNS, resets=False),
        Param("d_steps", "D steps per θ step", 5, "D (critic) steps per step of θ", range=(1, 10), resets=False),
        Param("gp_lambda", "GP λ", GP_LAMBDA, "the WGAN-GP critic's gradient penalty weight", range=(1.0, 100.0),
              log=True, resets=False),
        Param("lr_theta", "θ learning rate", 0.05, "plain gradient step size of θ", range=(0.005, 0.2), log=True),
    )
    drag = {"divergences": ("theta", None), "plane": ("theta", None)}

    @property
    def steps_per_tick(self) -> int:
        # a step is 15 D steps of three runs (7 ms of CPU): more a tick would overrun the view's 12 ms budget
        # before it has measured the cost (it sizes ticks from the last ones).
        return 1

    @on_one_thread
    def reset(self) -> None:
        super().reset()
        th, lr = float(self.values["theta"]), float(self.values["lr_theta"])
        self.runs = SegmentRuns(RUNS, th, seed=self.seed, lr_theta=lr, gp_lambda=float(self.values["gp_lambda"]))

    def changed(self, name: str) -> None:
        if name == "gp_lambda":
            self.runs.gp_lambda["wgan-gp"] = float(self.values["gp_lambda"])

    @on_one_thread
    def advance(self, n: int = 1) -> None:
        n = min(n, MAX_STEPS - self.step)
        for _ in range(n):
            self.runs.step(int(self.values["d_steps"]))
        self.step += max(n, 0)

    def values_for_lessons(self) -> dict[str, float]:
        """Short names for a lesson's conditions (``ganplay scene segments --values``)."""
        out: dict[str, float] = {}
        for k in RUNS:
            key = k.replace("-", "_")
            out[f"theta_{key}"] = float(self.runs.thetas[k][-1])
            out[f"abs_theta_{key}"] = abs(float(self.runs.thetas[k][-1]))
            grads = self.runs.grads[k]
            out[f"grad_{key}"] = abs(float(grads[-1])) if grads else float("nan")
        est = self.runs.w1_estimates.get("wgan-gp") if isinstance(self.runs.w1_estimates, dict) else None
        if est:
            out["critic_w1"] = float(est[-1])
        return out

    @on_one_thread
    def frame(self) -> SceneFrame:
        views = {k: SegmentRun(k, runs=self.runs) for k in RUNS}
        th0 = float(self.values["theta"])
        ts = np.linspace(*THETA_RANGE, 401)    # holds θ = 0, where JSD, KL and TV drop to 0
        nz = ts != 0
        curves = [Curve("W1 = |θ|", ts, np.abs(ts), color="c0"),
                  Curve("JSD = log 2", ts, np.where(nz, math.log(2), 0.0), color="c2"),
                  Curve(f"KL = ∞ (clipped at {KL_CLIP:g})", ts, np.where(nz, KL_CLIP, 0.0), color="c4", style="dash"),
                  Curve("TV = 1", ts, np.where(nz, 1.0, 0.0), color="c1"),
                  VLine("θ start", th0, color="black")]
        for k, run in views.items():
            curves.append(VLine(f"_{k}_now", run.thetas[-1], color=COLOURS[k], style="dot"))
        sgn = np.sign(ts)
        grads = [Curve("dW1/dθ = sign θ", ts, sgn, color="c0"),
                 Curve("dJSD/dθ = 0", ts, np.zeros_like(ts), color="c2"),
                 Curve("dKL/dθ = 0", ts, np.zeros_like(ts), color="c4", style="dash"),
                 Curve("dTV/dθ = 0", ts, np.zeros_like(ts), color="c1", style="dot"),
                 VLine("_start", th0, color="black")]

        steps = np.arange(len(views["minimax"].thetas), dtype=float)
        theta_chart = [Curve(RUN_LABELS[k], steps, np.array(r.thetas), color=COLOURS[k]) for k, r in views.items()]
        theta_chart.append(Curve("_zero", steps[[0, -1]], np.zeros(2), color="grey", style="dot"))
        gsteps = steps[1:]
        grad_chart = [Curve(RUN_LABELS[k], gsteps, np.maximum(np.abs(np.array(r.grads)), 1e-12), color=COLOURS[k])
                      for k, r in views.items()]

        wg = views["wgan-gp"]
        w1_chart = [Curve("critic's W1 estimate", gsteps, np.array(wg.w1_estimates), color="c0"),
                    Curve("|θ| (true W1)", steps, np.abs(np.array(wg.thetas)), color="black", style="dash")]

        sel = str(self.values["run"])
        run = views[sel]
        th = run.thetas[-1]
        reach = max(1.0, abs(th0)) + 0.5   # fixed for a run: a moving range would lay the axes out each frame
        x0, x1 = -reach, reach
        xs, ys = np.linspace(x0, x1, 61), np.linspace(-0.5, 1.5, 41)
        surf = run.surface(xs, ys)
        if sel == "wgan-gp":
            heat = Heatmap("_critic", surf, (x0, x1, -0.5, 1.5), levels=(float(surf.min()), float(surf.max()) + 1e-9),
                           cmap="viridis")
        else:
            heat = Heatmap("_d", surf, (x0, x1, -0.5, 1.5), levels=(0.0, 1.0), cmap="d")
        ys_pts = np.linspace(0.0, 1.0, 21)
        plane = [heat,
                 Points("P0", np.column_stack([np.zeros_like(ys_pts), ys_pts]), color="real", size=7),
                 Points("Pθ", np.column_stack([np.full_like(ys_pts, th), ys_pts]), color="fake", size=7)]

        numbers = [("step", str(self.step)), ("W1 = |θ| at the start", fmt(abs(th0)))]
        for k, r in views.items():
            g = r.grads[-1] if r.grads else float("nan")
            numbers.append((f"θ {RUN_LABELS[k]}", f"{r.thetas[-1]:+.4f}   |dL/dθ| {fmt(abs(g), 3)}"))
        if wg.w1_estimates:
            numbers.append(("critic's W1 / |θ|", f"{fmt(wg.w1_estimates[-1])} / {fmt(abs(wg.thetas[-1]))}"))
            numbers.append(("GP optimum |θ| + θ²/2λ", fmt(gp_bias(wg.thetas[-1], wg.gp_lambda))))
        what = "D(x)" if sel != "wgan-gp" else "critic T(x)"
        span = step_span(self.step)
        return SceneFrame(
            plots=[Plot("divergences", "Divergences between P0 and Pθ", curves, xlabel="θ", ylabel="divergence",
                        xrange=THETA_RANGE, yrange=(-0.1, KL_CLIP + 1.4)),
                   Plot("gradients", "Their gradients in θ", grads, xlabel="θ", ylabel="d/dθ",
                        xrange=THETA_RANGE, yrange=(-1.3, 1.3)),
                   Plot("grad_mag", "|dL_G/dθ| over steps", grad_chart, xlabel="step", ylabel="|gradient|",
                        log_y=True, legend_corner="bottom-left", xrange=span, yrange=(1e-10, 10.0)),
                   Plot("theta", "θ over steps", theta_chart, xlabel="step", ylabel="θ", legend_corner="bottom-right",
                        xrange=span, yrange=(-reach, reach)),
                   Plot("plane", f"The segments over {RUN_LABELS[sel]}'s {what}", plane, xlabel="x", ylabel="y",
                        xrange=(x0, x1), yrange=(-0.5, 1.5), legend=False),
                   Plot("w1", "WGAN-GP critic's W1 estimate beside |θ|", w1_chart, xlabel="step", ylabel="W1",
                        legend_corner="top-right", xrange=span, yrange=(-reach, reach))],
            numbers=numbers, step=self.step,
            status=f"stopped after {MAX_STEPS} steps" if self.step >= MAX_STEPS else "",
        )
