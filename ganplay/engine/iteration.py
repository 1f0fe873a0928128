"""One training iteration, taken apart: what slow motion plays and what the formulas show.

``Recorder`` stands in for a Trainer in ``trainer.d_update`` / ``g_update`` (``Trainer.step(
target=...)``): every call goes to the trainer unchanged, in the same order, so the random draws
and the arithmetic are the trainer's own — an iteration traced for slow motion leaves exactly
the weights a normal step leaves (tested). On the way it keeps copies of what the sub-steps show:
z, the real and fake batches, D's scores, the loss as a formula with this batch's numbers, the
gradients, and D's surface and G's samples before and after each update. Pictures of the state
(the surfaces, the moved samples) are taken in eval mode or with the normalisation buffers put
back, so they change nothing either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import formulas as Fm
from . import losses as L
from .trainer import StepStats, d_objective, g_objective

# the model graph's nodes, as the window names them
NODES = ("z", "G", "G(z)", "x", "D", "D(x)", "L_D", "L_G")


@dataclass
class DTrack:
    """One discriminator update."""
    z: np.ndarray
    real: np.ndarray
    fake: np.ndarray
    score_real: np.ndarray            # D's raw scores
    score_fake: np.ndarray
    formula: Fm.Formula | None = None
    grad_norm: float = float("nan")
    dl_dscore_real: np.ndarray | None = None   # ∂L_D/∂D(x) per sample: how the loss pulls each score
    dl_dscore_fake: np.ndarray | None = None
    surface_before: np.ndarray | None = None   # D on the grid (probability, or a squashed critic)
    surface_after: np.ndarray | None = None


@dataclass
class GTrack:
    """The generator update."""
    z: np.ndarray
    fake_before: np.ndarray
    score_fake: np.ndarray
    formula: Fm.Formula | None = None
    grad_norm: float = float("nan")
    push: np.ndarray | None = None             # −∂L_G/∂x̃ per fake sample: where the loss moves it
    fake_after: np.ndarray | None = None       # G(z) of the same z after G's update


@dataclass
class SubStep:
    track: str              # "D" or "G"
    number: int             # 1..5 within its track
    kind: str               # "sample", "score", "loss", "gradient", "update"
    caption: str
    active: tuple[str, ...]  # the graph's lit nodes
    d_index: int = 0        # which D track (k D updates per iteration)


@dataclass
class IterationTrace:
    step: int                          # the step this iteration made (the trainer's count after it)
    loss: str
    prob: bool                         # D(x) is a probability (else a raw critic score)
    d_tracks: list[DTrack] = field(default_factory=list)
    g_track: GTrack | None = None
    stats: StepStats | None = None
    bounds: tuple[float, float, float, float] | None = None   # the surfaces' grid area
    optimiser: tuple[str, str] = ("adam", "adam")             # D's and G's
    lr: tuple[float, float] = (0.0, 0.0)

    def substeps(self) -> list[SubStep]:
        """The captioned sub-steps: five per D update (k of them), then five for G."""
        out: list[SubStep] = []
        k = len(self.d_tracks)
        for i, d in enumerate(self.d_tracks):
            out += d_substeps(self, d, i, k)
        if self.g_track is not None:
            out += g_substeps(self, self.g_track)
        return out


def _mean_d(scores: np.ndarray, prob: bool) -> str:
    return f"{float(np.mean(1 / (1 + np.exp(-scores)))):.2f}" if prob else f"{float(np.mean(scores)):+.2f}"


def d_substeps(tr: IterationTrace, d: DTrack, i: int, k: int) -> list[SubStep]:
    B = len(d.real)
    which = f" (D update {i + 1} of {k})" if k > 1 else ""
    what = "probability of being real" if tr.prob else "score (a critic: higher means more real)"
    push = ("up on the real points and down on the fake ones" if tr.prob or tr.loss in L.CRITIC_LOSSES else
            "so that real and fake points score apart")
    f = d.formula
    lr = tr.lr[0]
    return [
        SubStep("D", 1, "sample", f"1 · The generator derives samples from noise{which}: {B} z drawn from the prior "
                f"become {B} fake points G(z) (purple), and {B} real points x come from the data (green).",
                ("z", "G", "G(z)", "x"), i),
        SubStep("D", 2, "score", f"2 · The discriminator classifies both batches: each point takes the colour of D's "
                f"{what}. Mean D(x) = {_mean_d(d.score_real, tr.prob)} on real points, "
                f"D(G(z)) = {_mean_d(d.score_fake, tr.prob)} on fake ones.", ("G(z)", "x", "D", "D(x)"), i),
        SubStep("D", 3, "loss", f"3 · The discriminator's loss, {Fm.loss_title(tr.loss)}: "
                f"{f.text() if f else 'L_D'}.", ("D(x)", "L_D"), i),
        SubStep("D", 4, "gradient", f"4 · The gradient of L_D with respect to D's weights (norm {d.grad_norm:.3g}) "
                f"pushes D {push}; each point's ring shows how hard the loss pulls its score.", ("L_D", "D"), i),
        SubStep("D", 5, "update", f"5 · The discriminator takes one {tr.optimiser[0]} step (lr {lr:g}): its surface "
                "moves. The dashed line is where D = ½ was before the step.", ("D",), i),
    ]


def g_substeps(tr: IterationTrace, g: GTrack) -> list[SubStep]:
    B = len(g.z)
    f = g.formula
    return [
        SubStep("G", 1, "sample", f"1 · New noise for the generator: {B} fresh z give {B} fake points G(z); G's "
                "track sees fake samples only.", ("z", "G", "G(z)")),
        SubStep("G", 2, "score", f"2 · The discriminator scores them: mean D(G(z)) = {_mean_d(g.score_fake, tr.prob)}. "
                "D is not updated in this track.", ("G(z)", "D", "D(x)")),
        SubStep("G", 3, "loss", f"3 · The generator's loss, {Fm.loss_title(tr.loss)}: {f.text() if f else 'L_G'}.",
                ("D(x)", "L_G")),
        SubStep("G", 4, "gradient", "4 · The gradient flows back through D to each fake point: the arrows are "
                f"−∂L_G/∂G(z), where the loss pushes each sample (norm of G's gradient {g.grad_norm:.3g}).",
                ("L_G", "D", "G(z)", "G")),
        SubStep("G", 5, "update", f"5 · The generator takes one {tr.optimiser[1]} step (lr {tr.lr[1]:g}): the fake "
                "points move from where they were (hollow) to where G now sends the same z.", ("G", "G(z)")),
    ]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy().copy()


class Recorder:
    """A stand-in for ``trainer`` in its own updates (see the module's docstring).

    ``detail``: "trace" keeps everything slow motion shows; "formulas" keeps only the loss
    formulas (cheap enough for every published frame). ``surface_area``: where to evaluate D's
    surface before and after each D update (2D data only; None: no surfaces)."""

    def __init__(self, trainer: Any, detail: str = "trace",
                 surface_area: tuple[float, float, float, float] | None = None, surface_res: int = 40):
        self.trainer = trainer
        self.detail = detail
        self.area = surface_area
        self.res = surface_res
        lc = trainer.cfg.loss
        tc = trainer.cfg.train
        self.trace = IterationTrace(step=trainer.step_count + 1, loss=lc.name, prob=not L.is_critic(lc.name)
                                    and not lc.name.startswith("f-") and lc.name != "lsgan",
                                    bounds=surface_area, optimiser=(tc.opt_d, tc.opt_g), lr=(tc.lr_d, tc.lr_g))
        self._scores: list[torch.Tensor] = []
        self._g: tuple[torch.Tensor, ...] | None = None
        self._side = ""

    # everything the updates need and this class does not watch goes to the trainer
    def __getattr__(self, name: str) -> Any:
        return getattr(self.trainer, name)

    @property
    def keep(self) -> bool:
        return self.detail == "trace"

    def _surface(self) -> np.ndarray | None:
        if self.area is None or not self.keep:
            return None
        from .metrics import decision_surface

        return decision_surface(self.trainer, self.area, self.res)

    # ---- the D update
    def d_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any, Any]:
        x, xf, eps, y, yf, z = self.trainer.d_draws()
        self._side, self._scores = "D", []
        if self.keep:
            self.trace.d_tracks.append(DTrack(_np(z), _np(x), _np(xf), np.zeros(0), np.zeros(0),
                                              surface_before=self._surface()))
        else:
            self.trace.d_tracks = [DTrack(*(np.zeros(0),) * 5)]
        return x, xf, eps, y, yf

    def d_scores(self, x: torch.Tensor, y: Any = None, rows: Any = None) -> torch.Tensor:
        v = self.trainer.d_scores(x, y, rows)
        if self._side == "D" and len(self._scores) < 2:   # real, then fake; a third call is the GP's
            self._scores.append(v)
        return v

    # ---- the G update
    def g_scores(self) -> torch.Tensor:
        v, z, xf, yf = self.trainer.g_forward()
        self._side, self._g = "G", (v, z, xf)
        self.trace.g_track = GTrack(_np(z) if self.keep else np.zeros(0), _np(xf) if self.keep else np.zeros(0),
                                    _np(v) if self.keep else np.zeros(0))
        self._g_labels = yf
        return v

    # ---- both
    def per_member_loss(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        loss = self.trainer.per_member_loss(fn, *args)
        lc = self.trainer.cfg.loss
        if fn is d_objective:
            d = self.trace.d_tracks[-1]
            d.formula = Fm.formula("L_D", Fm.d_term_tensors(lc, *args))
            if self.keep:
                v_r, v_f = args[0], args[1]
                d.score_real, d.score_fake = _np(v_r), _np(v_f)
                gr, gf = torch.autograd.grad(loss, [v_r, v_f], retain_graph=True)
                d.dl_dscore_real, d.dl_dscore_fake = _np(gr), _np(gf)
        elif fn is g_objective:
            g = self.trace.g_track
            assert g is not None and self._g is not None
            g.formula = Fm.formula("L_G", Fm.g_term_tensors(lc, *args))
            if self.keep:
                xf = self._g[2]
                (gx,) = torch.autograd.grad(loss, xf, retain_graph=True)
                g.push = _np(-gx.reshape(len(gx), -1))
        return loss

    def check_update(self, who: str, loss: torch.Tensor, gn: torch.Tensor) -> None:
        self.trainer.check_update(who, loss, gn)
        if self.keep:
            if who == "discriminator":
                self.trace.d_tracks[-1].grad_norm = float(gn)
            elif self.trace.g_track is not None:
                self.trace.g_track.grad_norm = float(gn)

    def apply_d(self, grads: Sequence[torch.Tensor]) -> None:
        self.trainer.apply_d(grads)
        if self.keep:
            self.trace.d_tracks[-1].surface_after = self._surface()

    def apply_g(self, grads: Sequence[torch.Tensor]) -> None:
        self.trainer.apply_g(grads)
        if self.keep and self._g is not None and self.trace.g_track is not None:
            self.trace.g_track.fake_after = self._moved_fakes(self._g[1], self._g_labels)

    @torch.no_grad()
    def _moved_fakes(self, z: torch.Tensor, yf: Any) -> np.ndarray:
        """G(z) after the update, for the same z, as training computes it (train mode); the
        normalisation statistics this forward pass moves are put back."""
        G = self.trainer.G
        bufs = [b for b in G.buffers()]
        saved = [b.clone() for b in bufs]
        try:
            return _np(G(z, yf) if yf is not None else G(z))
        finally:
            for b, s in zip(bufs, saved):
                b.copy_(s)


def trace_step(trainer: Any, surface_area: tuple[float, float, float, float] | None = None,
               surface_res: int = 40) -> IterationTrace:
    """``trainer.step()``, taken apart (see ``Recorder``)."""
    rec = Recorder(trainer, "trace", surface_area, surface_res)
    rec.trace.stats = trainer.step("both", target=rec)
    return rec.trace


def formula_step(trainer: Any, mode: str = "both") -> tuple[StepStats, IterationTrace]:
    """``trainer.step(mode)`` with the loss formulas of that step kept (``trace.d_tracks[-1]
    .formula``, ``trace.g_track.formula``)."""
    rec = Recorder(trainer, "formulas")
    stats = trainer.step(mode, target=rec)
    rec.trace.stats = stats
    return stats, rec.trace
