"""Sweeps: a grid of independent training runs (recipes x data sets x varied fields x seeds),
each one an ordinary run folder, with one table of results and a summary per recipe. Qt-free.

A sweep folder holds:

- ``sweep.json``: the plan (every run's id, recipe, seed, varying fields and full config);
- one run folder per run (``runs.write_run``: config.toml, history.csv, checkpoint.pt,
  metrics.json) plus ``result.json``, written last: its presence means the run is finished
  (done, diverged or failed) and a resumed sweep skips it;
- ``results.csv`` / ``results.json``: one row per run (varying fields, final metrics, wall time,
  status and reason), ``summary.txt`` (mean +- sd over seeds per recipe) and ``chart.png``.

Where the runs execute is a backend's business (``sweep_backends``: local worker processes, or
Ray on this machine or a cluster); this module plans them, trains one (:func:`execute_run`, what
every backend calls), and gathers the results.

Why a failed run is retried on resume and a diverged one is not: divergence is a property of the
recipe (the same seed diverges again), a failure (an exception, a killed worker) may not be.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .config import Config, ConfigError, apply_overrides, from_dict, get_field, load_toml, set_field, to_dict

PLAN_FILE = "sweep.json"
RESULT_FILE = "result.json"
PLAN_FORMAT = "ganplay-sweep-1"
# A run's periodic checkpoint (seconds of training between saves): an interrupted sweep resumes
# a long run from there instead of from step 0.
SAVE_EVERY_S = 30.0

# The 2D protocol of VEEGAN (Srivastava et al. 2017), GDPP and PacGAN: 8 Gaussians on a circle of
# radius 1 with sigma 0.01, and a 5x5 grid (centres -4..4, spacing 2) with sigma 0.05. `--data ring`
# means this ring in a sweep; any other data set name keeps that data set's defaults.
PROTOCOL_DATA: dict[str, dict[str, Any]] = {
    "ring": {"name": "ring", "modes": 8, "radius": 1.0, "std": 0.01},
    "grid": {"name": "grid", "grid_n": 5, "spacing": 2.0, "std": 0.05},
}

METRIC_KEYS = ("modes_covered", "modes_total", "hq_fraction", "reverse_kl", "w1", "energy", "jsd",
               "mnist_score", "fid", "steps", "batch", "late_batch", "d_width", "pack",
               "steps_per_s")
STATUSES = ("done", "diverged", "failed", "interrupted")


class SweepError(ConfigError):
    """A sweep that cannot be planned or resumed; the message says why."""


@dataclass
class SweepRun:
    """One run of a sweep: plain data (a config dict), so it pickles to any worker or Ray node."""
    run_id: str                 # its folder's name inside the sweep folder
    recipe: str                 # the label of its recipe (everything but the seed)
    seed: int
    fields: dict[str, Any]      # the values of what varies in the sweep (preset, data, --vary fields)
    config: dict[str, Any]      # the full resolved config (config.to_dict)

    def cfg(self) -> Config:
        return from_dict(self.config).validate()

    @property
    def image(self) -> bool:
        return self.config["data"]["name"] in ("mnist", "stacked_mnist")


@dataclass
class SweepSpec:
    """What to sweep: the product of presets x data sets x varied values x seeds."""
    presets: list[str] = field(default_factory=lambda: ["stable"])
    data: dict[str, dict[str, Any]] = field(default_factory=lambda: {"ring": dict(PROTOCOL_DATA["ring"])})
    vary: list[tuple[str, list[str]]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    steps: int | None = None            # None: each preset's own train.steps
    overrides: list[str] = field(default_factory=list)   # section.field=value for every run
    base: dict[str, Any] | None = None  # a base config dict (a --config file) under the presets
    name: str = "sweep"


# ---------------------------------------------------------------------- planning
def data_sets(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``ring``/``grid``: the protocol's; any other data set name: that data set at its defaults."""
    from .config import DATASETS

    out: dict[str, dict[str, Any]] = {}
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n in PROTOCOL_DATA:
            out[n] = dict(PROTOCOL_DATA[n])
        elif n in DATASETS:
            out[n] = {"name": n}
        else:
            raise SweepError(f"unknown data set '{n}': choose among ring, grid (the VEEGAN protocol's) or "
                             f"{', '.join(d for d in DATASETS if d not in PROTOCOL_DATA)}")
    if not out:
        raise SweepError("give at least one data set")
    return out


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_")
    return s[:80] or "run"


def _short(path: str) -> str:
    from .population import VARY_ALIASES

    short = {v: k for k, v in VARY_ALIASES.items() if k not in ("sn", "d_steps", "seed")}
    return short.get(path, path)


def plan(spec: SweepSpec) -> list[SweepRun]:
    """Every run of the sweep, in a stable order (recipe by recipe, seeds innermost), with ids
    that depend only on what the run is, so the same spec always names the same folders. An
    image recipe (dcgan) is not crossed with 2D data sets: that product has no valid config."""
    from .config import IMAGE_DATASETS

    from .population import vary_configs
    from .presets import PRESETS, apply_preset

    if not spec.presets:
        raise SweepError("give at least one preset")
    if not spec.seeds:
        raise SweepError("give at least one seed")
    if spec.steps is not None and spec.steps < 0:
        raise SweepError("'steps' must be >= 0")
    runs: list[SweepRun] = []
    ids: set[str] = set()
    for preset in spec.presets:
        if preset not in PRESETS:
            raise SweepError(f"unknown preset '{preset}': choose one of {', '.join(PRESETS)}")
        for dname, dfields in spec.data.items():
            if PRESETS[preset].data_kind == "image" and dfields.get("name", "ring") not in IMAGE_DATASETS:
                continue
            base = from_dict(spec.base) if spec.base else Config()
            for k, v in dfields.items():
                set_field(base, f"data.{k}", v)
            cfg = apply_preset(preset, base)
            apply_overrides(cfg, list(spec.overrides))
            if spec.steps is not None:
                cfg.train.steps = spec.steps
                cfg.train.steps_per_mode = 0   # the sweep's budget is every run's budget
            # vary_configs keeps PacGAN variations valid (batch a multiple of the pack)
            cfgs, _ = vary_configs([cfg.validate()], spec.vary, limit=None)
            combos = _combos(spec.vary)
            for c, combo in zip(cfgs, combos):
                parts = [preset, dname] + [f"{_short(p)}={v}" for p, v in combo]
                recipe = " ".join(parts)
                for seed in spec.seeds:
                    rc = c.copy()
                    rc.train.seed = int(seed)
                    rc.validate()
                    fields = {"preset": preset, "data": dname, **{p: get_field(rc, p) for p, _ in combo},
                              "seed": int(seed)}
                    rid = _slug(f"{recipe}-s{seed}")
                    if rid in ids:
                        raise SweepError(f"two runs would share the folder '{rid}': make the data set names "
                                         f"or the varied values distinct")
                    ids.add(rid)
                    runs.append(SweepRun(rid, recipe, int(seed), fields, to_dict(rc)))
    if not runs:
        raise SweepError("no run fits: the image recipes (dcgan, ...) need --data mnist or stacked_mnist")
    return runs


def _combos(vary: Sequence[tuple[str, list[str]]]) -> list[tuple[tuple[str, str], ...]]:
    import itertools

    return list(itertools.product(*[[(p, v) for v in vals] for p, vals in vary])) if vary else [()]


def parse_seeds(text: str | int) -> list[int]:
    """``5`` -> seeds 0..4; ``0,3,7`` -> those seeds."""
    if isinstance(text, int):
        n = text
    else:
        t = str(text).strip()
        if "," in t:
            try:
                return [int(s) for s in t.split(",") if s.strip()]
            except ValueError:
                raise SweepError(f"bad seeds '{text}': expected N or a comma list of integers") from None
        try:
            n = int(t)
        except ValueError:
            raise SweepError(f"bad seeds '{text}': expected N or a comma list of integers") from None
    if n < 1:
        raise SweepError("'seeds' must be at least 1")
    return list(range(n))


def load_sweep_file(path: str | Path) -> SweepSpec:
    """A sweep written as TOML::

        name = "lr"
        presets = ["stable", "vanilla"]
        seeds = 3                      # or [0, 4, 7]
        steps = 5000                   # optional: else each preset's own
        base = "base.toml"             # optional: a config file under the presets
        [set]                          # fields for every run
        "train.batch_size" = 128
        [data.ring]                    # a named data set: its data-section fields
        name = "ring"
        std = 0.01
        [vary]                         # the product of these values
        lr = [1e-4, 1e-3]
        "loss.name" = ["ns", "hinge"]

    ``data`` may also be a list of names (``data = ["ring", "grid"]``: the protocol's ones).
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"cannot read sweep file '{p}': {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepError(f"sweep file '{p}' is not valid TOML: {exc}") from None
    known = {"name", "presets", "seeds", "steps", "base", "set", "data", "vary"}
    extra = sorted(set(doc) - known)
    if extra:
        raise SweepError(f"{p}: unknown key(s) {', '.join(extra)}; a sweep file takes {', '.join(sorted(known))}")
    spec = SweepSpec(name=str(doc.get("name", p.stem)))
    if "presets" in doc:
        spec.presets = [str(x) for x in (doc["presets"] if isinstance(doc["presets"], list) else [doc["presets"]])]
    if "seeds" in doc:
        s = doc["seeds"]
        spec.seeds = [int(x) for x in s] if isinstance(s, list) else parse_seeds(int(s))
    if "steps" in doc:
        spec.steps = int(doc["steps"])
    if "base" in doc:
        spec.base = to_dict(load_toml(p.parent / str(doc["base"])))
    spec.overrides = [f"{k}={_raw(v)}" for k, v in doc.get("set", {}).items()]
    data = doc.get("data")
    if isinstance(data, list):
        spec.data = data_sets([str(x) for x in data])
    elif isinstance(data, dict):
        spec.data = {}
        for name, fields in data.items():
            if not isinstance(fields, dict):
                raise SweepError(f"{p}: [data.{name}] must be a table of data fields (name = \"ring\", ...)")
            probe = Config()
            for k, v in fields.items():
                set_field(probe, f"data.{k}", v)   # a ConfigError names a bad field or value
            spec.data[str(name)] = dict(fields)
    from .population import parse_vary

    spec.vary = [parse_vary(f"{k}={','.join(_raw(x) for x in v)}") for k, v in doc.get("vary", {}).items()]
    return spec


def _raw(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---------------------------------------------------------------------- the sweep folder
def write_plan(sweep_dir: Path, runs: Sequence[SweepRun], name: str = "sweep") -> None:
    """Record the plan; a folder that already holds a sweep must hold the same runs (or a subset
    of a larger plan), so a resumed sweep never mixes two different grids."""
    from .runs import RunError, _write_file

    path = sweep_dir / PLAN_FILE
    if path.exists():
        try:
            old = {r["run_id"]: r for r in json.loads(path.read_text(encoding="utf-8"))["runs"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SweepError(f"'{path}' is not a readable sweep plan: {exc}") from None
        for r in runs:
            # read through from_dict: a field added to ganplay since the plan takes its default
            if r.run_id in old and _normal(old[r.run_id]["config"]) != _normal(r.config):
                raise SweepError(f"'{sweep_dir}' holds another sweep: run '{r.run_id}' had a different config "
                                 f"there. Resume with the same arguments, or pick another --out folder")
        merged = dict(old)
        merged.update({r.run_id: _run_dict(r) for r in runs})
        entries = list(merged.values())
    else:
        entries = [_run_dict(r) for r in runs]
    doc = {"format": PLAN_FORMAT, "name": name, "runs": entries}
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        _write_file(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        raise RunError(f"cannot write '{path}': {exc.strerror or exc}") from None


def _normal(cfg: dict[str, Any]) -> dict[str, Any]:
    try:
        return to_dict(from_dict(cfg))
    except ConfigError:
        return cfg


def _run_dict(r: SweepRun) -> dict[str, Any]:
    return {"run_id": r.run_id, "recipe": r.recipe, "seed": r.seed, "fields": r.fields, "config": r.config}


def read_plan(sweep_dir: str | Path) -> list[SweepRun]:
    path = Path(sweep_dir) / PLAN_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [SweepRun(r["run_id"], r["recipe"], int(r["seed"]), dict(r["fields"]), r["config"]) for r in doc["runs"]]
    except FileNotFoundError:
        raise SweepError(f"'{sweep_dir}' is not a sweep folder (no {PLAN_FILE})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SweepError(f"'{path}' is not a readable sweep plan: {exc}") from None


def plan_name(sweep_dir: str | Path) -> str:
    """The name a sweep was planned under ("veegan", "stable-robustness-edges", ...)."""
    try:
        return str(json.loads((Path(sweep_dir) / PLAN_FILE).read_text(encoding="utf-8")).get("name", "sweep"))
    except (OSError, ValueError, AttributeError):
        return "sweep"


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """A finished run's result (None: not finished, or a result file that cannot be read)."""
    try:
        res = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return res if isinstance(res, dict) and res.get("status") in STATUSES else None


def finished(sweep_dir: Path, run: SweepRun) -> dict[str, Any] | None:
    """The result of a run a resumed sweep skips: done or diverged (failures are tried again)."""
    res = read_result(sweep_dir / run.run_id)
    return res if res is not None and res["status"] in ("done", "diverged") else None


# ---------------------------------------------------------------------- one run
def execute_run(run: SweepRun, run_dir: Path, stop: Callable[[], bool] | None = None,
                save_every: float = SAVE_EVERY_S, threads: int = 1) -> dict[str, Any]:
    """Train one run into ``run_dir`` (continuing its checkpoint when the folder holds one) and
    return its result, also written as ``result.json`` unless the run was interrupted.

    Never raises for the run's own sake: a divergence is status ``diverged`` (the last good state
    is kept in ``last_good/``), any exception status ``failed`` with its reason; ``stop()`` True
    ends the run between two steps with its state saved (status ``interrupted``, not final).
    """
    from .runs import check_writable, load_run, read_history, train, write_last_good, write_run
    from .threads import use_threads
    from .trainer import Trainer

    t0 = time.perf_counter()
    res: dict[str, Any] = {"run_id": run.run_id, "recipe": run.recipe, "seed": run.seed, "fields": run.fields}
    try:
        check_writable(run_dir)   # fail before training, not after it
        cfg = run.cfg()
        use_threads(cfg.train.threads or threads)
        history = None
        if (run_dir / "checkpoint.pt").exists():   # an interrupted run: continue where it was saved
            trainer, _ = load_run(run_dir, device=None)
            history, _ = read_history(run_dir / "history.csv", trainer.step_count)
            res["resumed_at"] = trainer.step_count
        else:
            trainer = Trainer(cfg)
        left = max(0, trainer.cfg.train.steps - trainer.step_count)
        saved = [trainer.step_count if history is not None else None]

        def save(h: Any) -> None:
            write_run(run_dir, trainer, h, None, saved_step=saved[0])
            saved[0] = trainer.step_count

        history, metrics = train(trainer, left, history, stop=stop, save=save, save_every=save_every)
        if metrics.get("interrupted"):
            write_run(run_dir, trainer, history, None, saved_step=saved[0])
            res.update(status="interrupted", reason=f"stopped at step {trainer.step_count}",
                       wall_s=time.perf_counter() - t0, metrics={"steps": trainer.step_count})
            return res
        write_run(run_dir, trainer, history, metrics, saved_step=saved[0])
        if "stopped" in metrics:
            write_last_good(run_dir, trainer)
            res.update(status="diverged", reason=str(metrics["stopped"]))
        else:
            res.update(status="done", reason="")
        res["metrics"] = {k: metrics.get(k) for k in METRIC_KEYS if metrics.get(k) is not None}
        # as resolved for the data (narrow_width, many_modes)
        res["metrics"]["batch"] = trainer.cfg.train.batch_size
        if trainer.cfg.train.late_batch_size:
            res["metrics"]["late_batch"] = trainer.cfg.train.late_batch_size
        res["metrics"]["d_width"] = trainer.cfg.model.d_width
        res["metrics"]["pack"] = trainer.cfg.train.pack
        res["device"] = str(trainer.device)
    except Exception as exc:   # recorded, and the sweep goes on
        res.update(status="failed", reason=f"{type(exc).__name__}: {exc}".strip(), metrics={},
                   traceback=traceback.format_exc(limit=6))
    res["wall_s"] = time.perf_counter() - t0
    write_result(run_dir, res)
    return res


def write_result(run_dir: Path, res: dict[str, Any]) -> None:
    from .runs import _write_file

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_file(run_dir / RESULT_FILE, (json.dumps(_jsonable(res), indent=2) + "\n").encode("utf-8"))
    except Exception:  # noqa: BLE001 - a full disk: the result still travels back to the sweep
        pass


def failed_result(run: SweepRun, reason: str, wall_s: float = 0.0) -> dict[str, Any]:
    """The result of a run whose worker died or could not be reached (no exception to catch)."""
    return {"run_id": run.run_id, "recipe": run.recipe, "seed": run.seed, "fields": run.fields,
            "status": "failed", "reason": reason, "metrics": {}, "wall_s": wall_s}


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item):   # numpy scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ---------------------------------------------------------------------- results
def result_rows(sweep_dir: Path, runs: Sequence[SweepRun],
                results: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One flat row per planned run: run id, recipe, the varying fields, status, reason, wall
    time, final metrics; a run with no result yet is ``pending``."""
    results = results or {}
    rows = []
    for r in runs:
        res = results.get(r.run_id) or read_result(sweep_dir / r.run_id)
        row: dict[str, Any] = {"run_id": r.run_id, "recipe": r.recipe, **r.fields}
        if res is None:
            row.update(status="pending", reason="", wall_s=None)
        else:
            row.update(status=res["status"], reason=res.get("reason", ""), wall_s=res.get("wall_s"))
            row.update({k: res.get("metrics", {}).get(k) for k in METRIC_KEYS})
        rows.append(row)
    return rows


def varying_columns(runs: Sequence[SweepRun]) -> list[str]:
    """The fields that differ between runs (always the seed), in the order they were named."""
    cols: list[str] = []
    for r in runs:
        for k in r.fields:
            if k not in cols:
                cols.append(k)
    return [k for k in cols if k == "seed" or len({repr(r.fields.get(k)) for r in runs}) > 1]


def write_results(sweep_dir: Path, runs: Sequence[SweepRun], rows: Sequence[dict[str, Any]]) -> list[Path]:
    """results.csv and results.json: every varying field, the final metrics, wall time, status."""
    from .runs import _write_file

    vary = varying_columns(runs)
    cols = ["run_id", "recipe"] + vary + ["status", "reason", "wall_s"] + list(METRIC_KEYS)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for row in rows:
        w.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    doc = {"format": "ganplay-sweep-results-1", "varying": vary,
           "runs": [{c: _jsonable(row.get(c)) for c in cols} for row in rows]}
    out = [sweep_dir / "results.csv", sweep_dir / "results.json"]
    _write_file(out[0], buf.getvalue().encode("utf-8"))
    _write_file(out[1], (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
    return out


def _mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    if not xs:
        return math.nan, math.nan
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per recipe, over its seeds: runs, finished, failed/diverged counts, and mean and sd of
    modes covered, high-quality share, reverse KL and W1 (of the runs that have them), how many
    seeds cover every mode, and mean wall time."""
    order: list[str] = []
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["recipe"] not in by:
            order.append(r["recipe"])
            by[r["recipe"]] = []
        by[r["recipe"]].append(r)
    out = []
    for rec in order:
        rs = by[rec]
        ok = [r for r in rs if r["status"] in ("done", "diverged")]   # a diverged run: its last good state
        s: dict[str, Any] = {"recipe": rec, "runs": len(rs), "measured": len(ok),
                             "failed": sum(r["status"] == "failed" for r in rs),
                             "diverged": sum(r["status"] == "diverged" for r in rs),
                             "pending": sum(r["status"] in ("pending", "interrupted") for r in rs)}
        for k in ("modes_covered", "hq_fraction", "reverse_kl", "w1", "wall_s", "mnist_score", "fid"):
            xs = [float(r[k]) for r in ok if isinstance(r.get(k), (int, float)) and math.isfinite(r[k])]
            s[k], s[k + "_sd"] = _mean_sd(xs)
        totals = {r.get("modes_total") for r in ok if r.get("modes_total")}
        s["modes_total"] = max(totals) if totals else None
        s["all_modes"] = sum(1 for r in ok if r.get("modes_total") and r.get("modes_covered") == r.get("modes_total"))
        out.append(s)
    return out


def _pm(m: float, sd: float, spec: str, scale: float = 1.0) -> str:
    if m is None or not math.isfinite(m):
        return "-"
    return f"{format(m * scale, spec)} ± {format(sd * scale, spec)}"


def format_summary(summary: Sequence[dict[str, Any]]) -> str:
    """The per-recipe summary as a plain-text table (mean ± sd over seeds)."""
    head = ["recipe", "seeds", "modes", "all", "HQ %", "rev KL", "W1", "s/run", "note"]
    body = []
    for s in summary:
        total = s.get("modes_total")
        modes = "-" if not total else f"{_pm(s['modes_covered'], s['modes_covered_sd'], '.1f')}/{total}"
        allm = "-" if not total else f"{s['all_modes']}/{s['measured']}"
        notes = [f"{s[k]} {k}" for k in ("diverged", "failed", "pending") if s[k]]
        body.append([s["recipe"], str(s["measured"]), modes, allm, _pm(s["hq_fraction"], s["hq_fraction_sd"], ".1f", 100),
                     _pm(s["reverse_kl"], s["reverse_kl_sd"], ".3f"), _pm(s["w1"], s["w1_sd"], ".3f"),
                     "-" if not math.isfinite(s["wall_s"]) else f"{s['wall_s']:.0f}", ", ".join(notes)])
    return format_table(head, body, right={1, 2, 3, 4, 5, 6, 7})


def format_table(head: Sequence[str], body: Sequence[Sequence[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(x) for x in col) for col in zip(head, *body)] if body else [len(h) for h in head]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


# ---------------------------------------------------------------------- progress
@dataclass
class Progress:
    """Counts for the progress line, and an ETA from the wall time of the runs finished here."""
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    slots: int = 1
    started: float = field(default_factory=time.perf_counter)
    walls: list[float] = field(default_factory=list)

    def finish(self, res: dict[str, Any]) -> None:
        if res["status"] == "failed":
            self.failed += 1
        elif res["status"] in ("done", "diverged"):
            self.done += 1
            if res.get("wall_s"):
                self.walls.append(float(res["wall_s"]))

    def eta_s(self) -> float | None:
        left = self.total - self.skipped - self.done - self.failed
        if left <= 0:
            return 0.0
        if not self.walls:
            return None
        per = statistics.fmean(self.walls)
        # the running ones are about half way on average
        return per * max(0.0, left - 0.5 * self.running) / max(1, min(self.slots, left))

    def line(self) -> str:
        eta = self.eta_s()
        eta_s = "?" if eta is None else _duration(eta)
        fin = self.skipped + self.done + self.failed
        width = 20
        filled = int(width * fin / max(1, self.total))
        bar = "#" * filled + "." * (width - filled)
        extra = f" ({self.skipped} before this start)" if self.skipped else ""
        return (f"[{bar}] {fin}/{self.total} runs: {self.done + self.skipped} done{extra}, {self.running} running, "
                f"{self.failed} failed; {_duration(time.perf_counter() - self.started)} elapsed, ETA {eta_s}")


def _duration(s: float) -> str:
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


# ---------------------------------------------------------------------- the sweep's report
def write_chart(path: Path, summary: Sequence[dict[str, Any]], title: str = "") -> Path:
    """chart.png: per recipe, modes covered and high-quality samples in % (mean ± sd over seeds)."""
    from .bar_png import save_bar_chart

    labels = [s["recipe"] for s in summary]

    def pct(s: dict[str, Any], k: str, denom: float | None) -> tuple[float, float]:
        m, sd = s.get(k), s.get(k + "_sd")
        if not denom or m is None or not math.isfinite(m):
            return math.nan, math.nan
        return 100 * m / denom, 100 * sd / denom

    modes = [pct(s, "modes_covered", s.get("modes_total")) for s in summary]
    hq = [pct(s, "hq_fraction", 1.0) for s in summary]
    return save_bar_chart(path, labels, [("modes covered %", [m for m, _ in modes], [d for _, d in modes]),
                                         ("high quality %", [m for m, _ in hq], [d for _, d in hq])],
                          title=title or "mean and sd over seeds")


def write_report(sweep_dir: Path, runs: Sequence[SweepRun], results: dict[str, dict[str, Any]] | None = None,
                 name: str = "sweep") -> tuple[list[dict[str, Any]], str]:
    """results.csv, results.json, summary.txt and chart.png; returns the rows and the summary text."""
    from .runs import _write_file

    sweep_dir = Path(sweep_dir)
    rows = result_rows(sweep_dir, runs, results)
    write_results(sweep_dir, runs, rows)
    summary = summarise(rows)
    text = format_summary(summary)
    _write_file(sweep_dir / "summary.txt", (text + "\n").encode("utf-8"))
    write_chart(sweep_dir / "chart.png", summary, title=f"{name}: {len(runs)} runs")
    return rows, text


# ---------------------------------------------------------------------- opening a run of a sweep
def sweep_rows(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """The results table of a sweep folder as it stands (runs still pending included)."""
    return result_rows(Path(sweep_dir), read_plan(sweep_dir))


def run_folder(sweep_dir: str | Path, row: dict[str, Any]) -> Path:
    """The run folder a results row names; a diverged run opens at its last good state."""
    d = Path(sweep_dir) / row["run_id"]
    if row.get("status") == "diverged" and (d / "last_good" / "checkpoint.pt").exists():
        return d / "last_good"
    return d


def run_state(run_dir: str | Path) -> tuple[Config, dict[str, Any]]:
    """A run folder's config and training state (what the playground continues from)."""
    from .runs import load_run

    trainer, _ = load_run(run_dir, device="cpu")
    return trainer.cfg.copy(), trainer.state_dict()


def run_snapshot(run_dir: str | Path) -> Any:
    """A run folder's generator as a frozen snapshot (what the latent explorer shows)."""
    from .runs import load_run
    from .snapshot import snapshot_generator

    trainer, _ = load_run(run_dir, device="cpu")
    return snapshot_generator(trainer)
