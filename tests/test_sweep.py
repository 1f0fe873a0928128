"""`ganplay sweep`: the grid runs, resumes after a kill and after Ctrl-C, records a failing run and
goes on; the local backend needs no Ray; the published tables are built as specified."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganplay.cli import main
from ganplay.engine import sweep as S
from ganplay.engine import sweep_backends as B
from ganplay.engine import sweep_tables as T

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "model.g_width=16", "--set", "model.d_width=16", "--set", "train.batch_size=32",
         "--set", "train.eval_every=0"]


def _sweep_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ganplay", "sweep", "-o", str(out), *extra, *SMALL]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ---------------------------------------------------------------------- planning (no training)
def test_plan_is_the_product_with_stable_ids() -> None:
    spec = S.SweepSpec(presets=["stable", "vanilla"], data=S.data_sets(["ring", "grid"]),
                       vary=[("train.lr_d", ["1e-4", "1e-3"])], seeds=[0, 1], steps=10)
    runs = S.plan(spec)
    assert len(runs) == 2 * 2 * 2 * 2
    assert len({r.run_id for r in runs}) == len(runs)
    assert [r.run_id for r in S.plan(spec)] == [r.run_id for r in runs]   # same spec, same folders
    r = next(r for r in runs if r.fields == {"preset": "vanilla", "data": "grid", "train.lr_d": 1e-3, "seed": 1})
    cfg = r.cfg()
    assert (cfg.data.name, cfg.data.std, cfg.data.grid_n, cfg.train.lr_d, cfg.train.seed, cfg.train.steps) == \
        ("grid", 0.05, 5, 1e-3, 1, 10)
    assert S.varying_columns(runs) == ["preset", "data", "train.lr_d", "seed"]
    assert S.parse_seeds("3") == [0, 1, 2] and S.parse_seeds("4,9") == [4, 9]
    with pytest.raises(S.SweepError, match="unknown preset"):
        S.plan(S.SweepSpec(presets=["nope"]))
    with pytest.raises(S.SweepError, match="unknown data set"):
        S.data_sets(["ring", "torus"])


def test_sweep_file(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('name = "lr"\npresets = ["stable"]\nseeds = 2\nsteps = 7\n[set]\n"train.batch_size" = 64\n'
                 '[data.wide]\nname = "ring"\nstd = 0.1\nmodes = 5\n[vary]\nlr = [1e-4, 1e-3]\n')
    spec = S.load_sweep_file(f)
    runs = S.plan(spec)
    assert spec.name == "lr" and len(runs) == 4
    c = runs[0].cfg()
    assert (c.data.modes, c.data.std, c.train.batch_size, c.train.steps) == (5, 0.1, 64, 7)
    assert {r.fields["train.lr_d"] for r in runs} == {1e-4, 1e-3}
    f.write_text("presets = ['stable']\ncolour = 3\n")
    with pytest.raises(S.SweepError, match="unknown key"):
        S.load_sweep_file(f)


def test_tables_are_the_protocols() -> None:
    from ganplay.engine.presets import preset_names

    spec = T.veegan_spec()
    runs = S.plan(spec)
    assert spec.presets == preset_names("2d") and len(spec.seeds) == 5
    assert len(runs) == len(preset_names("2d")) * 2 * 5
    ring = next(r for r in runs if r.fields["data"] == "ring").cfg().data
    grid = next(r for r in runs if r.fields["data"] == "grid").cfg().data
    assert (ring.modes, ring.radius, ring.std) == (8, 1.0, 0.01)
    assert (grid.grid_n, grid.spacing, grid.std) == (5, 2.0, 0.05)
    from ganplay.engine.presets import PRESETS

    assert all(r.cfg().train.steps == PRESETS[r.fields["preset"]].fields["train.steps"] for r in runs)
    full = T.robustness_cases("full")
    modes = {c["modes"] for c in full.values() if c["name"] == "ring"}
    assert modes == {3, 6, 8, 12} and {c["grid_n"] for c in full.values() if c["name"] == "grid"} == {3, 5, 7}
    assert min(c["std"] for c in full.values()) == 0.005 and max(c["std"] for c in full.values()) == 0.1
    assert len(S.plan(T.robustness_spec("edges"))) == 14 * 3
    # the full table measures its hardest cases first (a sweep cut short has measured them)
    first = next(iter(full.values()))
    assert (first["name"], first["grid_n"], first["spacing"], first["std"]) == ("grid", 7, 4.0, 0.01)
    assert len(full) == 64 + 27
    # the published rows carry their sources
    rows = [{"recipe": "stable ring", "preset": "stable", "data": "ring", "status": "done", "modes_covered": 8,
             "modes_total": 8, "hq_fraction": 0.95, "reverse_kl": 0.01, "w1": 0.02, "wall_s": 1.0, "steps": 20000}]
    text = T.format_veegan(rows)
    assert "ganplay stable" in text and "8.0 ± 0.0/8" in text and "95.0 ± 0.0" in text
    for pub in T.PUBLISHED:
        assert pub.name in text and pub.source in text
    assert "71.7" in text and "68.5" in text and "95.6" in text   # GDPP-GAN, PacGAN2


def test_ray_resources_share_a_gpu_between_2d_runs() -> None:
    runs = S.plan(S.SweepSpec(presets=["stable", "dcgan"], data=S.data_sets(["ring", "mnist"]), steps=1))
    by = {(r.fields["preset"], r.fields["data"]): r for r in runs}
    assert ("dcgan", "ring") not in by   # an image recipe is not crossed with 2D data
    assert B.ray_resources(by[("stable", "ring")], gpus_in_cluster=0) == {"num_cpus": 1}
    assert B.ray_resources(by[("stable", "ring")], gpus_in_cluster=2)["num_gpus"] == B.GPU_SHARE_2D < 1
    assert B.ray_resources(by[("dcgan", "mnist")], gpus_in_cluster=2)["num_gpus"] == 1.0


def test_progress_line_counts_and_eta() -> None:
    p = S.Progress(total=10, skipped=2, slots=2)
    assert "ETA ?" in p.line()
    p.finish({"status": "done", "wall_s": 10.0})
    p.finish({"status": "failed", "wall_s": 1.0})
    p.running = 2
    line = p.line()
    assert "4/10 runs" in line and "3 done" in line and "2 running" in line and "1 failed" in line
    assert p.eta_s() == pytest.approx(10.0 * (6 - 1) / 2)


# ---------------------------------------------------------------------- running
def test_tiny_grid_runs_and_records_a_failing_run(tmp_path: Path, capsys) -> None:
    """Two presets x two data sets, one of which cannot load (a points file that does not exist):
    its run fails with the reason, the others finish, and every report file is written."""
    out = tmp_path / "sw"
    rc = main(["sweep", "--presets", "vanilla,lsgan", "--vary", "data.name=ring,points", "--set",
               f"data.path={tmp_path / 'missing.csv'}", "--steps", "15", "--workers", "2", "-q", "-o", str(out)] + SMALL)
    assert rc == 0
    printed = capsys.readouterr().out
    assert "vanilla ring data.name=points" in printed and "1 failed" in printed
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4
    assert {r["data.name"] for r in rows} == {"ring", "points"}
    for r in rows:
        if r["data.name"] == "points":
            assert r["status"] == "failed" and "missing.csv" in r["reason"]
        else:
            assert r["status"] == "done" and r["steps"] == "15" and 0 <= int(r["modes_covered"]) <= 8
            run_dir = out / r["run_id"]
            assert {"config.toml", "checkpoint.pt", "history.csv", "metrics.json", "result.json"} <= \
                {p.name for p in run_dir.iterdir()}
    js = json.loads((out / "results.json").read_text())
    assert js["varying"] == ["preset", "data.name", "seed"] and len(js["runs"]) == 4
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "recipe" in (out / "summary.txt").read_text()


def test_resume_after_a_kill_skips_finished_runs(tmp_path: Path) -> None:
    """SIGKILL the whole sweep (driver and worker) once a run has finished; the same command
    then skips the finished runs and trains the rest."""
    out = tmp_path / "sw"
    cmd = _sweep_cmd(out, "--presets", "vanilla", "--seeds", "3", "--steps", "150", "--workers", "1")
    p = subprocess.Popen(cmd, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not list(out.glob("*/result.json")) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)
    finally:
        p.wait()
    first = {f.parent.name: f.stat().st_mtime_ns for f in out.glob("*/result.json")}
    assert 1 <= len(first) < 3, "the kill should land part way through the sweep"
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"({len(first)} before this start)" in r.stderr
    after = {f.parent.name: f.stat().st_mtime_ns for f in out.glob("*/result.json")}
    assert len(after) == 3 and all(after[k] == v for k, v in first.items())   # not trained again
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["status"] for r in rows] == ["done"] * 3


def test_ctrl_c_saves_the_running_run_and_resume_continues_it(tmp_path: Path) -> None:
    out = tmp_path / "sw"
    cmd = _sweep_cmd(out, "--presets", "vanilla", "--seeds", "2", "--steps", "100000", "--workers", "1",
                     "--save-every", "0.3")
    ckpt = out / "vanilla_ring-s0" / "checkpoint.pt"
    p = subprocess.Popen(cmd, env=_env(), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        deadline = time.monotonic() + 60
        # wait until the worker trains: its first periodic save
        while time.monotonic() < deadline and not ckpt.exists():
            time.sleep(0.05)
        first = ckpt.stat().st_mtime_ns
        os.killpg(p.pid, signal.SIGINT)   # as the terminal's Ctrl-C: the driver and its worker
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert "--resume" in err
    run_dir = out / "vanilla_ring-s0"
    assert ckpt.stat().st_mtime_ns > first and not (run_dir / "result.json").exists()   # saved on the stop
    from ganplay.engine.runs import load_run

    trainer, _ = load_run(run_dir)
    saved = trainer.step_count
    assert 0 < saved < 100000
    # resume with a plan of fewer steps would be another sweep: the folder refuses it
    rc = main(["sweep", "-o", str(out), "--presets", "vanilla", "--seeds", "2", "--steps", "50", "-q"] + SMALL)
    assert rc == 2
    # resuming continues the saved run from its checkpoint
    # (stopped at once: it loads the checkpoint, then saves at the first step boundary)
    res = S.execute_run(S.read_plan(out)[0], run_dir, stop=lambda: True)
    assert res["resumed_at"] == saved and res["status"] == "interrupted"


def test_local_backend_runs_without_ray(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` now raises ImportError
    assert not B.ray_available()
    with pytest.raises(S.SweepError, match=r"pip install \"ganplay\[cluster\]\""):
        B.make_backend("ray", tmp_path)
    assert main(["sweep", "--backend", "ray", "-o", str(tmp_path / "r"), "--steps", "1"]) == 2
    assert "ganplay[cluster]" in capsys.readouterr().err
    runs = S.plan(S.SweepSpec(presets=["vanilla"], seeds=[0], steps=5,
                              overrides=["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                         "train.eval_every=0"]))
    backend = B.make_backend("local", tmp_path / "l", workers=1)
    assert isinstance(backend, B.LocalBackend)
    try:
        results, interrupted = B.run_sweep(runs, tmp_path / "l", backend)
    finally:
        backend.close()
    assert not interrupted and [r["status"] for r in results.values()] == ["done"]


def test_ray_local_cluster(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    runs = S.plan(S.SweepSpec(presets=["vanilla"], seeds=[0, 1], steps=5,
                              overrides=["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                         "train.eval_every=0"]))
    backend = B.make_backend("ray", tmp_path, workers=2)
    try:
        results, interrupted = B.run_sweep(runs, tmp_path, backend)
    finally:
        backend.close()
    assert not ray.is_initialized()
    assert not interrupted and sorted(r["status"] for r in results.values()) == ["done", "done"]
    for r in runs:   # the files came back from the task into the sweep folder
        assert (tmp_path / r.run_id / "checkpoint.pt").exists() and (tmp_path / r.run_id / "result.json").exists()


# ---------------------------------------------------------------------- the window
def _tiny_sweep(folder: Path) -> list:
    runs = S.plan(S.SweepSpec(presets=["vanilla"], seeds=[0, 1], steps=5,
                              overrides=["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                         "train.eval_every=0", "train.device=cpu"]))
    S.write_plan(folder, runs)
    for r in runs:
        assert S.execute_run(r, folder / r.run_id)["status"] == "done"
    return runs


def test_open_sweep_explores_and_continues_a_run(qtbot, tmp_path, monkeypatch, describe) -> None:
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from ganplay.engine.config import Config
    from ganplay.live import protocol as P
    from ganplay.ui.main_window import MainWindow

    folder = tmp_path / "sw"
    runs = _tiny_sweep(folder)
    errors: list = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: errors.append((title, text)))
    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    w = MainWindow(cfg, backend="thread")
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.engineReady, timeout=60_000):
        w.show()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    w.act_open_sweep.trigger()   # File -> Open sweep...
    view = w.sweep_view
    assert view.table.rowCount() == 2 and not errors
    status_col = [h for _, h in view.columns].index("status")
    assert [view.table.item(i, status_col).text() for i in range(2)] == ["done", "done"]
    view.table.selectRow(1)
    assert view.btn_explore.isEnabled() and view.btn_continue.isEnabled()
    with qtbot.waitSignal(w.generatorOpened, timeout=30_000) as opened:
        view.btn_explore.click()
    assert opened.args[0] == str(folder / runs[1].run_id) and len(w.canvas.bundle.data) == 512
    with qtbot.waitSignal(w.eventHandled, timeout=30_000, check_params_cb=lambda ev: isinstance(ev, P.StateInstalled)):
        view.btn_continue.click()
    assert describe(w)["step"] == 5 and w.config.train.seed == 1 and not errors
    # a folder that is no sweep: a message, no view
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    w.act_open_sweep.trigger()
    assert errors and "not a sweep folder" in errors[0][1]


def test_veegan_table_for_some_presets_only() -> None:
    import argparse

    from ganplay.cli_sweep import _spec

    args = argparse.Namespace(seeds=None, table="veegan", file=None, presets="stable", data=None, vary=[],
                              steps=None, set=None, config=None)
    spec = _spec(args)
    assert spec.presets == ["stable"] and spec.name == "veegan" and len(S.plan(spec)) == 2 * 5
    args.table = "stable-robustness-edges"
    with pytest.raises(S.SweepError, match="fixed grid"):
        _spec(args)



def test_the_robustness_table_says_what_passes_and_each_cases_budget() -> None:
    """A case passes when every seed covers every mode at >= 75 % high quality; the budget column
    shows the steps and batch its runs trained (stable derives both from the data)."""
    def row(data, seed, covered, hq, steps=20_000, batch=256, status="done"):
        return {"data": data, "seed": seed, "status": status, "modes_covered": covered, "modes_total": 8,
                "hq_fraction": hq, "w1": 0.01, "steps": steps, "batch": batch}

    rows = [row("ring-a", 0, 8, 0.9), row("ring-a", 1, 8, 0.8),
            row("ring-b", 0, 8, 0.9, 40_000, 1024), row("ring-b", 1, 8, 0.7, 40_000, 1024),
            row("ring-c", 0, 7, 0.95), {"data": "ring-d", "seed": 0, "status": "failed"}]
    import re

    lines = {ln.split()[0]: re.split(r"\s{2,}", ln.strip())
             for ln in T.format_robustness(rows).splitlines() if ln.startswith("ring")}
    assert lines["ring-a"][-1] == "yes" and lines["ring-a"][-2] == "20,000 x 256"
    assert lines["ring-b"][-1] == "no" and lines["ring-b"][4] == "70.0" and lines["ring-b"][-2] == "40,000 x 1,024"
    assert lines["ring-c"][-1] == "no" and lines["ring-c"][2] == "7/8"
    assert lines["ring-d"][-1] == "pending"
    assert "1/3 cases pass" in T.format_robustness(rows)
    # D's width shows only when the table's runs differ in it (stable's many_modes: 7x7 grids)
    for r in rows:
        r["d_width"] = 256 if r["data"] == "ring-b" else 128
    lines = {ln.split()[0]: re.split(r"\s{2,}", ln.strip())
             for ln in T.format_robustness(rows).splitlines() if ln.startswith("ring")}
    assert lines["ring-b"][-2] == "40,000 x 1,024, D 256" and lines["ring-a"][-2] == "20,000 x 256, D 128"
    for r in rows:
        r["d_width"] = 128
    assert "D 128" not in T.format_robustness(rows)
    for r in rows:
        r["pack"] = 4 if r["data"] == "ring-b" else 2
    lines = {ln.split()[0]: re.split(r"\s{2,}", ln.strip())
             for ln in T.format_robustness(rows).splitlines() if ln.startswith("ring")}
    assert lines["ring-b"][-2] == "40,000 x 1,024, pack 4" and lines["ring-a"][-2] == "20,000 x 256, pack 2"
    rows[2].update(batch=256, late_batch=1024)      # train.late_batch_size: the narrow batch from half-way
    rows[3].update(batch=256, late_batch=1024)
    lines = {ln.split()[0]: re.split(r"\s{2,}", ln.strip())
             for ln in T.format_robustness(rows).splitlines() if ln.startswith("ring")}
    assert lines["ring-b"][-2] == "40,000 x 256 then 1,024, pack 4"


def test_robustness_twins_are_cases_scaled_by_a_power_of_two() -> None:
    """The full table's 22 twins: each is an earlier case with radius (spacing) and width scaled by
    the same power of two; a stable robustness sweep trains the other 69 cases, and a sweep that
    turns the data's units off keeps every case (its twins are different problems)."""
    import argparse
    import math

    from ganplay.cli_sweep import _spec

    full = T.robustness_cases("full")
    twins = T.robustness_twins(full)
    assert len(twins) == 22 and all(rep not in twins for rep, _ in twins.values())
    order = list(full)
    for twin, (rep, k) in twins.items():
        a, b = full[rep], full[twin]
        assert order.index(rep) < order.index(twin) and math.log2(k).is_integer()
        scale = "radius" if a["name"] == "ring" else "spacing"
        assert b[scale] == a[scale] * k and b["std"] == a["std"] * k
        assert {x: v for x, v in a.items() if x not in (scale, "std")} == {x: v for x, v in b.items() if x not in (scale, "std")}
    args = argparse.Namespace(seeds=None, table="stable-robustness", file=None, presets=None, data=None, vary=[],
                              steps=None, set=None, config=None)
    spec = _spec(args)
    assert len(spec.data) == 91 - 22 and not set(spec.data) & set(twins)
    args.set = ["model.data_norm=false"]
    assert len(_spec(args).data) == 91


def test_a_twin_trains_the_same_run_to_the_bit() -> None:
    """Why the table may show a twin with its case's runs: in the data's units a ring of radius 0.5
    and width 0.005 is the ring of radius 1 and width 0.01, and a 5x5 grid of spacing 2 and width
    0.05 is the one of spacing 4 and width 0.1; a short stable run of each pair gives G's samples
    equal up to the scale factor, exactly, and the same mode metrics."""
    import torch

    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.presets import apply_preset
    from ganplay.engine.runs import evaluate
    from ganplay.engine.trainer import Trainer

    torch.set_num_threads(1)
    full = T.robustness_cases("full")
    for twin in ("ring8-r0.5-s0.005", "grid5x5-d2-s0.05"):
        rep, k = T.robustness_twins(full)[twin]
        out = []
        for case in (rep, twin):
            cfg = apply_overrides(apply_preset("stable", Config()), [f"data.{a}={b}" for a, b in full[case].items()]
                                  + ["model.g_width=32", "model.d_width=32", "train.seed=3"])
            t = Trainer(cfg, device="cpu")
            for _ in range(60):
                t.step()
            out.append((t.sample(500), evaluate(t, n=500)))
        (x_rep, m_rep), (x_twin, m_twin) = out
        assert torch.equal(torch.as_tensor(x_rep) * k, torch.as_tensor(x_twin))
        assert m_rep["modes_covered"] == m_twin["modes_covered"] and m_rep["hq_fraction"] == m_twin["hq_fraction"]


def test_the_robustness_table_shows_a_twin_with_its_cases_runs() -> None:
    rows = [{"data": "ring8-r1-s0.01", "seed": s, "status": "done", "modes_covered": 8, "modes_total": 8,
             "hq_fraction": 0.9, "w1": 0.02, "steps": 20_000, "batch": 256} for s in range(3)]
    import re

    text = T.format_robustness(rows, twins={"ring8-r0.5-s0.005": ("ring8-r1-s0.01", 0.5)})
    lines = {ln.split()[0]: re.split(r"\s{2,}", ln.strip()) for ln in text.splitlines() if ln.startswith("ring")}
    assert list(lines) == ["ring8-r1-s0.01", "ring8-r0.5-s0.005"]
    assert lines["ring8-r0.5-s0.005"][1] == "= ring8-r1-s0.01" and lines["ring8-r0.5-s0.005"][5] == "0.010"
    assert lines["ring8-r0.5-s0.005"][-1] == "yes" and "2/2 cases pass" in text and "1 of them twins" in text
