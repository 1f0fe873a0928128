"""The published tables as sweeps: the VEEGAN/GDPP/PacGAN 2D protocol for every 2D preset, and
the ``stable`` robustness table (rings and grids well beyond the protocol's two). Qt-free.

``ganplay sweep --table veegan`` and ``bench/mode_coverage.py`` use :func:`veegan_spec` and
:func:`format_veegan`; ``--table stable-robustness`` uses :func:`robustness_spec` and
:func:`format_robustness`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from .sweep import PROTOCOL_DATA, SweepSpec, format_table, summarise


@dataclass(frozen=True)
class PublishedRow:
    """One published row of the protocol: modes covered (mean over the paper's trials) and the
    high-quality share in %, per data set; None where the source gives no figure."""
    name: str
    ring_modes: float | None
    ring_hq: float | None
    grid_modes: float | None
    grid_hq: float | None
    source: str


# Copied from the papers' tables (modes covered of 8 / of 25, % high-quality samples; 2,500
# samples, the same thresholds as engine/metrics.mode_metrics), each checked against the table as
# published in the authors' own repository: VEEGAN's Table 1 (akashgit/VEEGAN, tab.png), GDPP's
# Table 1 (M-Elfeki/GDPP, Figures/Fig_2.png; it repeats VEEGAN's four rows and adds WGAN-GP and
# GDPP-GAN) and PacGAN's Table 1 (fjxmlzn/PacGAN, synthetic_data_experiments/results/Table1.png;
# its own runs with larger networks: mean of 10 trials, so its GAN row differs from VEEGAN's).
_VEEGAN = "Srivastava et al. 2017 (VEEGAN), Table 1"
_GDPP = "Elfeki et al. 2019 (GDPP), Table 1"
_PACGAN = "Lin et al. 2018 (PacGAN), Table 1 (10 trials)"
PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow("GAN (vanilla)", 1.0, 99.3, 3.3, 0.5, _VEEGAN),
    PublishedRow("ALI", 2.8, 0.13, 15.8, 1.6, _VEEGAN),
    PublishedRow("Unrolled GAN", 7.6, 35.6, 23.6, 16.0, _VEEGAN),
    PublishedRow("VEEGAN", 8.0, 52.9, 24.6, 40.0, _VEEGAN),
    PublishedRow("WGAN-GP", 6.8, 59.6, 24.2, 28.7, _GDPP),
    PublishedRow("GDPP-GAN", 8.0, 71.7, 24.8, 68.5, _GDPP),
    PublishedRow("GAN (PacGAN's runs)", 6.3, 98.2, 17.3, 94.8, _PACGAN),
    PublishedRow("PacGAN2", 7.9, 95.6, 23.8, 91.3, _PACGAN),
    PublishedRow("PacGAN4", 7.8, 95.9, 24.8, 93.6, _PACGAN),
)

VEEGAN_SEEDS = 5


def veegan_spec(seeds: int = VEEGAN_SEEDS, steps: int | None = None, presets: Sequence[str] | None = None) -> SweepSpec:
    """Every 2D preset x the protocol's ring and grid x ``seeds`` seeds, each preset at its own
    step budget unless ``steps`` says."""
    from .presets import preset_names

    return SweepSpec(presets=list(presets or preset_names("2d")),
                     data={k: dict(v) for k, v in PROTOCOL_DATA.items()},
                     seeds=list(range(seeds)), steps=steps, name="veegan")


def _cell(modes: float | None, hq: float | None, total: int) -> tuple[str, str]:
    m = "-" if modes is None else f"{modes:.1f}/{total}"
    h = "-" if hq is None else f"{hq:g}"
    return m, h


def format_veegan(rows: Sequence[dict[str, Any]]) -> str:
    """ganplay's rows (mean ± sd over seeds, 'all' = seeds covering every mode) next to the
    published ones, each with its source."""
    summ = {s["recipe"]: s for s in summarise(rows)}
    presets: list[str] = []
    for r in rows:
        if r["preset"] not in presets:
            presets.append(r["preset"])
    head = ["recipe", "seeds", "ring modes", "all", "ring HQ %", "grid modes", "all", "grid HQ %", "steps", "source"]
    body = []

    def part(s: dict[str, Any] | None) -> list[str]:
        if s is None or not s["measured"]:
            return ["-", "-", "-"]
        total = s["modes_total"] or 0
        return [f"{s['modes_covered']:.1f} ± {s['modes_covered_sd']:.1f}/{total}", f"{s['all_modes']}/{s['measured']}",
                f"{100 * s['hq_fraction']:.1f} ± {100 * s['hq_fraction_sd']:.1f}"]

    for p in presets:
        ring, grid = summ.get(f"{p} ring"), summ.get(f"{p} grid")
        seeds = max((s["measured"] for s in (ring, grid) if s), default=0)
        steps = sorted({int(r["steps"]) for r in rows if r["preset"] == p and r.get("steps")})
        note = [f"{s[k]} {k}" for s in (ring, grid) if s for k in ("diverged", "failed") if s[k]]
        body.append([f"ganplay {p}", str(seeds)] + part(ring) + part(grid)
                     + ["/".join(str(x) for x in steps) or "-", "measured here" + (f" ({', '.join(note)})" if note else "")])
    for pub in PUBLISHED:
        rm, rh = _cell(pub.ring_modes, pub.ring_hq, 8)
        gm, gh = _cell(pub.grid_modes, pub.grid_hq, 25)
        body.append([pub.name, "-", rm, "-", rh, gm, "-", gh, "-", pub.source])
    return format_table(head, body, right={1, 2, 3, 4, 5, 6, 7, 8})


# ---------------------------------------------------------------------- stable robustness
RING_MODES = (3, 6, 8, 12)
RING_RADII = (0.5, 1.0, 2.0, 5.0)
WIDTHS = (0.005, 0.01, 0.05, 0.1)
GRID_SIZES = (3, 5, 7)
GRID_SPACINGS = (1.0, 2.0, 4.0)
GRID_WIDTHS = (0.01, 0.05, 0.1)
ROBUST_SEEDS = 3
HQ_TARGET = 0.75     # the bar: every mode covered at >= 75 % high quality


def _ring(modes: int, radius: float, std: float) -> tuple[str, dict[str, Any]]:
    return f"ring{modes}-r{radius:g}-s{std:g}", {"name": "ring", "modes": modes, "radius": radius, "std": std}


def _grid(n: int, spacing: float, std: float) -> tuple[str, dict[str, Any]]:
    return f"grid{n}x{n}-d{spacing:g}-s{std:g}", {"name": "grid", "grid_n": n, "spacing": spacing, "std": std}


def robustness_cases(scale: str = "full") -> dict[str, dict[str, Any]]:
    """``full``: every ring (modes x radius x width) and grid (size x spacing x width) of the
    issue's ranges; ``edges``: the protocol's ring and grid with one factor at a time moved to
    each end of its range (the cheap first look, 14 cases)."""
    if scale == "full":
        # the hardest first, so a sweep cut short has measured them: large, wide-spaced, narrow grids,
        # then rings from the largest radius and the narrowest width down
        cases = [_grid(n, d, s) for n in GRID_SIZES[::-1] for d in GRID_SPACINGS[::-1] for s in GRID_WIDTHS]
        cases += [_ring(m, r, s) for r in RING_RADII[::-1] for s in WIDTHS for m in RING_MODES[::-1]]
        return dict(cases)
    if scale != "edges":
        raise ValueError(f"unknown scale '{scale}': full or edges")
    ring, grid = PROTOCOL_DATA["ring"], PROTOCOL_DATA["grid"]
    m, r, s = ring["modes"], ring["radius"], ring["std"]
    n, d, gs = grid["grid_n"], grid["spacing"], grid["std"]
    # the far ends first (a sweep cut short has measured the hardest cases), the protocol's own last
    cases = [_ring(m, RING_RADII[-1], s), _grid(GRID_SIZES[-1], d, gs), _ring(m, r, WIDTHS[0]),
             _grid(n, GRID_SPACINGS[-1], gs), _ring(RING_MODES[-1], r, s), _grid(n, d, GRID_WIDTHS[0]),
             _ring(m, RING_RADII[0], s), _grid(n, GRID_SPACINGS[0], gs), _ring(RING_MODES[0], r, s),
             _grid(GRID_SIZES[0], d, gs), _ring(m, r, WIDTHS[-1]), _grid(n, d, GRID_WIDTHS[-1]),
             _ring(m, r, s), _grid(n, d, gs)]
    return dict(cases)


def _scale(fields: dict[str, Any]) -> float:
    return float(fields["radius"] if fields["name"] == "ring" else fields["spacing"])


def robustness_twins(cases: dict[str, dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """The cases that are an earlier case scaled by a power of two (radius or spacing and width
    alike), as {twin: (that case, the scale factor)}. Why: with ``model.data_norm`` a run trains in
    units of the data's spread, and scaling by a power of two is exact in floating point, so a twin
    trains on the same numbers as its case and gives the same run to the bit (its W1 scaled by the
    factor). The full table has 22 such twins of its 91 cases."""
    twins: dict[str, tuple[str, float]] = {}
    seen: list[str] = []
    for name, f in cases.items():
        for rep in seen:
            g = cases[rep]
            if g["name"] != f["name"] or g.get("modes") != f.get("modes") or g.get("grid_n") != f.get("grid_n"):
                continue
            k = _scale(f) / _scale(g)
            if k != 1 and math.log2(k).is_integer() and f["std"] == g["std"] * k:
                twins[name] = (rep, k)
                break
        else:
            seen.append(name)
    return twins


def drop_twins(spec: SweepSpec) -> dict[str, tuple[str, float]]:
    """Leave out of a robustness sweep the cases that would repeat another case's runs exactly
    (:func:`robustness_twins`): only when every run trains in the data's units (``model.data_norm``
    in the preset, the base config and the overrides); returns the twins dropped."""
    from .config import Config, apply_overrides, from_dict
    from .presets import apply_preset

    for preset in spec.presets:
        cfg = apply_overrides(apply_preset(preset, from_dict(spec.base) if spec.base else Config()),
                              list(spec.overrides))
        if not cfg.model.data_norm:
            return {}
    twins = robustness_twins(spec.data)
    spec.data = {k: v for k, v in spec.data.items() if k not in twins}
    return twins


def robustness_spec(scale: str = "full", seeds: int = ROBUST_SEEDS, steps: int | None = None,
                    preset: str = "stable") -> SweepSpec:
    return SweepSpec(presets=[preset], data=robustness_cases(scale), seeds=list(range(seeds)), steps=steps,
                     name=f"{preset}-robustness-{scale}")


SIZE_LABELS = {"d_width": "D", "pack": "pack"}   # sizes train.many_modes resolves per case


def _budget(rows: Sequence[dict[str, Any]], sizes: Sequence[str] = ()) -> str:
    """The steps and batch the case's runs trained (``stable`` derives both from the data; "256 then
    1,024": ``train.late_batch_size`` from the step the rates start to fall), and
    the ``sizes`` (D's width, the pack) that the table's runs differ in (``train.many_modes``)."""
    seen = sorted({(int(r["steps"]), int(r["batch"]) if r.get("batch") else 0,
                    int(r["late_batch"]) if r.get("late_batch") else 0,
                    tuple(int(r[k]) if r.get(k) else 0 for k in sizes)) for r in rows if r.get("steps")})
    return ", ".join((f"{s:,} x {b:,}" if b else f"{s:,}") + (f" then {late:,}" if late else "")
                     + "".join(f", {SIZE_LABELS[k]} {v}" for k, v in zip(sizes, vals) if v)
                     for s, b, late, vals in seen) or "-"


def format_robustness(rows: Sequence[dict[str, Any]], target: float = HQ_TARGET,
                      twins: dict[str, tuple[str, float]] | None = None) -> str:
    """One line per data case: modes covered (worst seed), HQ % (mean, worst seed), and whether
    every seed covers every mode at >= ``target`` high quality. A twin (:func:`robustness_twins`)
    with no runs of its own follows its case, with that case's runs ("= case" under seeds)."""
    head = ["case", "seeds", "modes (worst)", "HQ % mean", "HQ % worst", "W1", "steps x batch", "pass"]
    body = []
    misses = 0
    cases: list[str] = []
    for r in rows:
        if r["data"] not in cases:
            cases.append(r["data"])
    copies = {t: rep_k for t, rep_k in (twins or {}).items() if t not in cases}
    shown = [x for case in cases for x in (case, *[t for t, (rep, _) in copies.items() if rep == case])]
    sizes = [k for k in SIZE_LABELS if len({r[k] for r in rows if r.get(k)}) > 1]
    for c in shown:
        src, k = copies.get(c, (c, 1.0))
        rs = [dict(r, w1=None if r.get("w1") is None else r["w1"] * k)
              for r in rows if r["data"] == src and r["status"] in ("done", "diverged")]
        if not rs:
            body.append([c, "0", "-", "-", "-", "-", "-", "pending"])
            continue
        total = rs[0]["modes_total"]
        worst_modes = min(r["modes_covered"] for r in rs)
        hq = [r["hq_fraction"] for r in rs]
        w1 = [r["w1"] for r in rs if r.get("w1") is not None]
        ok = all(r["modes_covered"] == total and r["hq_fraction"] >= target and r["status"] == "done" for r in rs)
        misses += not ok
        body.append([c, f"= {src}" if c in copies else str(len(rs)), f"{worst_modes}/{total}", f"{100 * sum(hq) / len(hq):.1f}",
                     f"{100 * min(hq):.1f}", "-" if not w1 else f"{sum(w1) / len(w1):.3f}", _budget(rs, sizes),
                     "yes" if ok else ("DIVERGED" if any(r["status"] == "diverged" for r in rs) else "no")])
    table = format_table(head, body, right={1, 2, 3, 4, 5})
    done = sum(1 for b in body if b[-1] != "pending")
    same = sum(1 for b in body if b[1].startswith("= "))
    return table + (f"\n{done - misses}/{done} cases pass (every seed: every mode, >= {100 * target:.0f} % high "
                    f"quality)" + (f"; {same} of them twins, shown with their case's runs" if same else "")
                    if done else "")

