"""bench/compare_window.py still runs: a very short measurement gives finite figures."""
from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "bench" / "compare_window.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_compare_window", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.timeout(60)
def test_compare_window_bench_measures_both_backends(qapp, bench) -> None:
    # 2 recipes, 1 round of 1.5 s per backend: seconds, not the minutes of a real run
    res = bench.measure(qapp, ["vanilla", "ganlab"], rounds=1, seconds=1.5, idle_seconds=0.5)
    assert res["labels"] == ["vanilla", "ganlab"]
    for b in ("thread", "process", "idle"):
        (r,) = res[b]
        assert r["ticks"] > 0, b
        for key in ("p50", "p99", "max", "gan_sps", "fps"):
            assert math.isfinite(r[key]) and r[key] >= 0, (b, key, r[key])
        assert r["p50"] <= r["p99"] <= r["max"], (b, r)
    for b in ("thread", "process"):
        assert res["steps"][b] > 0, b          # both trained while played
    # the figures print as the bench's table does
    assert "(" in bench.spread([r["p99"] for r in res["process"]])
