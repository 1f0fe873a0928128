"""`ganplay train --resume RUN`: N steps + resume M equals N + M straight, history and weights."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.cli import main
from ganplay.engine.config import load_toml
from ganplay.engine.runs import History, load_checkpoint

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
