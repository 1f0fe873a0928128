"""Threads and cores (issue 24): ``train.threads``, ``engine.threads.choose_threads`` /
``choose_workers``, the CLI and the live loops applying them, and a comparison trained in worker
processes giving exactly what the same plan gives in this process."""
from __future__ import annotations

import importlib.util
import os
import queue
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganplay.engine import threads as T
from ganplay.engine.config import Config, ConfigError, apply_overrides, field_info, to_toml
from ganplay.engine.population import Population, assign_units, plan_seconds, plan_units
from ganplay.engine.presets import PRESETS, apply_preset
from ganplay.engine.threads import choose_threads, choose_workers, step_cost

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64", "train.device=cpu"]


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _preset(name: str) -> Config:
    base = Config()
    if PRESETS[name].data_kind == "image":
        base.data.name = "mnist"
    base.train.device = "cpu"
    return apply_preset(name, base).validate()


# ---------------------------------------------------------------------- the field
def test_threads_field_is_an_int_with_0_for_auto() -> None:
    info = field_info("train.threads")
    assert info.type is int and info.default == 0 and info.range == (0, 1024) and info.live
    assert "0 = auto" in info.help
    assert apply_overrides(Config(), ["train.threads=3"]).train.threads == 3
    for bad in ("-1", "auto", "1.5", "2000"):
        with pytest.raises(ConfigError, match="train.threads"):
            apply_overrides(Config(), [f"train.threads={bad}"])
    assert "threads = 0" in to_toml(Config())


# ---------------------------------------------------------------------- choose_threads
@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if p.data_kind == "2d"])
def test_2d_recipes_train_on_one_thread(name: str) -> None:
    cfg = _preset(name)
    for cores in (1, 2, 4, 64):
        assert choose_threads(cfg, cores=cores, passive=True) == 1
        assert choose_threads(cfg, cores=cores, passive=False) == 1


def test_dcgan_shares_its_convolutions_only_where_openmp_waits_passively() -> None:
    cfg = _preset("dcgan")
    assert choose_threads(cfg, cores=2, passive=True) == T.DCGAN_THREADS == 2
    assert choose_threads(cfg, cores=16, passive=True) == T.DCGAN_THREADS
    assert choose_threads(cfg, cores=1, passive=True) == 1
    assert choose_threads(cfg, cores=16, passive=False) == 1   # spinning threads: 3-7x slower beside a busy process


def test_a_very_wide_mlp_may_share_and_train_threads_overrides() -> None:
    wide = apply_overrides(Config(), ["model.g_width=1024", "model.d_width=1024", "train.batch_size=1024",
                                      "train.device=cpu"])
    assert T.mlp_macs(wide) >= T.BIG_MLP_MACS > T.mlp_macs(_preset("stable"))
    assert choose_threads(wide, cores=8, passive=True) == T.BIG_MLP_THREADS
    for cfg in (_preset("stable"), _preset("dcgan"), wide):
        cfg.train.threads = 3
        assert choose_threads(cfg, cores=2, passive=False) == 3   # the user's number, even above the cores


def test_on_a_gpu_one_thread_launches_the_kernels(monkeypatch) -> None:
    cfg = _preset("dcgan")
    cfg.train.device = "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_threads(cfg, cores=16, passive=True) == 1
    assert choose_workers([cfg, cfg], cores=16) == 0
    cfg.train.device = "cpu"
    assert choose_threads(cfg, cores=16, passive=True) == 2


def test_passive_openmp_keeps_a_policy_the_user_set(monkeypatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    T.passive_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "active" and not T.waits_passively()
    monkeypatch.delenv("OMP_WAIT_POLICY")
    T.passive_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_a_process_started_with_passive_openmp_knows_it() -> None:
    code = ("import torch; from ganplay.engine import threads as T; from ganplay.engine.config import Config;"
            "from ganplay.engine.presets import apply_preset; c = Config(); c.data.name = 'mnist';"
            "c.train.device = 'cpu'; print(T.waits_passively(), T.choose_threads(apply_preset('dcgan', c), cores=2))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "PASSIVE"}, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "2"], out.stderr
    # set after torch has loaded it reaches only the children: this process keeps one thread
    late = "import os, torch; os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'; " + code.split("; ", 1)[1]
    out = subprocess.run([sys.executable, "-c", late], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["False", "1"], out.stderr


# ---------------------------------------------------------------------- the CLI and the loops
def _train(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    return subprocess.run(
        [sys.executable, "-m", "ganplay", "train", "--steps", "2", "-o", str(tmp_path / f"r{len(extra)}"),
         *sum((["--set", s] for s in SMALL + ["train.eval_every=0"]), []), *extra],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(300)
def test_ganplay_train_sets_torchs_threads(tmp_path) -> None:
    auto = _train(tmp_path)
    assert auto.returncode == 0, auto.stderr
    assert "training on cpu with 1 torch thread (auto)" in auto.stderr
    flag = _train(tmp_path, "--threads", "3")
    assert flag.returncode == 0, flag.stderr
    assert "with 3 torch threads (train.threads)" in flag.stderr
    assert "threads = 3" in (tmp_path / "r2" / "config.toml").read_text()
    bad = _train(tmp_path, "--set", "train.threads=-2")
    assert bad.returncode == 2 and "train.threads" in bad.stderr


def test_train_in_process_reports_what_torch_has(tmp_path, capsys) -> None:
    from ganplay.cli import main

    torch.set_num_threads(2)
    assert main(["train", "--steps", "1", "-o", str(tmp_path / "r"), "--set", "train.eval_every=0",
                 *sum((["--set", s] for s in SMALL), [])]) == 0
    assert torch.get_num_threads() == 1 and "with 1 torch thread (auto)" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "r"), "--steps", "1", "--threads", "2", "-q"]) == 0
    assert torch.get_num_threads() == 2


def test_the_window_loop_fits_threads_to_what_it_trains() -> None:
    from ganplay.live import protocol as P
    from ganplay.live.command_loop import default_threads
    from ganplay.live.loop import TrainLoop

    cfg = apply_overrides(Config(), SMALL + ["train.threads=2"])
    inbox: queue.Queue = queue.Queue()
    events: list = []
    loop = TrainLoop(inbox, lambda f: None, events.append, stopped=lambda: inbox.empty())
    assert loop.torch_threads == default_threads()
    seen: list[int] = []
    inbox.put(P.Echo(P.Pong("a")))
    inbox.put(P.SetField("train.threads", 0))
    inbox.put(P.Echo(P.Pong("b")))
    real_dispatch = loop.dispatch

    def dispatch(cmd):
        real_dispatch(cmd)
        seen.append(torch.get_num_threads())

    loop.dispatch = dispatch
    loop.run(P.Reset(cfg))
    assert seen[:2] == [2, 2]          # Reset with train.threads = 2, then a command that changes nothing
    assert seen[2:] == [1, 1]          # back to auto: one thread for this MLP
    # a loop given its threads keeps them
    fixed = TrainLoop(queue.Queue(), lambda f: None, events.append, stopped=lambda: True, torch_threads=1)
    fixed.run(P.Reset(cfg))
    assert torch.get_num_threads() == 1


# ---------------------------------------------------------------------- comparisons
def test_choose_workers() -> None:
    cfgs = [_preset(p) for p in ("vanilla", "stable", "wgan-gp", "lsgan")]
    assert choose_workers(cfgs, None, cores=1) == 0          # one core: all in this process
    assert choose_workers(cfgs, None, cores=2) == 2
    assert choose_workers(cfgs, None, cores=16) == 4         # at most one per member
    assert choose_workers(cfgs, 300, cores=2) == 0           # would save less than starting workers costs
    assert choose_workers(cfgs, 2000, cores=2) == 2          # the default length
    alone, spread = plan_seconds(cfgs, 300, 2)
    assert 6 < alone < 9 and 4 < spread < 6                  # measured quiet: 8.0 s and 5.2 s
    assert choose_workers(cfgs[:1], None, cores=2) == 0
    cfgs[0].train.threads = 2
    assert choose_workers(cfgs, None, cores=2) == 0          # the user chose threads: keep them


def test_plans_split_groups_to_even_the_workers_loads() -> None:
    same = [apply_overrides(Config(), SMALL + [f"loss.name={n}"]) for n in
            ("ns", "hinge", "lsgan", "minimax", "ns", "hinge", "lsgan", "minimax")]
    assert plan_units(same) == [list(range(8))]
    assert plan_units(same, workers=2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert plan_units(same, batch=False, workers=2) == [[i] for i in range(8)]
    default = [apply_overrides(Config(), ["train.device=cpu", f"loss.name={c.loss.name}"]) for c in same]
    assert choose_workers(default, 1000, cores=2) == 2       # 8 batched: ~15 s alone, ~8 s in two
    assert choose_workers(default, 200, cores=2) == 0
    four = [_preset(p) for p in ("vanilla", "stable", "wgan-gp", "lsgan")]
    units = plan_units(four, workers=2)
    assert units == [[0], [1], [2], [3]]
    costs = [step_cost(c) for c in four]
    assert costs[2] == max(costs)                               # wgan-gp: 5 critic steps with a penalty
    assert assign_units(units, costs, 2) == [[2], [0, 1, 3]]    # it gets a worker of its own


@pytest.mark.timeout(300)
def test_parallel_compare_equals_the_same_plan_in_this_process() -> None:
    torch.set_num_threads(1)
    cfgs = [apply_overrides(Config(), SMALL + v) for v in (
        [], ["loss.name=hinge"], ["loss.name=lsgan", "train.ema=0.99"], ["loss.name=hinge", "model.spectral_norm=true"],
        ["loss.name=wgan-gp", "train.d_steps=2"], ["train.unrolled=2", "train.seed=4"])]
    with Population(cfgs, device="cpu", workers=2) as par:
        seq = Population(cfgs, device="cpu", workers=2, in_process=True)
        assert par.workers == 2 and seq.workers == 0 and par.units == seq.units
        assert par.plan()[-1] == "in 2 worker processes of 1 thread each"
        assert [m.batched for m in par.members] == [m.batched for m in seq.members]
        for _ in range(3):   # lockstep steps, as the compare window takes them
            a, b = par.step(), seq.step()
            assert [s.as_dict() for s in a] == [s.as_dict() for s in b]
        assert par.run(12) == seq.run(12) == 12   # chunks, as `ganplay compare` runs them
        # the compare window: a chunk asked for, the members' last pulled views read meanwhile
        assert par.member_trainer(0, weights_only=True).step_count == 15
        par.start_run(2)
        par.start_pull()                       # the weights after those 2 steps, behind them
        par.start_run(3)                       # queued too: no wait between the chunks
        assert par.in_flight == 3 and par.chunks_in_flight == 2 and par.pull_in_flight
        assert par.member_view(0).step_count == 15   # the workers are not asked meanwhile
        assert par.finish_run() == 2 and par.step_count == 17
        assert par.finish_run() == -1 and par.member_view(0).step_count == 17   # the pull, in its turn
        assert par.drain() == 3 and par.in_flight == 0 and not par.pull_in_flight
        assert seq.run(5) == 5
        assert par.step_count == seq.step_count == 20
        for i in range(len(cfgs)):
            view = par.member_trainer(i, weights_only=True)
            assert view.step_count == 20
            ca, sa = par.member_state(i)
            _, sb = seq.member_state(i)
            assert sa["step"] == sb["step"] == 20 and torch.equal(sa["rng"], sb["rng"])
            for net in ("G", "D", "G_ema"):
                if net in sb:
                    assert all(torch.equal(sa[net][k], sb[net][k]) for k in sb[net]), (i, net)
            assert sa["opt_d"]["state"].keys() == sb["opt_d"]["state"].keys()
        rows_a, rows_b = par.evaluate(n=300), seq.evaluate(n=300)
        assert rows_a == rows_b
        procs = list(par._pool.procs)
    assert par.workers == 0 and all(p.returncode is not None for p in procs)   # closed with the block


@pytest.mark.timeout(300)
def test_compare_cli_with_workers_prints_the_same_ranking(capsys) -> None:
    from ganplay.cli import main

    args = ["compare", "--presets", "vanilla,lsgan,wgan-gp", "--steps", "12", "-n", "300",
            *sum((["--set", s] for s in SMALL), [])]
    assert main(args + ["--workers", "0"]) == 0
    one = capsys.readouterr()
    assert main(args + ["--workers", "2"]) == 0
    two = capsys.readouterr()
    assert one.out == two.out
    assert "in 2 worker processes" in two.err and "worker processes" not in one.err
    assert main(args + ["--workers", "-1"]) == 2


# ---------------------------------------------------------------------- the bench
@pytest.mark.timeout(300)
def test_contention_bench_runs_and_reports() -> None:
    spec = importlib.util.spec_from_file_location("bench_contention", ROOT / "bench" / "contention.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.run(["ganlab"], ["before", "after"], [0, 1], rounds=1, seconds=0.05, log=lambda s: None)
    assert res["info"]["after"]["ganlab"]["threads"] == 1
    for v in ("before", "after"):
        for level in (0, 1):
            (rate,) = res["rates"][("ganlab", v, level)]
            assert rate > 0
    table = bench.report(res, ["ganlab"], ["before", "after"], [0, 1])
    assert "ganlab" in table and "x quiet, 1 busy" in table
