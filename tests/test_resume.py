"""`ganplay train --resume RUN`: N steps + resume M equals N + M straight, history and weights."""
from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.cli import main
from ganplay.engine import runs
from ganplay.engine.config import load_toml
from ganplay.engine.runs import History, load_checkpoint
from ganplay.engine.trainer import Trainer

BASE = ["--set", "model.g_width=32", "--set", "model.d_width=32", "--set", "train.batch_size=64",
        "--set", "train.device=cpu", "--set", "train.log_every=5", "--set", "train.eval_every=0",
        "--set", "train.ema=0.9", "-q"]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _history(run: Path) -> History:
    return History.from_csv((run / "history.csv").read_text(encoding="utf-8"))


def test_resume_equals_straight_run(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--steps", "50", "-o", str(straight), *BASE]) == 0
    assert main(["train", "--steps", "30", "-o", str(split), *BASE]) == 0
    assert main(["train", "--resume", str(split), "--steps", "20", "-q"]) == 0

    a, b = load_checkpoint(straight / "checkpoint.pt"), load_checkpoint(split / "checkpoint.pt")
    assert a["step"] == b["step"] == 50
    assert torch.equal(a["rng"], b["rng"])
    for net in ("G", "D", "G_ema"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    for k, v in a["opt_g"]["state"][0].items():
        assert torch.equal(v, b["opt_g"]["state"][0][k])

    ha, hb = _history(straight), _history(split)
    assert len(ha.rows) == len(hb.rows) == 10
    for col in ("step", "loss_d", "loss_g", "grad_d", "grad_g", "d_real", "d_fake", "jsd"):
        assert np.array_equal(ha.column(col), hb.column(col)), col
    ma, mb = (json.loads((r / "metrics.json").read_text()) for r in (straight, split))
    for key in ("steps", "w1", "energy", "modes_covered", "hq_fraction"):
        assert ma[key] == mb[key], key
    # the resumed run's config reads like the straight run's
    assert load_toml(split / "config.toml") == load_toml(straight / "config.toml")


def test_resume_applies_live_overrides_and_refuses_structural_ones(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--steps", "10", "-o", str(run), *BASE]) == 0
    assert main(["train", "--resume", str(run), "--steps", "5", "--set", "train.lr_g=1e-3", "-q"]) == 0
    assert load_toml(run / "config.toml").train.lr_g == 1e-3
    assert load_checkpoint(run / "checkpoint.pt")["opt_g"]["param_groups"][0]["lr"] == 1e-3
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "5", "--set", "model.g_width=64", "-q"]) == 2
    assert "model.g_width" in capsys.readouterr().err
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 15    # nothing was written


class Evil:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_resume_refuses_malicious_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--steps", "5", "-o", str(run), *BASE]) == 0
    marker = tmp_path / "pwned"
    torch.save({"G": Evil(marker)}, run / "checkpoint.pt")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "5", "-q"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "cannot be loaded safely" in err
    (run / "checkpoint.pt").write_bytes(pickle.dumps(Evil(marker)))
    assert main(["train", "--resume", str(run), "--steps", "5", "-q"]) == 2
    assert not marker.exists()


def test_checkpoint_that_does_not_fit_the_config_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--steps", "5", "-o", str(run), *BASE]) == 0
    sd = load_checkpoint(run / "checkpoint.pt")
    sd["G"]["net.0.weight"] = torch.zeros(3, 3)
    torch.save(sd, run / "checkpoint.pt")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "5", "-q"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "does not fit" in err
    assert main(["export", str(run), "-o", str(tmp_path / "b.ganplay")]) == 2
    assert not (tmp_path / "b.ganplay").exists()


# ---------------------------------------------------------------- issue 16: nothing trained is lost
SMALL = [s for s in BASE if s != "-q"]


def _same_run(a: Path, b: Path) -> None:
    """Two run folders hold the same training state and history."""
    ca, cb = load_checkpoint(a / "checkpoint.pt"), load_checkpoint(b / "checkpoint.pt")
    assert ca["step"] == cb["step"]
    assert torch.equal(ca["rng"], cb["rng"])
    for net in ("G", "D", "G_ema"):
        for k, v in ca[net].items():
            assert torch.equal(v, cb[net][k]), f"{net}.{k} differs"
    ha, hb = _history(a), _history(b)
    assert len(ha.rows) == len(hb.rows)
    for col in ("step", "loss_d", "loss_g"):
        assert np.array_equal(ha.column(col), hb.column(col)), col


def test_ctrl_c_saves_the_run_and_resume_continues_it(tmp_path):
    """A real SIGINT to `ganplay train` a few hundred steps in: the run is saved and resumes bit-exact."""
    run, straight = tmp_path / "r", tmp_path / "straight"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "ganplay", "train", "--steps", "4000", "-o", str(run), *SMALL,
           "--set", "train.log_every=50", "--save-every", "0"]   # progress printed every 200 steps
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    first_step = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("step"):
                first_step.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_step.wait(120), "no progress line: " + "".join(lines)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    err = "".join(lines)
    assert rc == 130, err
    assert "Traceback" not in err
    assert f"the run is saved in '{run}'" in err and "--resume" in err
    step = load_checkpoint(run / "checkpoint.pt")["step"]
    assert 200 <= step < 4000
    assert load_toml(run / "config.toml").train.steps == 4000     # the target is kept
    assert max(_history(run).column("step")) <= step
    assert not (run / "metrics.json").exists()
    # nothing was lost: resuming gives exactly what one straight run gives
    assert main(["train", "--resume", str(run), "--steps", "20", "-q"]) == 0
    assert main(["train", "--steps", str(step + 20), "-o", str(straight), *BASE,
                 "--set", "train.log_every=50"]) == 0
    _same_run(run, straight)
    assert len(_history(run).rows) == (step + 20) // 50


@pytest.fixture(scope="module")
def straight60(tmp_path_factory) -> Path:
    """One straight 60-step run that the interrupted and failed runs below must end up equal to."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main(["train", "--steps", "60", "-o", str(out), *BASE]) == 0
    return out


def _sigint_at(monkeypatch, at_step: int, presses: int = 1) -> None:
    """Deliver ``presses`` SIGINTs to this process when the trainer reaches ``at_step``."""
    real = Trainer.step

    def step(self):
        s = real(self)
        if self.step_count == at_step:
            for _ in range(presses):
                signal.raise_signal(signal.SIGINT)
        return s

    monkeypatch.setattr(Trainer, "step", step)


def test_interrupted_run_resumes_to_its_target(tmp_path, monkeypatch, capsys, straight60):
    run, straight = tmp_path / "r", straight60
    _sigint_at(monkeypatch, 40)
    assert main(["train", "--steps", "60", "-o", str(run), *BASE]) == 130
    err = capsys.readouterr().err
    assert "interrupted at step 40 of 60" in err and str(run) in err
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 40
    monkeypatch.undo()
    torch.set_num_threads(1)
    assert main(["train", "--resume", str(run), "-q"]) == 0          # no --steps: up to 60
    _same_run(run, straight)
    assert json.loads((run / "metrics.json").read_text())["steps"] == 60
    assert load_toml(run / "config.toml") == load_toml(straight / "config.toml")


def test_second_ctrl_c_aborts_and_keeps_the_last_periodic_save(tmp_path, monkeypatch, capsys):
    run = tmp_path / "r"
    _sigint_at(monkeypatch, 30, presses=2)
    assert main(["train", "--steps", "60", "-o", str(run), *BASE, "--save-every", "1e-9"]) == 130
    err = capsys.readouterr().err
    assert "aborted at step" in err and "without saving" in err and "saved at step" in err
    saved = load_checkpoint(run / "checkpoint.pt")["step"]
    assert 1 <= saved <= 30 and f"saved at step {saved}" in err
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "-q"]) == 0
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 60


def test_periodic_saves_keep_a_resumable_folder_while_training(tmp_path, monkeypatch):
    run = tmp_path / "r"
    seen: list[int] = []
    real = runs.write_run

    def spy(run_dir, trainer, history, metrics, **kw):
        real(run_dir, trainer, history, metrics, **kw)
        if metrics is None:   # a periodic save: the folder must load and match the trainer
            t, _ = runs.load_run(run_dir)
            assert t.step_count == trainer.step_count
            seen.append(t.step_count)

    monkeypatch.setattr(runs, "write_run", spy)
    assert main(["train", "--steps", "20", "-o", str(run), *BASE, "--save-every", "1e-9"]) == 0
    assert seen[:3] == [1, 2, 3] and len(seen) >= 19


def _fail_nth_write(monkeypatch, n: int) -> list[str]:
    """Make the n-th run-file write fail as a full disk does; returns the names written."""
    real = runs._write_file
    calls: list[str] = []

    def write(path, data):
        calls.append(Path(path).name)
        if len(calls) == n:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(runs, "_write_file", write)
    return calls


@pytest.mark.parametrize("n, kept_step", [(1, 30), (2, 30), (3, 50), (4, 50)],
                         ids=["history", "checkpoint", "config", "metrics"])
def test_full_disk_during_the_final_save_keeps_a_consistent_resumable_folder(tmp_path, monkeypatch, capsys,
                                                                             n, kept_step, straight60):
    run = tmp_path / "r"
    assert main(["train", "--steps", "30", "-o", str(run), *BASE]) == 0
    calls = _fail_nth_write(monkeypatch, n)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "20", "-q", "--save-every", "0"]) == 2
    err = capsys.readouterr().err
    assert calls == ["history.csv", "checkpoint.pt", "config.toml", "metrics.json"][:n]
    assert "No space left on device" in err and calls[-1] in err and "Traceback" not in err
    assert f"step {kept_step}" in err          # says what the folder still holds
    monkeypatch.undo()
    torch.set_num_threads(1)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.toml", "history.csv", "metrics.json"]
    trainer, metrics = runs.load_run(run)
    assert trainer.step_count == kept_step
    assert metrics == {} or metrics["steps"] == kept_step          # never metrics of another step
    # resumable: finishing to step 60 gives what a straight 60-step run gives
    assert main(["train", "--resume", str(run), "--steps", str(60 - kept_step), "-q"]) == 0
    _same_run(run, straight60)


def test_full_disk_on_a_fresh_run_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    run = tmp_path / "r"
    _fail_nth_write(monkeypatch, 2)
    assert main(["train", "--steps", "10", "-o", str(run), *BASE]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "No space left on device" in err and "nothing of this run's 10 steps" in err
    assert not any(p.name.endswith(".tmp") for p in run.iterdir())


def test_failed_periodic_save_warns_and_training_goes_on(tmp_path, monkeypatch, capsys):
    run = tmp_path / "r"
    _fail_nth_write(monkeypatch, 2)                   # the first periodic checkpoint
    assert main(["train", "--steps", "10", "-o", str(run), *BASE, "--save-every", "1e-9"]) == 0
    err = capsys.readouterr().err
    assert "periodic save failed" in err and "No space left on device" in err
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 10


def test_history_cut_mid_row_or_past_the_checkpoint_is_trimmed_on_resume(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "--steps", "20", "-o", str(run), *BASE]) == 0
    text = (run / "history.csv").read_text()
    extra = "25,0.5,0.5,0.5,0.5,0.1,0.1,0.1,0.1,0.1" + "," * 12 + "\n30,0.12"   # ahead, then cut mid-row
    (run / "history.csv").write_text(text + extra)
    assert main(["train", "--resume", str(run), "--steps", "10"]) == 0
    assert "dropped 2 history row(s)" in capsys.readouterr().err
    steps = _history(run).column("step")
    assert list(steps) == list(range(5, 35, 5))


def test_legacy_pickle_checkpoint_is_refused_without_suggesting_weights_only_false(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--steps", "5", "-o", str(run), *BASE]) == 0
    torch.save({"G": Path("legacy")}, run / "checkpoint.pt")       # an object, not tensors
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "5", "-q"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "refuses pickles for safety" in err
    assert "weights_only" not in err and "trust" in err
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert "damaged or not a ganplay checkpoint" in err and "weights_only" not in err


def test_lost_config_is_recovered_from_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--steps", "10", "-o", str(run), *BASE]) == 0
    (run / "config.toml").unlink()
    trainer, _ = runs.load_run(run)
    assert trainer.step_count == 10 and trainer.cfg.model.g_width == 32
