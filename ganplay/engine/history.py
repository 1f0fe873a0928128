"""The one training history: every per-step statistic and sampled metric as a growable
(step, value) series. The window charts it and saves it in sessions (``as_dict``); the CLI adds a
row per log (``add``) and writes its run folder's ``history.csv`` (``to_csv``); both read it
back as rows (``rows``, ``from_csv``). Qt-free.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

MAX_POINTS = 400_000  # per series; beyond it the oldest half is thinned 2:1
THIN_BLOCK = 8192     # elements moved at a time when thinning (64 KB: no large temporaries)


class Series:
    """A growable (x, y) buffer."""

    def __init__(self) -> None:
        self.x = np.empty(1024, np.float64)
        self.y = np.empty(1024, np.float64)
        self.n = 0
        self.version = 0
        self.lo, self.hi = np.inf, -np.inf  # finite extremes so far: y ranges without a scan

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        k = len(x)
        if k == 0:
            return
        fin = np.asarray(y, np.float64)
        fin = fin[np.isfinite(fin)]
        if fin.size:
            self.lo, self.hi = min(self.lo, float(fin.min())), max(self.hi, float(fin.max()))
        if self.n + k > len(self.x):
            # doubling, but never past the cap plus this chunk: the series is thinned below
            # MAX_POINTS again at once (a 2^19 buffer would waste a quarter, 19 MB over 9 charts)
            cap = max(min(2 * len(self.x), MAX_POINTS + k), self.n + k)
            # new buffers of exactly cap (np.resize would return a view of whole copies of the old
            # one, 2^19 elements behind a 410,000-element view)
            for name in ("x", "y"):
                grown = np.empty(cap, np.float64)
                grown[:self.n] = getattr(self, name)[:self.n]
                setattr(self, name, grown)
        self.x[self.n:self.n + k] = x
        self.y[self.n:self.n + k] = y
        self.n += k
        while self.n > MAX_POINTS:
            self._thin()
        self.version += 1

    def _thin(self) -> None:
        """Every other point of the older half, then the newer half, moved down in place, in
        blocks: no whole-series temporaries (two of 2.4 MB per series at the cap, which the C heap
        may keep); 2,000,000 steps of 9 series hold 64 MB resident instead of 68."""
        half = self.n // 2
        m = (half + 1) // 2            # points kept from the older half
        tail = self.n - half
        block = THIN_BLOCK
        for buf in (self.x, self.y):
            for j in range(0, m, block):     # reads 2j.., writes j..: only the first block overlaps
                e = min(m, j + block)
                buf[j:e] = buf[2 * j:2 * e:2]
            for j in range(0, tail, block):  # moves down by half - m >= block (at the cap)
                e = min(tail, j + block)
                buf[m + j:m + e] = buf[half + j:half + e]
        self.n = m + tail

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def clear(self) -> None:
        self.n = 0
        self.lo, self.hi = np.inf, -np.inf
        self.version += 1


class History:
    """All series by name. ``rows``: one dict per step that has any value (None where a series
    has none): the CLI's view; ``as_dict``: 1-D columns, what a window session stores."""

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        self.series: dict[str, Series] = {}
        for r in rows:
            self.add(r)

    def get(self, name: str) -> Series:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series()
        return s

    def add_stats(self, stats: dict[str, np.ndarray]) -> None:
        if not stats:
            return
        steps = stats["step"]
        for name, vals in stats.items():
            if name != "step":
                self.get(name).extend(steps, vals)
        # what a critic or an f-GAN's D estimates (their charts show these, not probabilities):
        # E[D(x)] - E[D(G(z))] is a Wasserstein critic's W1 estimate; -L_D an f-GAN's bound
        if "score_real" in stats and "score_fake" in stats:
            self.get("critic_gap").extend(steps, np.asarray(stats["score_real"]) - np.asarray(stats["score_fake"]))
        if "loss_d" in stats:
            self.get("f_estimate").extend(steps, -np.asarray(stats["loss_d"]))

    def add_metrics(self, step: int, metrics: dict[str, float]) -> None:
        m = dict(metrics)
        if "jsd" in m:  # the per-step batch JSD is "jsd"; this one is on 2,500 samples
            m["jsd_eval"] = m.pop("jsd")
        if m.get("modes_total"):  # as a share, so it shares the % axis with high quality
            m["modes_pct"] = 100.0 * m["modes_covered"] / m["modes_total"]
        if "hq_fraction" in m:
            m["hq_pct"] = 100.0 * m["hq_fraction"]
        for key in ("precision", "recall"):
            if key in m:
                m[f"{key}_pct"] = 100.0 * m[key]
        for name, v in m.items():
            if v is None:
                continue
            self.get(name).extend(np.array([step], float), np.array([float(v)]))

    def cut_after(self, step: float) -> "History":
        """Remove every point later than ``step`` and return them as a History of their own (with
        each series' last point at or before ``step``, so a branch's curve starts where the trunk
        ends): after a rewind and a branch, what followed ``step`` is the old branch."""
        old = History()
        for name, s in self.series.items():
            x, y = s.data()
            k = int(np.searchsorted(x[:s.n], step, side="right"))
            if k == s.n:
                continue
            start = max(0, k - 1)
            old.get(name).extend(x[start:].copy(), y[start:].copy())
            fin = y[:k][np.isfinite(y[:k])]
            s.n = k
            s.lo, s.hi = (float(fin.min()), float(fin.max())) if fin.size else (np.inf, -np.inf)
            s.version += 1
        return old

    def clear(self) -> None:
        for s in self.series.values():
            s.clear()

    def as_dict(self) -> dict[str, np.ndarray]:
        """1-D numeric columns, what a saved session stores: 'name/step' and 'name/value'."""
        out: dict[str, np.ndarray] = {}
        for k, s in self.series.items():
            if s.n:
                x, y = s.data()
                out[f"{k}/step"] = x.copy()
                out[f"{k}/value"] = y.copy()
        return out

    def load_any(self, history: Any) -> None:
        """Charts from a saved session: columns from ``as_dict`` or the CLI's rows of dicts."""
        self.clear()
        if history is None:
            return
        rows = getattr(history, "rows", None)
        if rows is not None:
            for r in rows:
                step = r.get("step")
                if step is None:
                    continue
                for k, v in r.items():
                    if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
                        self.get(k).extend(np.array([float(step)]), np.array([float(v)]))
            return
        for k, arr in dict(history).items():
            if k.endswith("/step") and f"{k[:-5]}/value" in history:
                x = np.asarray(arr, np.float64)
                y = np.asarray(history[f"{k[:-5]}/value"], np.float64)
                if x.shape == y.shape and x.ndim == 1:
                    self.get(k[:-5]).extend(x, y)

    # ------------------------------------------------------------------ rows (the CLI's view)
    def add(self, row: dict[str, Any]) -> None:
        """One row: ``step`` and any numbers (NaN kept, None skipped). A row with no numbers still
        counts as a step (kept in the "step" series)."""
        step = row.get("step")
        if step is None:
            return
        x = np.array([float(step)])
        self.get("step").extend(x, x)
        for k, v in row.items():
            if k != "step" and v is not None and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                self.get(k).extend(x, np.array([float(v)]))

    def names(self) -> list[str]:
        """Series with data, in the order they first appeared (without the bare "step")."""
        return [k for k, s in self.series.items() if s.n and k != "step"]

    def _columns(self, names: Sequence[str]) -> tuple[list[float], dict[str, dict[float, float]]]:
        cols = {k: dict(zip(*(a.tolist() for a in self.series[k].data()), strict=True))
                for k in names if k in self.series}
        step_keys = [set(self.series["step"].data()[0].tolist())] if "step" in self.series else []
        steps = sorted(set().union(*[c.keys() for c in cols.values()], *step_keys))
        return steps, cols

    @property
    def rows(self) -> list[dict[str, Any]]:
        names = self.names()
        steps, cols = self._columns(names)
        return [{"step": int(st), **{k: cols[k].get(st) for k in names}} for st in steps]

    def column(self, name: str) -> np.ndarray:
        """``name`` per row (NaN where a row has none)."""
        return np.array([np.nan if r.get(name) is None else r[name] for r in self.rows], dtype=float)

    def to_csv(self, columns: Sequence[str] | None = None) -> str:
        """One row per step; ``columns`` (after "step") fixes the header (the run folder's
        format), else every series with data. Floats are written exactly (repr)."""
        names = [c for c in (columns if columns is not None else self.names()) if c != "step"]
        steps, cols = self._columns(names)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["step"] + names)
        for st in steps:
            w.writerow([int(st)] + [repr(cols[k][st]) if k in cols and st in cols[k] else "" for k in names])
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> "History":
        return cls(parse_csv_rows(text)[0])

    def write_csv(self, path: str | Path, columns: Sequence[str] | None = None) -> None:
        Path(path).write_text(self.to_csv(columns), encoding="utf-8", newline="")


def parse_csv_rows(text: str) -> tuple[list[dict[str, Any]], int]:
    """Rows from history CSV text, and how many malformed rows (e.g. one cut mid-write) were skipped."""
    rows, bad = [], 0
    for r in csv.DictReader(io.StringIO(text)):
        try:
            if None in r or any(v is None for v in r.values()):  # too many or too few fields
                raise ValueError("wrong number of fields")
            row: dict[str, Any] = {k: (float(v) if v != "" else None) for k, v in r.items()}
            if row.get("step") is not None:
                row["step"] = int(row["step"])
        except (TypeError, ValueError):
            bad += 1
            continue
        rows.append(row)
    return rows, bad
