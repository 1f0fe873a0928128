"""Saturating vs non-saturating G losses: why the minimax G stalls while D wins.

With v = σ⁻¹(D(G(z))) the logit D gives a fake, the three G losses of ganplay's table (THEORY.md,
``engine/losses.py``) and their derivatives with respect to v are, as functions of D = σ(v):

- minimax (saturating)    L = log(1 − D)   = −softplus(v)    ∂L/∂v = −D
- non-saturating          L = −log D       =  softplus(−v)   ∂L/∂v = −(1 − D)
- maximum likelihood      L = −D/(1 − D)   = −exp(v)         ∂L/∂v = −D/(1 − D)

When D confidently rejects the fakes (D(G(z)) → 0) the minimax and maximum-likelihood gradients
vanish with D while the non-saturating one tends to −1. G's gradient is ∂L/∂v times ∂v/∂θ, so the
same G facing the same D gets ~D(G(z)) times the non-saturating push from the minimax loss.

The scene trains one 1D Gaussian generator G(z) = μ + σz from the same start with each loss, each
against its own copy of one D that was first trained alone until it wins. The losses are the
engine's (``losses.g_loss`` and ``losses.d_loss``), so this is what the trainer does.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from ganplay.engine.losses import d_loss, g_loss

from . import LECTURE_1
from .base import Curve, Param, Plot, Points, Scene, SceneFrame, fmt, speed_param
from .optim import Adam, on_one_thread
from .optimal_d import Discriminator1D, log_gauss, logits_at, step_span

LOSSES = ("minimax", "ns", "ml")
LABELS = {"minimax": "minimax log(1 − D)", "ns": "non-saturating −log D", "ml": "max. likelihood −D/(1 − D)"}
SHORT = {"minimax": "minimax", "ns": "non-saturating", "ml": "max. likelihood"}
COLOURS = {"minimax": "c4", "ns": "c0", "ml": "c3"}   # c2 (green) would read as the data's colour
STYLES = {"minimax": "solid", "ns": "solid", "ml": "dash"}   # ML's runs lie on minimax's: both stay visible
DATA_SD = 0.5
VIEW = (-5.0, 5.0)
D_AXIS = (1e-3, 1 - 1e-3)   # the curves' D(G(z)) range: the losses are infinite at 0 or 1
LOSS_YRANGE = (-3.0, 7.5)
GRAD_YRANGE = (1e-7, 1e2)
HISTORY = 1000
MAX_STEPS = 20000
SHOWN_SAMPLES = 48          # samples per run drawn on the loss curves
PRETRAIN_LR = 1e-2          # D's Adam rate while it trains alone: 100 steps bring D(G(z)) to ~1e-3
# G's gradient norm is clipped here before its step (the numbers show it unclipped). Only the
# maximum-likelihood G needs it: its gradient grows like exp(v) once D(G(z)) passes ½ for some
# samples, and one such SGD step threw it to NaN.
G_CLIP = 10.0


# ---- the curves, through the engine's losses ----------------------------------------------------
def loss_and_grad(name: str, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's G loss ``name`` at each D(G(z)) in ``d`` and its derivative with respect to the
    logit v = σ⁻¹(D), by autograd (``losses.g_loss`` takes a batch mean, so each point is its own
    batch of one: ∂(Σ L_i)/∂v_i = ∂L_i/∂v_i)."""
    d = np.asarray(d, dtype=np.float64)
    v = torch.logit(torch.as_tensor(d, dtype=torch.float64)).requires_grad_(True)
    per_point = torch.stack([g_loss(name, vi.reshape(1)) for vi in v])
    (grad,) = torch.autograd.grad(per_point.sum(), v)
    return per_point.detach().numpy(), grad.numpy()


def closed_form(name: str, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same curves by the formulas in the module's docstring (what the tests hold the engine to)."""
    d = np.asarray(d, dtype=np.float64)
    if name == "minimax":
        return np.log1p(-d), -d
    if name == "ns":
        return -np.log(d), -(1 - d)
    if name == "ml":
        return -d / (1 - d), -d / (1 - d)
    raise ValueError(f"no G loss curve {name!r}; curves: {', '.join(LOSSES)}")


class SGD:
    """Plain gradient steps, p ← p − lr·∇p (``optim.Adam``'s interface; torch.optim's first optimiser
    in a process imports torch._dynamo, seconds of a first paint)."""

    def __init__(self, params: list[torch.Tensor], lr: float):
        self.params, self.lr = params, float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.sub_(self.lr * p.grad)


class _Run:
    """One G loss's run: its Gaussian G (μ, log σ), its copy of the pre-trained D, their optimisers,
    and what it did step by step."""

    def __init__(self, loss: str, d: Discriminator1D, mu0: float, sd0: float, lr_g: float, lr_d: float,
                 g_opt: str):
        self.loss = loss
        self.d = copy.deepcopy(d)
        self.opt_d = Adam(self.d.parameters(), lr=lr_d, betas=(0.5, 0.999))
        self.mu = torch.tensor([mu0], requires_grad=True)
        self.log_sd = torch.tensor([math.log(sd0)], requires_grad=True)
        params = [self.mu, self.log_sd]
        self.opt_g: SGD | Adam = SGD(params, lr_g) if g_opt == "sgd" else Adam(params, lr=lr_g, betas=(0.5, 0.999))
        self.steps: list[int] = [0]
        self.means: list[float] = [mu0]
        self.grads: list[float] = []
        self.grad_steps: list[int] = []
        self.last_grad = math.nan
        self.last_dgz = math.nan

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        return self.mu + torch.exp(self.log_sd) * z

    def d_step(self, real: torch.Tensor, z: torch.Tensor) -> None:
        v = self.d(torch.cat([real, self.sample(z).detach()]))   # one pass for both halves
        loss = d_loss(self.loss, v[:len(real)], v[len(real):])
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()

    def g_step(self, z: torch.Tensor, step: int, keep: bool) -> None:
        v = self.d(self.sample(z))
        loss = g_loss(self.loss, v)
        self.opt_g.zero_grad()
        loss.backward()
        self.last_grad = float(torch.sqrt(self.mu.grad ** 2 + self.log_sd.grad ** 2))
        self.last_dgz = float(torch.sigmoid(v.detach()).mean())
        if self.last_grad > G_CLIP:
            for p in (self.mu, self.log_sd):
                p.grad.mul_(G_CLIP / self.last_grad)
        self.opt_g.step()
        with torch.no_grad():
            self.log_sd.clamp_(math.log(0.05), math.log(5.0))
        if keep:
            self.steps.append(step)
            self.means.append(float(self.mu.detach()))
            self.grads.append(self.last_grad)
            self.grad_steps.append(step)

    def g_grad(self, z: torch.Tensor) -> tuple[float, float]:
        """|∇_(μ, log σ) L_G| and the mean D(G(z)) on ``z``, without stepping."""
        v = self.d(self.sample(z))
        gm, gs = torch.autograd.grad(g_loss(self.loss, v), [self.mu, self.log_sd])
        return float(torch.sqrt(gm ** 2 + gs ** 2)), float(torch.sigmoid(v.detach()).mean())

    def thin(self) -> None:
        self.steps, self.means = self.steps[::2], self.means[::2]
        self.grad_steps, self.grads = self.grad_steps[::2], self.grads[::2]


class Saturation(Scene):
    name = "saturation"
    title = "Saturating vs non-saturating G losses"
    group = LECTURE_1
    caption = (
        "Top left: the three G losses as functions of D(G(z)) (solid) and their slopes with respect to "
        "D's logit (dashed; maximum likelihood's slope equals its loss): the <b>minimax</b> loss "
        "log(1 − D) (red) is flat where D rejects the fakes (D(G(z)) ≈ 0), the <b>non-saturating</b> "
        "−log D (blue) is steepest there, the <b>maximum-likelihood</b> −D/(1 − D) (pink) is as flat as "
        "minimax. The dots are each run's current samples on its curve. One Gaussian G starts far from "
        "the data (green) three times, against copies of one D trained alone until it wins "
        "(D(G(z)) ≈ 10⁻³), and each copy trains on with its G. G takes plain gradient steps (SGD: a "
        "step is as large as its gradient): the minimax and ML generators barely move while the "
        "non-saturating one walks to the data (bottom left), with a gradient about a thousand times "
        "larger at the start (bottom right, log scale). Switch G to Adam: it rescales the tiny "
        "gradients and hides the difference."
    )
    params = (
        Param("data_mean", "data mean", 2.0, "p_data = N(mean, 0.5²)", range=(-2.0, 4.0)),
        Param("g_start", "G starts at", -2.0, "the mean every G starts from (σ = 0.5)", range=(-4.0, 4.0)),
        Param("pretrain", "D pre-training steps", 100,
              f"D steps (Adam, rate {PRETRAIN_LR:g}) against the starting G before any G moves", range=(0, 1000)),
        Param("k", "D steps per G step", 1, "D steps for each G step, in every run", range=(1, 10), resets=False),
        Param("lr_g", "G learning rate", 0.02, "G's step size", range=(1e-3, 1.0), log=True),
        Param("lr_d", "D learning rate", 2e-3, "Adam's learning rate for D once the G's train",
              range=(1e-4, 3e-2), log=True),
        Param("g_opt", "G optimiser", "sgd", "sgd: a step is lr × gradient; adam rescales the gradient",
              choices=("sgd", "adam")),
        Param("batch", "batch", 128, "samples per step", range=(16, 512)),
        # the story is told in ~100 steps: unbounded, a quiet machine would play it in half a second
        speed_param(2),
    )

    @on_one_thread
    def reset(self) -> None:
        super().reset()
        self.gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            d = Discriminator1D(scale=VIEW[1])
        mu0, sd0 = float(self.values["g_start"]), DATA_SD
        lr_d = float(self.values["lr_d"])
        self.pretrain_d(d, mu0, sd0, int(self.values["pretrain"]))
        self.runs = {name: _Run(name, d, mu0, sd0, float(self.values["lr_g"]), lr_d, str(self.values["g_opt"]))
                     for name in LOSSES}
        self.curve_d = np.linspace(*D_AXIS, 400)
        self.curves = {name: loss_and_grad(name, self.curve_d) for name in LOSSES}
        self.z_show = torch.randn(SHOWN_SAMPLES, 1, generator=self.gen)
        self.stride = 1
        z = torch.randn(int(self.values["batch"]), 1, generator=self.gen)
        for run in self.runs.values():
            run.last_grad, run.last_dgz = run.g_grad(z)
            run.grads.append(run.last_grad)
            run.grad_steps.append(0)
        self.start_ratio = self.runs["minimax"].last_grad / max(self.runs["ns"].last_grad, 1e-300)

    def real(self, n: int) -> torch.Tensor:
        return float(self.values["data_mean"]) + DATA_SD * torch.randn(n, 1, generator=self.gen)

    def pretrain_d(self, d: Discriminator1D, mu0: float, sd0: float, steps: int) -> None:
        """D alone against the starting G: it learns to reject the fakes before G moves."""
        opt = Adam(d.parameters(), lr=PRETRAIN_LR, betas=(0.5, 0.999))
        n = int(self.values["batch"])
        for _ in range(steps):
            fake = mu0 + sd0 * torch.randn(n, 1, generator=self.gen)
            v = d(torch.cat([self.real(n), fake]))
            loss = d_loss("minimax", v[:n], v[n:])
            opt.zero_grad()
            loss.backward()
            opt.step()

    @on_one_thread
    def advance(self, n: int = 1) -> None:
        n = min(max(n, 0), MAX_STEPS - self.step)
        batch = int(self.values["batch"])
        for _ in range(n):
            self.step += 1
            keep = self.step % self.stride == 0
            # every run sees the same data and noise: only the G loss differs between them
            for _ in range(int(self.values["k"])):
                real, z = self.real(batch), torch.randn(batch, 1, generator=self.gen)
                for run in self.runs.values():
                    run.d_step(real, z)
            z = torch.randn(batch, 1, generator=self.gen)
            for run in self.runs.values():
                run.g_step(z, self.step, keep)
            if len(self.runs["ns"].steps) > HISTORY:
                for run in self.runs.values():
                    run.thin()
                self.stride *= 2

    def mean(self, loss: str) -> float:
        return float(self.runs[loss].mu.detach())

    @on_one_thread
    def frame(self) -> SceneFrame:
        data_mean = float(self.values["data_mean"])
        curves: list = []
        for name in LOSSES:
            val, grad = self.curves[name]
            curves.append(Curve(LABELS[name], self.curve_d, val, color=COLOURS[name]))
            curves.append(Curve(f"_{name}_grad", self.curve_d, grad, color=COLOURS[name], style="dash"))
        curves.append(Curve("dashed: ∂L/∂logit", np.array([0.0, 1.0]), np.zeros(2), color="grey", style="dash"))
        dens_x = np.linspace(*VIEW, 401)
        dens = [Curve("p_data", dens_x, np.exp(log_gauss(dens_x, data_mean, DATA_SD)), color="real", fill=0.0)]
        span = step_span(self.step)
        means: list = [Curve("data mean", np.array(span), np.full(2, data_mean), color="real", style="dot")]
        lo, hi = sorted((float(self.values["g_start"]), data_mean))
        grads: list = []
        numbers = [("step", str(self.step))]
        top = 0.0
        for name, run in self.runs.items():
            mu = float(run.mu.detach())
            sd = float(torch.exp(run.log_sd.detach()))
            with torch.no_grad():
                v = run.d(run.sample(self.z_show)).reshape(-1).double()
            dgz = torch.sigmoid(v).numpy().clip(*D_AXIS)
            loss_at = closed_form(name, dgz)[0]
            curves.append(Points(f"_{name}_now", np.column_stack([dgz, loss_at]), color=COLOURS[name], size=7))
            p_g = np.exp(log_gauss(dens_x, mu, sd))
            top = max(top, float(p_g.max()))
            dens.append(Curve(f"p_g {SHORT[name]}", dens_x, p_g, color=COLOURS[name], style=STYLES[name]))
            dens.append(Curve(f"_{name}_d", dens_x, 1 / (1 + np.exp(-logits_at(run.d, dens_x))),
                              color=COLOURS[name], style="dot"))
            means.append(Curve(SHORT[name], np.array(run.steps + [self.step], float), np.array(run.means + [mu]),
                               color=COLOURS[name], style=STYLES[name]))
            grads.append(Curve(SHORT[name], np.array(run.grad_steps, float),
                               np.maximum(np.array(run.grads), 1e-12), color=COLOURS[name], style=STYLES[name]))
            numbers.append((LABELS[name], f"G mean {mu:+.3f} (moved {mu - run.means[0]:+.3f})   "
                                          f"D(G(z)) {fmt(run.last_dgz, 3)}   |∇θ L_G| {fmt(run.last_grad, 3)}"))
        ratio = self.runs["minimax"].last_grad / max(self.runs["ns"].last_grad, 1e-300)
        numbers.append(("|∇ minimax| / |∇ non-saturating|", f"{fmt(ratio, 3)}   (at step 0: {fmt(self.start_ratio, 3)})"))
        return SceneFrame(
            # one legend (top right, where the curves leave room) names the runs' colours for all panels
            plots=[Plot("losses", "G losses vs D(G(z)) (solid) and ∂L/∂logit (dashed)", curves,
                        xlabel="D(G(z))", ylabel="L_G", xrange=(0.0, 1.0), yrange=LOSS_YRANGE,
                        legend_corner="top-right"),
                   Plot("densities", "p_data (green), each run's p_g (solid) and its D (dotted)", dens,
                        xlabel="x", ylabel="density / D(x)", xrange=VIEW, yrange=(0.0, min(max(1.05, math.ceil(4.4 * top) / 4), 3.0)),
                        legend=False),
                   # fixed ranges: the view lays out and grids an axis again only when its range changes
                   Plot("means", "G's mean over steps (dotted: the data's mean)", means, xlabel="step",
                        ylabel="mean of p_g", xrange=span, yrange=(lo - 1.0, hi + 1.0), legend=False),
                   Plot("grads", "G's gradient |∇θ L_G| over steps, θ = (μ, log σ)", grads, xlabel="step",
                        ylabel="|∇θ L_G|", xrange=span, yrange=GRAD_YRANGE, log_y=True, legend=False)],
            numbers=numbers,
            step=self.step,
            status=f"stopped after {MAX_STEPS:,} steps" if self.step >= MAX_STEPS else "",
        )
