"""The up-front memory estimate (issue 16): exact network sizes, a refusal that names the fields
before anything is allocated (engine, CLI, the real window), and the estimate against the memory
a real trainer takes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganplay.engine import memory_estimate as M
from ganplay.engine.config import Config, ConfigError, apply_overrides
from ganplay.engine.limits import network_bytes

# Each field within its range, together far beyond any machine: ~2 TiB (the unrolled look-ahead
# keeps 100 graphs of a 16-layer, 4096-wide D on 65,536 samples).
HUGE = ["model.g_width=4096", "model.g_depth=16", "model.d_width=4096", "model.d_depth=16",
        "train.batch_size=65536", "train.unrolled=100", "train.device=cpu"]


def cfg_of(*overrides: str) -> Config:
    return apply_overrides(Config(), list(overrides)).validate()


@pytest.mark.parametrize("overrides", [
    [],
    ["model.g_norm=batch", "model.d_norm=layer", "model.spectral_norm=true", "train.pack=4",
     "model.latent_modes=2", "model.g_depth=3", "model.d_width=77"],
    ["data.name=mnist", "model.conditional=true", "model.d_norm=batch", "model.g_depth=0"],
    ["data.name=mnist", "model.arch=dcgan", "model.g_norm=batch", "model.d_norm=batch", "model.latent_dim=64",
     "model.latent_modes=10", "train.ema=0.999"],
    ["data.name=stacked_mnist", "model.arch=dcgan", "model.conditional=true", "model.spectral_norm=true",
     "model.g_norm=layer", "model.d_norm=layer", "train.pack=2", "model.g_width=3", "model.d_width=5"],
])
def test_network_sizes_are_exact(overrides):
    """The arithmetic agrees byte for byte with the networks built on torch's meta device."""
    cfg = cfg_of(*overrides)
    est = M.estimate(cfg)
    assert (est.g_bytes, est.d_bytes) == network_bytes(cfg)


def test_refusal_names_the_fields_the_estimate_and_what_is_available():
    cfg = cfg_of(*HUGE)
    est = M.estimate(cfg)
    assert est.total > 1 << 40  # over a TiB: no machine fits it
    with pytest.raises(M.MemoryRefused) as info:
        M.check_fits(cfg, "cpu")
    msg = str(info.value)
    assert isinstance(info.value, ConfigError)  # the CLI and the window treat it as a bad setting
    for part in ("model.g_width=4096", "model.d_depth=16", "train.batch_size=65536", "train.unrolled=100",
                 "one training step", "TiB", "MemAvailable", "lower train.batch_size"):
        assert part in msg, part
    # the default config needs under 100 MiB; 1 MiB less than that and the headroom is refused
    small = Config()
    assert M.check_fits(small, "cpu", available=M.HEADROOM + (100 << 20)).total < 100 << 20
    need = M.estimate(small).total + M.HEADROOM
    with pytest.raises(M.MemoryRefused):
        M.check_fits(small, "cpu", available=need - (1 << 20))
    M.check_fits(small, "cpu", available=need)


def test_sizes_grow_where_they_should():
    base = M.estimate(cfg_of())
    big = M.estimate(cfg_of("train.batch_size=65536"))
    assert big.peak > 10 * base.peak and big.networks == base.networks
    assert M.estimate(cfg_of("train.unrolled=5", "train.batch_size=65536")).peak > 3 * big.peak
    assert M.estimate(cfg_of("loss.name=wgan-gp", "train.batch_size=65536")).peak > 2 * big.peak
    assert M.estimate(cfg_of("model.g_width=1024", "model.d_width=1024")).networks > 50 * base.networks
    packed = M.estimate(cfg_of("train.pack=8", "train.batch_size=8192", "model.d_width=1024"))
    plain = M.estimate(cfg_of("train.batch_size=8192", "model.d_width=1024"))
    assert packed.peak < plain.peak  # D sees batch / pack rows
    assert M.estimate(cfg_of("train.opt_d=sgd", "train.momentum=0")).optimizers < base.optimizers


def test_available_memory_is_read_from_proc():
    got = M.available_bytes("cpu")
    assert got is not None
    avail, where = got
    with open("/proc/meminfo") as f:
        meminfo = {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in f}
    assert 0 < avail <= meminfo["MemAvailable"] + (64 << 20)  # it may have grown since
    assert where


def test_trainer_refuses_before_allocating(monkeypatch):
    """The refusal comes before the data or a network are made (both would take minutes and
    gigabytes here); a refused live change leaves the trainer's settings as they were."""
    from ganplay.engine import trainer as T

    def no_data(*a, **k):
        raise AssertionError("data were made before the memory check")

    monkeypatch.setattr(T, "make_data", no_data)
    with pytest.raises(M.MemoryRefused):
        T.Trainer(cfg_of(*HUGE))
    monkeypatch.undo()

    tr = T.Trainer(cfg_of("model.g_width=16", "model.d_width=16", "train.batch_size=32", "train.device=cpu"))
    tr.set("train.batch_size", 64)  # fits
    monkeypatch.setattr(M, "available_bytes", lambda device="cpu": (300 << 20, "available (test)"))
    tr.set("train.unrolled", 100)   # at batch 64 the 100 look-ahead graphs are small
    with pytest.raises(M.MemoryRefused, match="train.batch_size=65536"):
        tr.set("train.batch_size", 65536)  # at 65,536 they would need about 6 GiB
    assert tr.cfg.train.batch_size == 64 and tr.cfg.train.unrolled == 100
    tr.set("train.lr_d", 1e-3)             # fields that change no size are not estimated
    tr.set("train.unrolled", 0)
    tr.step()                              # the trainer trains on


def test_population_adds_its_members(monkeypatch):
    """The compare window and ``ganplay compare`` hold all members at once."""
    from ganplay.engine.population import Population

    cfgs = [cfg_of("model.g_width=512", "model.d_width=512", "train.device=cpu")] * 4
    one = M.estimate(cfgs[0]).total
    assert M.check_all_fit(cfgs, "cpu", available=4 * one + M.HEADROOM) == 4 * one
    monkeypatch.setattr(M, "available_bytes", lambda device="cpu": (3 * one + M.HEADROOM, "available (test)"))
    M.check_fits(cfgs[0])  # each alone fits
    with pytest.raises(M.MemoryRefused, match="4 configurations together"):
        Population(cfgs)


def test_cli_refuses_with_a_usage_error(tmp_path, capsys):
    from ganplay.cli import EXIT_USAGE, main

    run = tmp_path / "run"
    assert main(["train", "-q", "-o", str(run), *(a for o in HUGE for a in ("--set", o))]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("ganplay: error: These settings need about") and "train.batch_size=65536" in err
    assert "Traceback" not in err and not run.exists()  # refused before the run folder was made
    # one field alone out of its range is refused by the range check
    assert main(["train", "-q", "-o", str(run), "--set", "model.g_width=200000"]) == EXIT_USAGE
    assert "model.g_width" in capsys.readouterr().err


BENCH = Path(__file__).resolve().parents[1] / "bench" / "memory_estimate.py"
# Two real sizes: one where a step's activations dominate (65,536 samples), one where the
# networks, their optimiser state and copies do (9 MiB of weights per hidden layer).
MEASURED = ["train.batch_size=65536",
            "model.g_width=1536 model.g_depth=4 model.d_width=1536 model.d_depth=4 train.batch_size=64"]
FACTOR = 2.0  # the estimate is within this factor of the measured growth, either way


def test_estimate_is_within_a_factor_of_measured_memory():
    """bench/memory_estimate.py's measure: the growth of a fresh process's peak resident memory
    (VmHWM) over building a trainer, three steps with a renewed last-good copy each, and D on the
    window's grid."""
    proc = subprocess.run([sys.executable, str(BENCH), "--json", *MEASURED], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for r in json.loads(proc.stdout.strip().splitlines()[-1]):
        ratio = r["measured"] / r["estimate"]
        assert 1 / FACTOR <= ratio <= FACTOR, r
        assert r["measured"] > 150 << 20, r  # large enough that the comparison means something


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_the_window_refuses_and_keeps_training(qtbot, open_window, describe, monkeypatch):
    """Applying settings that cannot fit shows a message naming them; the training process and
    its trainer stay, and training goes on."""
    from PySide6.QtWidgets import QMessageBox

    from ganplay.live import protocol as P

    errors: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: errors.append((title, text)))
    small = cfg_of("model.g_width=32", "model.d_width=32", "train.batch_size=64")
    w = open_window(small, "process")
    pid = w.worker.pid
    w.model.set_draft(cfg_of(*HUGE))
    with qtbot.waitSignal(w.eventHandled, timeout=20_000,
                          check_params_cb=lambda ev: isinstance(ev, (P.ResetFailed, P.EngineReset))) as got:
        w.act_reset.trigger()
    assert isinstance(got.args[0], P.ResetFailed)
    assert errors and "model.d_width=4096" in errors[-1][1] and "need about" in errors[-1][1]
    assert w.worker.isRunning() and w.worker.pid == pid
    live = describe(w)
    assert live["config"].model.g_width == 32 and w.config.model.g_width == 32
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.current_step > 20, timeout=20_000)
    w.act_pause.trigger()
