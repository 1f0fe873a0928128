"""Compare mode: several GAN recipes trained side by side on the same data, seed and budget.

``Population(configs, labels)`` builds one :class:`Trainer` per configuration (so each member
starts from exactly the weights it would have alone), then puts members that share an
architecture into one :class:`BatchedGroup` (stacked weights, batched matmuls) and runs the
others, e.g. unrolled GANs, one after another through their own trainers.  ``step()`` advances
every member by one ``Trainer.step()``; ``member_trainer(i)`` gives a real Trainer holding member
i's current state, so every metrics/snapshot function and ``state_dict`` work on it unchanged.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .compare_batched import BatchedGroup, batch_key, keep_freed_memory
from .config import Config, ConfigError, field_names, get_field, set_field, to_dict
from .data import make_data
from .device import resolve_device
from .presets import apply_preset
from .trainer import StepStats, Trainer, TrainingDiverged

MAX_MEMBERS = 8

# Short names for the standard comparisons (and for `ganplay compare --vary NAME=a,b`).
VARY_ALIASES: dict[str, str] = {
    "loss": "loss.name", "sn": "model.spectral_norm", "spectral_norm": "model.spectral_norm",
    "k": "train.d_steps", "d_steps": "train.d_steps", "unrolled": "train.unrolled",
    "pack": "train.pack", "lr": "train.lr_d", "seed": "train.seed", "ema": "train.ema",
    "r1": "loss.r1", "real_label": "loss.real_label", "init": "model.init",
}

# The comparisons the Compare view offers for "variations of the current config".
STANDARD_VARIATIONS: dict[str, tuple[str, list[Any]]] = {
    "loss": ("loss.name", ["ns", "hinge"]),
    "spectral_norm": ("model.spectral_norm", [False, True]),
    "k": ("train.d_steps", [1, 5]),
    "unrolled": ("train.unrolled", [0, 5]),
}


@dataclass
class Member:
    label: str
    cfg: Config
    trainer: Trainer                # the member's trainer, or its view when batched
    group: BatchedGroup | None      # None: trains alone through ``trainer.step()``
    slot: int = 0                   # index inside the group
    stopped: str | None = None      # the divergence message once a member has diverged
    last: StepStats | None = None

    @property
    def batched(self) -> bool:
        return self.group is not None


class Population:
    """2-8 GANs trained in lockstep; same-shaped ones as one batched problem."""

    def __init__(self, configs: Sequence[Config], labels: Sequence[str] | None = None, *,
                 points: np.ndarray | None = None, device: torch.device | str | None = None,
                 batch: bool = True):
        if not configs:
            raise ConfigError("compare needs at least one configuration")
        if len(configs) > MAX_MEMBERS:
            raise ConfigError(f"compare trains at most {MAX_MEMBERS} configurations at once, got {len(configs)}")
        cfgs = [c.copy().validate() for c in configs]
        labels = list(labels) if labels is not None else default_labels(cfgs)
        if len(labels) != len(cfgs):
            raise ConfigError("give one label per configuration")
        if device is None:
            self.device, self.device_message = resolve_device(cfgs[0].train.device)
        else:
            self.device, self.device_message = torch.device(device), None
        self.points = points
        datas: dict[str, Any] = {}   # one data object per distinct data section
        trainers = []
        for c in cfgs:
            key = json.dumps(to_dict(c)["data"], sort_keys=True)
            if key not in datas:
                datas[key] = make_data(c.data, points)
            trainers.append(Trainer(c, data=datas[key], device=self.device))
        self.members = [Member(lab, c, t, None) for lab, c, t in zip(labels, cfgs, trainers)]
        self.groups: list[BatchedGroup] = []
        if batch:
            by_key: dict[tuple, list[int]] = {}
            for i, c in enumerate(cfgs):
                k = batch_key(c)
                if k is not None:
                    by_key.setdefault(k, []).append(i)
            for idx in by_key.values():
                if len(idx) < 2:
                    continue   # a lone member is fastest (and exactly itself) in its own trainer
                g = BatchedGroup([trainers[i] for i in idx])
                self.groups.append(g)
                for slot, i in enumerate(idx):
                    self.members[i].group, self.members[i].slot = g, slot
            if self.groups:
                keep_freed_memory()
        self.step_count = 0

    def __len__(self) -> int:
        return len(self.members)

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.members]

    @property
    def configs(self) -> list[Config]:
        return [m.cfg for m in self.members]

    def plan(self) -> list[str]:
        """One line per training unit: which members run batched together, which alone."""
        lines = []
        for g in self.groups:
            names = [m.label for m in self.members if m.group is g]
            lines.append(f"batched ({len(names)}): " + ", ".join(names))
        alone = [m.label for m in self.members if m.group is None]
        if alone:
            lines.append("one by one: " + ", ".join(alone))
        return lines

    # ------------------------------------------------------------------ training
    def step(self) -> list[StepStats | None]:
        """One step of every member still training; None for a member that has stopped."""
        out: list[StepStats | None] = [None] * len(self.members)
        for g in self.groups:
            res = g.step()
            for m_i, m in enumerate(self.members):
                if m.group is g:
                    r = res[m.slot]
                    if isinstance(r, StepStats):
                        out[m_i] = m.last = r
                    elif isinstance(r, str) and m.stopped is None:
                        m.stopped = r
        for m_i, m in enumerate(self.members):
            if m.group is None and m.stopped is None:
                try:
                    out[m_i] = m.last = m.trainer.step()
                except TrainingDiverged as exc:
                    m.stopped = str(exc)
        self.step_count += 1
        return out

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    @property
    def all_stopped(self) -> bool:
        return all(m.stopped is not None for m in self.members)

    # ------------------------------------------------------------------ views
    def member_trainer(self, i: int, weights_only: bool = False) -> Trainer:
        """A Trainer holding member i's current weights, optimiser state, RNG and step
        (``weights_only``: just what drawing and metrics read, cheaper)."""
        m = self.members[i]
        return m.group.sync_view(m.slot, weights_only) if m.group is not None else m.trainer

    def member_state(self, i: int) -> tuple[Config, dict[str, Any]]:
        """(config, Trainer.state_dict()) of member i: what opening it in the playground needs."""
        t = self.member_trainer(i)
        return t.cfg.copy(), t.state_dict()

    def evaluate(self, n: int = 2500) -> list[dict[str, Any]]:
        """Final metrics per member (the same ``runs.evaluate`` the CLI's train command uses)."""
        from .runs import evaluate

        out = []
        for i, m in enumerate(self.members):
            t = self.member_trainer(i)
            row: dict[str, Any] = {"label": m.label, "steps": t.step_count}
            row.update(evaluate(t, n=n))
            row["batched"] = m.batched
            if m.stopped:
                row["stopped"] = m.stopped
            out.append(row)
        return out


# ---------------------------------------------------------------------- building comparisons
def default_labels(cfgs: Sequence[Config]) -> list[str]:
    """Short labels naming the fields in which the configs differ (``loss=hinge sn=True``)."""
    if len(cfgs) == 1:
        return [cfgs[0].loss.name]
    diff = [p for p in field_names() if len({repr(get_field(c, p)) for c in cfgs}) > 1]
    short = {v: k for k, v in VARY_ALIASES.items() if k not in ("sn", "d_steps")}
    labels = []
    for i, c in enumerate(cfgs):
        parts = [f"{short.get(p, p.split('.', 1)[1])}={get_field(c, p)}" for p in diff[:3]]
        labels.append(" ".join(parts) or f"#{i + 1}")
    return _unique(labels)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def preset_configs(names: Sequence[str], base: Config | None = None,
                   overrides: Sequence[str] = ()) -> tuple[list[Config], list[str]]:
    """One config per preset: the preset over ``base``, then the overrides (data, steps, ...)."""
    from .config import apply_overrides

    cfgs = []
    for name in names:
        c = apply_preset(name.strip(), base)
        apply_overrides(c, list(overrides))
        cfgs.append(c.validate())
    return cfgs, [n.strip() for n in names]


def parse_vary(spec: str) -> tuple[str, list[str]]:
    """'loss=ns,hinge' -> ('loss.name', ['ns', 'hinge']); any section.field works as well."""
    if "=" not in spec:
        raise ConfigError(f"bad --vary '{spec}': expected FIELD=v1,v2 (e.g. loss=ns,hinge)")
    name, raw = spec.split("=", 1)
    name = name.strip()
    path = VARY_ALIASES.get(name, name)
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) < 2:
        raise ConfigError(f"bad --vary '{spec}': give at least two values separated by commas")
    probe = Config()
    for v in values:
        set_field(probe, path, v)   # raises ConfigError naming the field or the value
    return path, values


def variations(base: Config, kind: str | tuple[str, Sequence[Any]]) -> tuple[list[Config], list[str]]:
    """Copies of ``base`` that differ in one field: a STANDARD_VARIATIONS name
    ("loss", "spectral_norm", "k", "unrolled"), "presets" (all named recipes), or (path, values)."""
    if kind == "presets":
        from .presets import preset_names

        return preset_configs(preset_names()[:MAX_MEMBERS], base)
    if isinstance(kind, str):
        if kind not in STANDARD_VARIATIONS:
            raise ConfigError(f"unknown variation '{kind}': choose one of "
                              f"{', '.join(list(STANDARD_VARIATIONS) + ['presets'])}")
        path, values = STANDARD_VARIATIONS[kind]
    else:
        path, values = kind[0], list(kind[1])
    return vary_configs([base], [(path, [str(v) for v in values])])


def vary_configs(bases: Sequence[Config], specs: Sequence[tuple[str, list[str]]],
                 base_labels: Sequence[str] | None = None) -> tuple[list[Config], list[str]]:
    """Every base config crossed with every combination of the varied values."""
    cfgs, labels = [], []
    combos = list(itertools.product(*[[(p, v) for v in vals] for p, vals in specs])) if specs else [()]
    short = {v: k for k, v in VARY_ALIASES.items() if k not in ("sn", "d_steps")}
    for bi, b in enumerate(bases):
        for combo in combos:
            c = b.copy()
            for path, v in combo:
                set_field(c, path, v)
            if c.train.batch_size % c.train.pack:   # keep PacGAN variations valid
                c.train.batch_size -= c.train.batch_size % c.train.pack
            cfgs.append(c.validate())
            parts = [base_labels[bi]] if base_labels else []
            parts += [f"{short.get(p, p)}={v}" for p, v in combo]
            labels.append(" ".join(parts) or f"#{len(labels) + 1}")
    if len(cfgs) > MAX_MEMBERS:
        raise ConfigError(f"that comparison has {len(cfgs)} configurations; compare takes at most {MAX_MEMBERS}")
    return cfgs, _unique(labels)


# ---------------------------------------------------------------------- ranking and export
RANK_COLUMNS = ("modes", "hq", "reverse_kl", "w1")


def ranking(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted best first: most modes covered, then most high-quality samples, then the
    lowest reverse KL and W1 (data without modes: W1 alone). Adds ``rank`` (1 = best)."""
    def key(r: dict[str, Any]) -> tuple:
        def num(k: str, sign: float) -> float:
            v = r.get(k)
            return sign * v if isinstance(v, (int, float)) and math.isfinite(v) else math.inf
        return (r.get("stopped") is not None, num("modes_covered", -1), num("hq_fraction", -1),
                num("reverse_kl", 1), num("w1", 1))

    out = [dict(r) for r in sorted(rows, key=key)]
    for i, r in enumerate(out):
        r["rank"] = i + 1
    return out


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, spec)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranking as a plain-text table (rows already ranked)."""
    head = ["#", "config", "modes", "HQ %", "rev KL", "W1", "steps", "note"]
    body = []
    for r in rows:
        modes = "-" if r.get("modes_covered") is None else f"{r['modes_covered']}/{r['modes_total']}"
        hq = "-" if r.get("hq_fraction") is None else f"{100 * r['hq_fraction']:.1f}"
        note = "diverged" if r.get("stopped") else ("batched" if r.get("batched") else "alone")
        body.append([str(r.get("rank", "")), str(r["label"]), modes, hq, _fmt(r.get("reverse_kl"), ".3f"),
                     _fmt(r.get("w1"), ".3f"), str(r.get("steps", "")), note])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    right = {0, 2, 3, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


def comparison_records(labels: Sequence[str], configs: Sequence[Config],
                       rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per row (in the rows' order, e.g. ranked): label, metrics and full config."""
    cfg_of = dict(zip(labels, configs))
    out = []
    for r in rows:
        metrics = {k: _json_value(v) for k, v in r.items() if k != "label"}
        out.append({"label": r["label"], "metrics": metrics, "config": to_dict(cfg_of[r["label"]])})
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"format": "ganplay-compare-1", "members": list(records)}, indent=2) + "\n"


def to_csv(records: Sequence[dict[str, Any]]) -> str:
    """One row per member: label, metrics, then every config field as section.field."""
    metric_keys: list[str] = []
    for r in records:
        for k in r["metrics"]:
            if k not in metric_keys:
                metric_keys.append(k)
    cfg_keys = field_names()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["label"] + metric_keys + cfg_keys)
    for r in records:
        m = r["metrics"]
        cfg = r["config"]
        vals = [cfg[p.split(".")[0]][p.split(".")[1]] for p in cfg_keys]
        w.writerow([r["label"]] + ["" if m.get(k) is None else m.get(k) for k in metric_keys] + vals)
    return buf.getvalue()
