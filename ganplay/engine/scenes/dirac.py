"""The Dirac GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
converge?"): the smallest GAN that shows why unregularised training need not converge.

The data are a point mass at 0, G a single parameter θ (its samples are all at θ) and D(x) = ψ·x,
so the whole game lives in the (θ, ψ) plane and its only equilibrium is (0, 0). The scores follow
ganplay's loss table (THEORY.md, ``engine/losses.py``): D's score is a logit of "real", so the real
score is v_r = D(0) = 0 and the fake one v_f = D(θ) = ψθ. (The paper scores "fake" instead; its ψ
is minus this one and its pictures are this scene's mirror image.) The losses and the gradients
each player steps along, in closed form (σ the sigmoid, sp the softplus, sp' = σ):

- ``minimax`` (the paper's "standard GAN"):
                          L_D = sp(−v_r) + sp(v_f) = log 2 + sp(ψθ)    ∂L_D/∂ψ = σ(ψθ)·θ
                          L_G = −sp(v_f) = −sp(ψθ)                      ∂L_G/∂θ = −σ(ψθ)·ψ
- non-saturating ``ns``:  L_D as minimax,  L_G = sp(−v_f) = sp(−ψθ)    ∂L_G/∂θ = −σ(−ψθ)·ψ
- ``r1``: the non-saturating game, D's loss plus R1 = γ/2·|∇ₓD(x)|² at the real point = γ/2·ψ²,
                          ∂L_D/∂ψ = σ(ψθ)·θ + γψ,   ∂L_G/∂θ as ns
- ``wgan``:  L_D = v_f − v_r = ψθ,  L_G = −v_f = −ψθ                    ∂ψ: θ,   ∂θ: −ψ;
             D(x) = ψx is |ψ|-Lipschitz, so clipping ψ to [−c, c] after each D step (WGAN's weight
             clipping) makes D c-Lipschitz; c = 1 is WGAN's constraint, c = 0 no clipping at all
- ``wgan_gp``: L_D = ψθ + λ(|∇D(x̂)| − 1)² = ψθ + λ(|ψ| − 1)² (D's slope is ψ at every
             interpolate x̂)                                 ∂ψ: θ + 2λ(|ψ| − 1)·sign ψ;  ∂θ: −ψ

The field G and D follow is (dθ, dψ) = (−∂L_G/∂θ, −∂L_D/∂ψ). Near (0, 0) it is, for minimax and
ns, ½·(ψ, −θ) (σ(0) = ½) and for wgan exactly (ψ, −θ): the bilinear game's (y, −x) with
(x, y) = (θ, ψ), scaled by the slope of the loss at 0 (the paper's f'(0)). So simultaneous steps at
rate η spiral out as the x·y game's at η/2 (η for WGAN), by √(1 + η²/4) a step (``rate``), and
alternating steps cycle. Away from (0, 0) the losses differ: minimax's field stays exactly
tangent to circles (d|(θ, ψ)|²/dt = 0), while ns's has an inward part, θψ·(σ(−θψ) − σ(θψ)) ≤ 0, that
vanishes like |(θ, ψ)|⁴: it creeps inwards with alternating steps (far slower than any linear rate)
and settles on a cycle with simultaneous ones. R1 adds −γψ to ψ's velocity, a damping that turns the
centre into a sink (eigenvalues (−γ ± √(γ² − 1))/2, negative real parts).

WGAN-GP's penalty is centred at |ψ| = 1, not 0: even with G right (θ = 0) D moves to |ψ| = 1, which
pushes θ away again, so (0, 0) is a rest point that repels. In each half-plane the field is a damped
rotation about another point: for ψ > 0, with u = θ − 2λ, (du, dψ) = (ψ, −u − 2λψ), an oscillator
with damping 2λ about (2λ, 0), and its mirror about (−2λ, 0) for ψ < 0. For λ ≥ 1 (overdamped) the
path creeps into (±2λ, 0) (after crossing ψ = 0 at most once) and stops there, 2λ away from the
data; for λ < 1 it swings between the half-planes onto a cycle (the same one from every start the
tests try, for both update rules). Either way it does not converge
(the paper: WGAN and WGAN-GP with a finite number of critic steps need not converge; its reference
code uses the penalty weight 1 = 2λ and a target slope of 0.3 instead of 1, which orbits).
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from . import LECTURE_2
from .base import Arrows, Curve, Param, Plot, Points, Scene, SceneFrame, Segments, fmt, speed_param

LOSSES = ("minimax", "ns", "wgan", "wgan_gp", "r1")
LABELS = {"minimax": "minimax", "ns": "non-saturating", "wgan": "WGAN", "wgan_gp": "WGAN-GP", "r1": "GAN + R1"}
COLOURS = {"minimax": "c4", "ns": "c1", "wgan": "c7", "wgan_gp": "c3", "r1": "c0"}
UPDATES = ("simultaneous", "alternating")
MAX_STEPS = 4000
BLOW_UP = 1e3     # a trajectory this far out is stopped: the plane could not show it anyway
LIM = 2.5         # the plane's half-width


def _sigmoid(t: float) -> float:
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def _sign(t: float) -> float:
    # torch's |ψ| has the subgradient 0 at ψ = 0; the test checks the closed form against autograd
    return 1.0 if t > 0 else -1.0 if t < 0 else 0.0


def gradients(loss: str, theta: float, psi: float, gamma: float = 0.3, lam: float = 0.5) -> tuple[float, float]:
    """(∂L_G/∂θ, ∂L_D/∂ψ): the gradients G and D descend at (θ, ψ) under ``loss`` (R1 weight
    ``gamma``, WGAN-GP weight ``lam``). WGAN's clipping is not a gradient: ``d_step`` applies it."""
    v = psi * theta
    if loss == "minimax":
        return -_sigmoid(v) * psi, _sigmoid(v) * theta
    if loss in ("ns", "r1"):
        g_theta = -_sigmoid(-v) * psi
        g_psi = _sigmoid(v) * theta + (gamma * psi if loss == "r1" else 0.0)
        return g_theta, g_psi
    if loss == "wgan":
        return -psi, theta
    if loss == "wgan_gp":
        return -psi, theta + 2.0 * lam * (abs(psi) - 1.0) * _sign(psi)
    raise ValueError(f"unknown loss {loss!r}; losses: {', '.join(LOSSES)}")


def step(loss: str, eta: float, theta: float, psi: float, updates: str = "simultaneous", d_steps: int = 1,
         gamma: float = 0.3, lam: float = 0.5, clip: float = 1.0) -> tuple[float, float]:
    """One generator step (with its discriminator steps) of plain gradient descent at rate ``eta``.

    ``simultaneous``: both players step from the same point (``d_steps`` is ignored).
    ``alternating``: ``d_steps`` D steps, then G steps against the new D, as ganplay's trainer does.
    WGAN clips ψ to [−clip, clip] after each D step (``clip`` = 0: no clipping).
    """
    def clipped(p: float) -> float:
        return min(max(p, -clip), clip) if loss == "wgan" and clip > 0 else p

    if updates == "simultaneous":
        gt, gp = gradients(loss, theta, psi, gamma, lam)
        return theta - eta * gt, clipped(psi - eta * gp)
    if updates == "alternating":
        for _ in range(max(1, d_steps)):
            psi = clipped(psi - eta * gradients(loss, theta, psi, gamma, lam)[1])
        return theta - eta * gradients(loss, theta, psi, gamma, lam)[0], psi
    raise ValueError(f"unknown updates {updates!r}; choose one of {', '.join(UPDATES)}")


def trajectory(loss: str, eta: float, start: tuple[float, float], steps: int, **kw: object) -> np.ndarray:
    """The points (steps + 1, 2) of (θ, ψ) under ``loss`` from ``start`` (``kw``: ``step``'s options)."""
    out = np.empty((steps + 1, 2))
    out[0] = start
    theta, psi = float(start[0]), float(start[1])
    for t in range(steps):
        theta, psi = step(loss, eta, theta, psi, **kw)  # type: ignore[arg-type]
        out[t + 1] = theta, psi
    return out


def jacobian(loss: str, gamma: float = 0.3) -> np.ndarray | None:
    """The Jacobian at (0, 0) of the field (dθ, dψ) = (−∂L_G/∂θ, −∂L_D/∂ψ), or None for
    WGAN-GP, whose field has a kink there (|ψ|) and pushes ψ away from 0 on both sides."""
    if loss == "wgan":
        return np.array([[0.0, 1.0], [-1.0, 0.0]])
    if loss in ("minimax", "ns", "r1"):
        return np.array([[0.0, 0.5], [-0.5, -(gamma if loss == "r1" else 0.0)]])
    if loss == "wgan_gp":
        return None
    raise ValueError(f"unknown loss {loss!r}; losses: {', '.join(LOSSES)}")


@functools.lru_cache(maxsize=256)   # a frame asks for every loss's rate; the controls rarely change
def rate(loss: str, eta: float, updates: str = "simultaneous", d_steps: int = 1, gamma: float = 0.3) -> float | None:
    """The factor by which a step scales the distance to (0, 0) in the long run, close to (0, 0):
    the spectral radius of the linearised update (< 1: converges there; 1: cycles; > 1: spirals
    out). None for WGAN-GP (no linearisation at its kink)."""
    jac = jacobian(loss, gamma)
    if jac is None:
        return None
    if updates == "simultaneous":
        m = np.eye(2) + eta * jac
    else:
        d = np.array([[1.0, 0.0], [eta * jac[1, 0], 1.0 + eta * jac[1, 1]]])
        g = np.array([[1.0 + eta * jac[0, 0], eta * jac[0, 1]], [0.0, 1.0]])
        m = g @ np.linalg.matrix_power(d, max(1, d_steps))
    return float(np.abs(np.linalg.eigvals(m)).max())


class DiracGAN(Scene):
    name = "dirac"
    title = "The Dirac GAN"
    group = LECTURE_2
    caption = (
        "A GAN small enough to draw whole (Mescheder et al. 2018): the data are a point mass at 0, all "
        "of G's samples sit at θ and D(x) = ψ·x, so training is a path in the (θ, ψ) plane whose "
        "equilibrium is the centre. <b>This is the same spiral as the x·y game's</b>: near (0, 0) the "
        "unregularised field is the bilinear game's (y, −x) with (x, y) = (θ, ψ), scaled by the loss's "
        "slope at 0 (½ for the GAN losses, 1 for WGAN). With simultaneous steps <b>minimax</b> (red) "
        "spirals out until D rejects G's sample so surely (ψθ ≪ 0) that both gradients vanish; "
        "<b>non-saturating</b> (orange) settles on a cycle; <b>WGAN</b> (olive) cycles inside its "
        "clipping lines |ψ| = c; <b>WGAN-GP</b> (pink) orbits too, because its penalty wants |ψ| = 1 "
        "even at θ = 0: each half-plane turns about (±2λ, 0) (crosses), where the path stops for λ ≥ 1. "
        "<b>R1</b> (blue: γ/2·ψ² added to D's loss) damps ψ and spirals in. Alternating steps make the "
        "unregularised paths cycle. Arrows: the selected loss's field; drag in the plane to move the "
        "start. Right: each distance to (0, 0); the numbers give each loss's rate a step near (0, 0)."
    )
    params = (
        Param("theta0", "start θ", 1.0, "where every trajectory starts: G's sample", range=(-2.0, 2.0)),
        Param("psi0", "start ψ", 0.5, "where every trajectory starts: D's slope", range=(-2.0, 2.0)),
        Param("updates", "updates", "simultaneous",
              "simultaneous: G and D step from the same point; alternating: D's steps, then G's against "
              "the new D (as ganplay's trainer does)", choices=UPDATES),
        Param("d_steps", "D steps per G step", 1, "alternating updates only: D's steps before each of G's",
              range=(1, 10)),
        Param("field", "arrows show", "minimax", "whose gradient field the arrows draw", choices=LOSSES),
        Param("lr_minimax", "η minimax", 0.1, "learning rate (G and D) of the minimax GAN", range=(0.001, 1.0),
              log=True),
        Param("lr_ns", "η non-saturating", 0.1, "learning rate (G and D) of the non-saturating GAN",
              range=(0.001, 1.0), log=True),
        Param("lr_wgan", "η WGAN", 0.05, "learning rate (G and D) of WGAN", range=(0.001, 1.0), log=True),
        Param("lr_wgan_gp", "η WGAN-GP", 0.05,
              "learning rate (G and D) of WGAN-GP; above 1/(2λ) D's steps overshoot its minimum",
              range=(0.001, 1.0), log=True),
        Param("lr_r1", "η GAN + R1", 0.1, "learning rate (G and D) of the non-saturating GAN with R1",
              range=(0.001, 1.0), log=True),
        Param("gamma", "R1 γ", 0.3, "weight of R1 = γ/2·|∇D(real)|² = γ/2·ψ² (0.3 in the paper's figure)",
              range=(0.01, 10.0), log=True),
        Param("lam", "WGAN-GP λ", 0.5,
              "weight of λ(|∇D(x̂)| − 1)² = λ(|ψ| − 1)²; the path stops at θ = ±2λ (0.5 is the paper's "
              "figure; ganplay's default for real GANs is 10, which stops at θ = ±20)", range=(0.05, 10.0),
              log=True),
        Param("clip", "WGAN clip c", 1.0,
              "WGAN's weight clipping: ψ is clipped to [−c, c] after each D step, so D(x) = ψx is "
              "c-Lipschitz (c = 1: WGAN's constraint); 0: no clipping, the bilinear game itself",
              range=(0.0, 2.0)),
        Param("show_minimax", "show minimax", True),
        Param("show_ns", "show non-saturating", True),
        Param("show_wgan", "show WGAN", True),
        Param("show_wgan_gp", "show WGAN-GP", True),
        Param("show_r1", "show GAN + R1", True),
        speed_param(5),
    )
    drag = {"plane": ("theta0", "psi0")}

    def reset(self) -> None:
        super().reset()
        # preallocated, so that a frame draws views of the paths instead of copying lists of points
        self.xy = {k: np.empty((MAX_STEPS + 1, 2)) for k in LOSSES}
        for k in LOSSES:
            self.xy[k][0] = float(self.values["theta0"]), float(self.values["psi0"])
        self.length = dict.fromkeys(LOSSES, 1)
        self._field: tuple[tuple[Any, ...], Arrows] | None = None

    def path(self, loss: str) -> np.ndarray:
        """The points (t + 1, 2) of (θ, ψ) that ``loss`` has visited (fewer if it blew up)."""
        return self.xy[loss][:self.length[loss]]

    def eta(self, loss: str) -> float:
        return float(self.values[f"lr_{loss}"])

    def options(self) -> dict[str, Any]:
        """``step``'s keyword options from the controls."""
        v = self.values
        return {"updates": str(v["updates"]), "d_steps": int(v["d_steps"]), "gamma": float(v["gamma"]),
                "lam": float(v["lam"]), "clip": float(v["clip"])}

    def advance(self, n: int = 1) -> None:
        n = min(n, MAX_STEPS - self.step)
        kw = self.options()
        for loss in LOSSES:
            xy, k, eta = self.xy[loss], self.length[loss], self.eta(loss)
            theta, psi = float(xy[k - 1, 0]), float(xy[k - 1, 1])
            for _ in range(n):
                if not math.hypot(theta, psi) <= BLOW_UP:   # also stops a nan
                    break
                theta, psi = step(loss, eta, theta, psi, **kw)
                xy[k] = theta, psi
                k += 1
            self.length[loss] = k
        self.step += max(n, 0)

    def field(self, loss: str, n: int = 13) -> Arrows:
        """The field (dθ, dψ) = (−∂L_G/∂θ, −∂L_D/∂ψ) of ``loss`` on an n×n grid, each arrow scaled to
        fit its cell (its length grows with the square root of the speed, so slow regions still show)."""
        kw = self.options()
        key = (loss, n, kw["gamma"], kw["lam"])
        if self._field is not None and self._field[0] == key:   # the same field: not computed again
            return self._field[1]
        g = np.linspace(-LIM * 0.92, LIM * 0.92, n)
        pts = [(float(t), float(p)) for p in g for t in g]
        vel = -np.array([gradients(loss, t, p, kw["gamma"], kw["lam"]) for t, p in pts])
        speed = np.hypot(vel[:, 0], vel[:, 1])
        length = np.sqrt(speed / max(float(speed.max()), 1e-12)) * 0.8 * (g[1] - g[0])
        arrows = Arrows("_field", np.array(pts), vel / np.maximum(speed, 1e-12)[:, None] * length[:, None],
                        color="grey")
        self._field = key, arrows
        return arrows

    def frame(self) -> SceneFrame:
        kw = self.options()
        plane: list[Any] = [self.field(str(self.values["field"]))]
        c = kw["clip"]
        if c > 0 and self.values["show_wgan"]:
            plane.append(Segments("_clip", np.array([[[-LIM, c], [LIM, c]], [[-LIM, -c], [LIM, -c]]]),
                                  color=COLOURS["wgan"], style="dash"))
        if self.values["show_wgan_gp"]:
            rest = 2 * kw["lam"]
            plane.append(Points("_gp_rest", np.array([[-rest, 0.0], [rest, 0.0]]), color=COLOURS["wgan_gp"],
                                size=12, symbol="x"))
        dist = []
        numbers = []
        for loss in LOSSES:
            if not self.values[f"show_{loss}"]:
                continue
            path = self.path(loss)
            label = LABELS[loss]
            plane.append(Curve(label, path[:, 0], path[:, 1], color=COLOURS[loss]))
            plane.append(Points(f"_{loss}_now", path[-1:], color=COLOURS[loss], size=9))
            r = np.hypot(path[:, 0], path[:, 1])
            dist.append(Curve(label, np.arange(len(r), dtype=float), np.maximum(r, 1e-12), color=COLOURS[loss]))
            rho = rate(loss, self.eta(loss), kw["updates"], kw["d_steps"], kw["gamma"])
            near = (f"turns about θ = ±2λ = ±{fmt(2 * kw['lam'])}, not 0" if rho is None
                    else f"×{fmt(rho, 6)} a step near (0, 0)")
            numbers.append((f"|(θ, ψ)| {label}", f"{fmt(float(r[-1]))}  ({near})"))
        plane.append(Points("equilibrium", np.zeros((1, 2)), color="black", size=10, symbol="+"))
        plane.append(Points("start", np.array([[self.values["theta0"], self.values["psi0"]]], dtype=float),
                            color="black", size=8, symbol="s"))
        return SceneFrame(
            plots=[Plot("plane", "The (θ, ψ) plane", plane, xlabel="θ (G: where its samples sit)",
                        ylabel="ψ (D's slope: D(x) = ψ·x)", xrange=(-LIM, LIM), yrange=(-LIM, LIM), square=True,
                        legend=False),
                   Plot("distance", "Distance to the equilibrium", dist, xlabel="G step", ylabel="|(θ, ψ)|",
                        log_y=True, legend_corner="bottom-left")],
            numbers=[("step", str(self.step))] + numbers,
            step=self.step,
            status=f"stopped: every loss ran its {MAX_STEPS:,} steps" if self.step >= MAX_STEPS else "",
        )
