"""Compare mode engine: a batched population trains exactly like its members trained alone."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ganplay.engine.compare_batched import BatchedGroup, batch_key
from ganplay.engine.config import Config, ConfigError, apply_overrides
from ganplay.engine.population import (
    Population, comparison_records, default_labels, format_table, parse_vary, preset_configs,
    ranking, to_csv, to_json, variations,
)
from ganplay.engine.trainer import Trainer, TrainingDiverged

# Small nets keep the file fast; the shapes are shared so all k = 1 members form one group.
SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64"]
STEPS = 50
# Tolerances over STEPS steps. The update is the Trainer's own code (trainer.d_update /
# g_update, torch.optim on row views of the stacked weights), so the only difference left is
# bmm vs addmm rounding (~1 ulp per step; measured worst: 1.5e-7 on the statistics, 6e-8 on
# the weights). With spectral norm sigma = u.(Wv) is also summed in another order than
# torch.vdot, and Adam's g/sqrt(v) can turn such 1e-7 differences into larger ones on weights
# whose gradient is ~0 (measured: 1e-6), so SN members get a looser bound.
TOL_LOSS, TOL_W = 2e-6, 2e-6
TOL_LOSS_SN, TOL_W_SN = 1e-4, 1e-4

VARIANTS = [
    [],
    ["loss.name=hinge"],
    ["loss.name=hinge", "model.spectral_norm=true", "train.lr_d=4e-4"],
    ["loss.name=lsgan", "loss.real_label=0.9"],
    ["loss.name=minimax", "train.seed=3", "model.init=orthogonal"],
    ["loss.r1=0.1", "train.ema=0.99", "loss.gp=1.0"],
    ["loss.name=wgan-gp", "train.d_steps=3", "train.lr_d=1e-4"],
    ["loss.name=wgan", "train.d_steps=3", "loss.clip=0.05"],
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # Small ops on a shared 2-core box: a second OpenMP thread only waits at barriers.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cfg(extra: list[str]) -> Config:
    return apply_overrides(Config(), SMALL + extra).validate()


def _rel(a: float, b: float) -> float:
    return abs(a - b) / (1.0 + abs(a))


def _max_weight_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    return max(float((sa[k] - sb[k]).abs().max()) for k in sa)


@pytest.fixture(scope="module")
def trained() -> tuple[Population, list[Trainer], list[list], list[list]]:
    cfgs = [_cfg(v) for v in VARIANTS]
    pop = Population(cfgs, [" ".join(v) or "ns" for v in VARIANTS], device="cpu")
    solo = [Trainer(c, device="cpu") for c in cfgs]
    hist_pop, hist_solo = [], []
    for _ in range(STEPS):
        hist_pop.append(pop.step())
        hist_solo.append([t.step() for t in solo])
    return pop, solo, hist_pop, hist_solo


def test_all_variants_are_batched(trained) -> None:
    pop, *_ = trained
    assert all(m.batched for m in pop.members)
    assert len(pop.groups) == 2   # k = 1 and k = 3 form separate groups


def test_batched_losses_equal_one_by_one(trained) -> None:
    pop, _, hist_pop, hist_solo = trained
    for i, m in enumerate(pop.members):
        tol = TOL_LOSS_SN if m.cfg.model.spectral_norm else TOL_LOSS
        worst = 0.0
        for row_p, row_s in zip(hist_pop, hist_solo):
            a, b = row_s[i], row_p[i]
            assert b is not None and a.step == b.step
            for f in ("loss_d", "loss_g", "d_real", "d_fake", "grad_d", "grad_g", "jsd"):
                worst = max(worst, _rel(getattr(a, f), getattr(b, f)))
        assert worst < tol, f"{m.label}: worst relative difference {worst:.2e}"


def _max_state_diff(a: dict, b: dict) -> float:
    """Largest difference between two optimiser state_dicts (the same keys and step counts)."""
    assert a["state"].keys() == b["state"].keys()
    worst = 0.0
    for k, st in a["state"].items():
        assert st.keys() == b["state"][k].keys()
        for name, v in st.items():
            w = b["state"][k][name]
            if name == "step":
                assert float(v) == float(w)
            elif torch.is_tensor(v):
                worst = max(worst, float((v - w).abs().max()))
    assert a["param_groups"] == b["param_groups"]
    return worst


def test_batched_state_equals_one_by_one(trained) -> None:
    pop, solo, *_ = trained
    for i, (m, t) in enumerate(zip(pop.members, solo)):
        tol = TOL_W_SN if m.cfg.model.spectral_norm else TOL_W
        view = pop.member_trainer(i)
        assert view.step_count == t.step_count == STEPS
        assert _max_weight_diff(t.G, view.G) < tol
        assert _max_weight_diff(t.D, view.D) < tol
        if t.G_ema is not None:
            assert _max_weight_diff(t.G_ema, view.G_ema) < tol
        assert torch.equal(t.gen.get_state(), view.gen.get_state())   # same data stream position
        # torch.optim's own state (moments, step counts, lr and betas of the member)
        assert _max_state_diff(t.opt_d.state_dict(), view.opt_d.state_dict()) < tol
        assert _max_state_diff(t.opt_g.state_dict(), view.opt_g.state_dict()) < tol


def test_member_state_continues_like_the_solo_trainer(trained) -> None:
    pop, solo, *_ = trained
    i = 3   # lsgan with label smoothing, Adam state mid-run
    cfg, sd = pop.member_state(i)
    fresh = Trainer(cfg, device="cpu")
    fresh.load_state_dict(sd)
    ref = Trainer(solo[i].cfg, device="cpu")
    ref.load_state_dict(solo[i].state_dict())
    for _ in range(3):
        a, b = ref.step(), fresh.step()
        assert _rel(a.loss_d, b.loss_d) < TOL_LOSS and _rel(a.loss_g, b.loss_g) < TOL_LOSS


@pytest.mark.parametrize("opt, momenta", [("sgd", (0.0, 0.5)), ("rmsprop", (0.0, 0.3))])
def test_groups_split_by_k_and_other_optimisers_are_exact(opt: str, momenta: tuple[float, float]) -> None:
    # Members with different k form different groups; inside a group, members with different
    # momenta (and lrs) get one torch optimiser per run of equal hyperparameters.
    extra = [f"train.opt_d={opt}", f"train.opt_g={opt}"]
    cfgs = [_cfg(extra + [f"train.momentum={momenta[0]}"]),
            _cfg(extra + [f"train.momentum={momenta[1]}", "loss.name=hinge", "train.lr_d=1e-3"]),
            _cfg(extra + [f"train.momentum={momenta[1]}", "loss.name=wgan-gp", "train.d_steps=3"]),
            _cfg(extra + [f"train.momentum={momenta[0]}", "train.d_steps=3", "loss.r1=0.1"])]
    pop = Population(cfgs, ["a", "b", "c", "d"], device="cpu")
    assert pop.plan() == ["batched (2): a, b", "batched (2): c, d"]
    solo = [Trainer(c, device="cpu") for c in cfgs]
    for _ in range(20):
        got = pop.step()
        for t, g in zip(solo, got):
            s = t.step()
            assert _rel(s.loss_d, g.loss_d) < TOL_LOSS and _rel(s.loss_g, g.loss_g) < TOL_LOSS
    for i, t in enumerate(solo):
        view = pop.member_trainer(i)
        assert _max_weight_diff(t.D, view.D) < TOL_W
        assert _max_state_diff(t.opt_d.state_dict(), view.opt_d.state_dict()) < TOL_W


def test_a_group_needs_one_k() -> None:
    with pytest.raises(ValueError, match="and k"):
        BatchedGroup([Trainer(_cfg([]), device="cpu"), Trainer(_cfg(["train.d_steps=2"]), device="cpu")])


def test_divergence_stops_only_that_member() -> None:
    cfgs = [_cfg([]), _cfg(["loss.name=hinge"]), _cfg(["loss.name=lsgan", "train.ema=0.9"])]
    pop = Population(cfgs, ["a", "b", "c"], device="cpu")
    solo = [Trainer(c, device="cpu") for c in cfgs]
    pop.step()
    for t in solo:
        t.step()
    grp = pop.groups[0]
    before = pop.member_trainer(1).G.state_dict()
    with torch.no_grad():
        grp.D.params[0][1].fill_(float("nan"))    # poison member b's discriminator
    out = pop.step()
    assert out[0] is not None and out[2] is not None and out[1] is None
    assert "discriminator loss became nan" in pop.members[1].stopped
    after = pop.member_trainer(1)
    assert after.step_count == 1                  # the failed step was not counted
    assert all(torch.equal(before[k], v) for k, v in after.G.state_dict().items())
    assert grp.rows == [0, 2]                     # the others were restacked without it
    for _ in range(5):
        out = pop.step()
    assert out[1] is None and out[0].step == 7 and out[2].step == 7
    # the survivors train on exactly as they would alone, through the restack
    for i in (0, 2):
        for _ in range(6):
            s = solo[i].step()
        assert _rel(s.loss_d, out[i].loss_d) < TOL_LOSS and _rel(s.loss_g, out[i].loss_g) < TOL_LOSS
        view = pop.member_trainer(i)
        assert _max_weight_diff(solo[i].D, view.D) < TOL_W
        assert _max_weight_diff(solo[i].G_ema or solo[i].G, view.G_ema or view.G) < TOL_W
        assert torch.equal(solo[i].gen.get_state(), view.gen.get_state())


def test_divergence_message_is_the_trainers() -> None:
    # A member that diverges by itself stops at the same step with the Trainer's own message.
    bad = ["loss.name=ml", "train.lr_g=10", "train.lr_d=10", "train.opt_d=sgd", "train.opt_g=sgd",
           "train.momentum=0"]
    cfgs = [_cfg(bad), _cfg(bad + ["loss.name=ns", "train.lr_g=1e-3", "train.lr_d=1e-3"])]
    pop = Population(cfgs, ["ml", "ns"], device="cpu")
    alone = Trainer(cfgs[0], device="cpu")
    with pytest.raises(TrainingDiverged) as exc:
        for _ in range(200):
            alone.step()
    for _ in range(alone.step_count + 1):
        pop.step()
    assert pop.members[0].stopped == str(exc.value)
    assert pop.members[1].stopped is None and pop.member_trainer(1).step_count == alone.step_count + 1


def test_unbatchable_configs_train_alone() -> None:
    cfgs = [_cfg([]), _cfg(["loss.name=lsgan"]), _cfg(["train.unrolled=2"]), _cfg(["model.g_width=8"])]
    assert batch_key(cfgs[2]) is None            # unrolled GANs need their own trainer
    pop = Population(cfgs, ["ns", "lsgan", "unrolled", "narrow"], device="cpu")
    assert [m.batched for m in pop.members] == [True, True, False, False]
    assert pop.plan() == ["batched (2): ns, lsgan", "one by one: unrolled, narrow"]
    out = pop.step()
    assert [s.step for s in out] == [1, 1, 1, 1]


def test_preset_configs_apply_the_recipe_then_the_overrides() -> None:
    from ganplay.engine.config import to_dict
    from ganplay.engine.presets import apply_preset, preset_names

    names = preset_names()[:3]
    base = _cfg(["data.name=grid"])
    cfgs, labels = preset_configs(names, base, ["train.batch_size=64", "train.steps=7"])
    assert labels == names
    for name, c in zip(names, cfgs):
        want = apply_preset(name, base)
        want.train.batch_size, want.train.steps = 64, 7
        assert to_dict(c) == to_dict(want) and c.data.name == "grid"


def test_variations_and_vary_parsing() -> None:
    base = _cfg([])
    cfgs, labels = variations(base, "spectral_norm")
    assert [c.model.spectral_norm for c in cfgs] == [False, True]
    assert labels == ["sn=False", "sn=True"] or labels == ["spectral_norm=False", "spectral_norm=True"]
    cfgs, labels = variations(base, "k")
    assert [c.train.d_steps for c in cfgs] == [1, 5] and labels == ["k=1", "k=5"]
    cfgs, _ = variations(base, "unrolled")
    assert [c.train.unrolled for c in cfgs] == [0, 5]
    cfgs, labels = variations(base, ("loss.name", ["ns", "wgan-gp", "lsgan"]))
    assert [c.loss.name for c in cfgs] == ["ns", "wgan-gp", "lsgan"]
    assert parse_vary("loss=ns,hinge") == ("loss.name", ["ns", "hinge"])
    assert parse_vary("train.lr_g=1e-3,2e-4")[0] == "train.lr_g"
    with pytest.raises(ConfigError, match="loss.name"):
        parse_vary("loss=ns,nonsense")
    with pytest.raises(ConfigError, match="at least two"):
        parse_vary("k=1")
    assert default_labels([base, _cfg(["loss.name=hinge"])]) == ["loss=ns", "loss=hinge"]


def test_ranking_table_and_export(trained) -> None:
    pop, *_ = trained
    rows = pop.evaluate(n=400)
    assert [r["label"] for r in rows] == pop.labels
    ranked = ranking(rows)
    assert sorted(r["rank"] for r in ranked) == list(range(1, len(rows) + 1))
    covered = [r["modes_covered"] for r in ranked]
    assert covered == sorted(covered, reverse=True)
    table = format_table(ranked)
    for lab in pop.labels:
        assert lab in table
    assert table.splitlines()[0].split()[:4] == ["#", "config", "modes", "HQ"]
    rec = comparison_records(pop.labels, pop.configs, ranked)
    data = json.loads(to_json(rec))
    assert data["members"][0]["label"] == ranked[0]["label"]
    assert data["members"][0]["config"]["loss"]["name"] in ("ns", "hinge", "lsgan", "minimax", "wgan-gp", "wgan")
    lines = to_csv(rec).splitlines()
    assert len(lines) == len(rows) + 1 and "loss.name" in lines[0].split(",")
    w1 = float(lines[1].split(",")[lines[0].split(",").index("w1")])
    assert math.isclose(w1, ranked[0]["w1"], rel_tol=1e-9)


def test_population_limits() -> None:
    with pytest.raises(ConfigError, match="at most 8"):
        Population([_cfg([])] * 9)
    with pytest.raises(ConfigError, match="at least one"):
        Population([])
    assert np.isfinite(Population([_cfg([])], device="cpu").step()[0].loss_d)
