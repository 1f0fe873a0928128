"""model.data_norm (G draws and D reads in units of the data's spread) and train.steps_per_mode:
what they compute, and that every copy of a generator (EMA, state dict, bundle, batched compare
member) carries the data's units."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganplay.engine.config import Config, DataConfig, apply_overrides
from ganplay.engine.data import make_data
from ganplay.engine.models import DataUnits
from ganplay.engine.presets import apply_preset
from ganplay.engine.trainer import (
    MIN_PACKS, NARROW_MAX, Trainer, batch_at, budget_note, discriminator_width, late_start, many_modes_batch,
    mode_scale, narrow_factor, pack_size, resolve_budget, resolve_for_data, step_budget,
)

SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=64"]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cfg(*extra: str, preset: str = "stable") -> Config:
    return apply_overrides(apply_preset(preset), SMALL + list(extra)).validate()


@pytest.mark.parametrize("fields, centre, scale", [
    ({"name": "ring"}, (0.0, 0.0), 1.0),                       # the unit ring keeps its units
    ({"name": "ring", "radius": 5.0}, (0.0, 0.0), 5.0),
    ({"name": "grid"}, (0.0, 0.0), 4.0),                       # 5x5, spacing 2: sqrt(2 * 8)
    ({"name": "grid", "grid_n": 7}, (0.0, 0.0), np.sqrt(32.0)),
    ({"name": "grid", "grid_n": 3, "spacing": 4.0}, (0.0, 0.0), np.sqrt(2 * 32 / 3)),
])
def test_a_mixtures_spread_is_its_modes_mean_and_rms_distance(fields, centre, scale) -> None:
    c, s = make_data(DataConfig(**fields)).spread()
    np.testing.assert_allclose(c, centre, atol=1e-12)
    assert s == pytest.approx(scale, rel=1e-12)


def test_other_data_take_their_spread_from_samples() -> None:
    data = make_data(DataConfig(name="spiral"))
    c, s = data.spread()
    x = data.sample_numpy(100_000, seed=5)
    np.testing.assert_allclose(c, x.mean(0), atol=0.02)
    assert s == pytest.approx(np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean()), rel=0.02)
    assert data.spread()[1] == s   # seeded: the same units every time


def test_g_draws_and_d_reads_in_the_datas_units() -> None:
    t = Trainer(_cfg("data.name=grid", "data.spacing=4.0"), device="cpu")   # spread 8
    assert float(t.G.units.scale) == 8.0 and float(t.D.units.scale) == 8.0
    z = torch.randn(16, t.cfg.model.latent_dim)
    x = torch.randn(16, 2) * 3
    with torch.no_grad():
        assert torch.allclose(t.G(z), 8.0 * t.G.net(z))
        packed = (x / 8.0).reshape(8, -1)
        assert torch.allclose(t.D(x), t.D.net(packed).squeeze(-1))
    off = Trainer(_cfg("data.name=grid", "data.spacing=4.0", "model.data_norm=false"), device="cpu")
    assert off.G.units is None and off.D.units is None
    assert "units.scale" not in off.G.state_dict()


def test_the_units_travel_with_every_copy_of_g(tmp_path) -> None:
    from ganplay.engine.export import export_bundle, load_bundle
    from ganplay.engine.snapshot import snapshot_generator

    t = Trainer(_cfg("data.name=grid", "data.grid_n=3", "data.spacing=3.0"), device="cpu")
    for _ in range(5):
        t.step()
    assert float(t.G_ema.units.scale) == float(t.G.units.scale) > 2
    sd = t.state_dict()
    fresh = Trainer(t.cfg, device="cpu")
    fresh.load_state_dict(sd)
    z = np.random.default_rng(0).standard_normal((64, t.cfg.model.latent_dim)).astype(np.float32)
    np.testing.assert_array_equal(fresh.generate(z), t.generate(z))
    snap = load_bundle(export_bundle(t, tmp_path / "g.ganplay"))
    with torch.no_grad():
        got = snap.module(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(got, t.generate(z), atol=1e-6)
    assert snapshot_generator(t).module.units is not None


def _side_by_side(cfgs: list[Config], steps: int) -> tuple[object, list[Trainer]]:
    """The configs as one batched Population and as solo Trainers, ``steps`` steps each; the
    losses must agree at every step (the bmm vs addmm rounding aside)."""
    from ganplay.engine.population import Population

    pop = Population(cfgs, [str(i) for i in range(len(cfgs))], device="cpu")
    assert all(m.batched for m in pop.members)
    solo = [Trainer(c, device="cpu") for c in cfgs]
    for _ in range(steps):
        for t, g in zip(solo, pop.step()):
            s = t.step()
            assert abs(s.loss_d - g.loss_d) < 2e-6 * (1 + abs(s.loss_d))
            assert abs(s.loss_g - g.loss_g) < 2e-6 * (1 + abs(s.loss_g))
    return pop, solo


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_batched_members_with_data_units_train_like_their_trainers() -> None:
    grid = ["data.name=grid", "data.spacing=4.0", "data.std=0.1", "train.ema=0.9"]   # not narrow: one batch
    pop, solo = _side_by_side([_cfg(*grid), _cfg(*grid, "train.seed=3", "loss.r1=0.1")], 20)
    for i, t in enumerate(solo):
        view = pop.member_trainer(i)
        assert isinstance(view.G.units, DataUnits)
        assert _max_diff(t.G_ema, view.G_ema) < 2e-6


def test_members_with_and_without_data_units_are_not_stacked_together() -> None:
    from ganplay.engine.compare_batched import batch_key

    on, off = _cfg("data.name=grid"), _cfg("data.name=grid", "model.data_norm=false")
    assert batch_key(on) != batch_key(off)


def test_members_are_keyed_by_what_their_trainers_resolve() -> None:
    """A Population stacks members by the sizes their Trainers resolve for the data: stable and
    stable without train.many_modes on the 7x7 grid (D 64 and pack 4 at 1,024 against D 32, pack 2
    at 64) once shared a key and the group refused them with a ValueError."""
    from ganplay.engine.compare_batched import batch_key
    from ganplay.engine.population import Population

    seven = ["data.name=grid", "data.grid_n=7", "data.std=0.1", "model.g_width=16", "model.d_width=16"]
    on, off = _cfg(*seven), _cfg(*seven, "train.many_modes=0", "train.seed=1")
    assert None not in (batch_key(on), batch_key(off)) and batch_key(on) != batch_key(off)
    narrow = ["data.name=ring", "data.std=0.005", "model.g_width=16", "model.d_width=16"]
    assert batch_key(_cfg(*narrow)) is None       # its batch grows half-way: a group takes one batch
    assert batch_key(_cfg(*narrow, "train.narrow_width=0")) is not None
    with Population([on, off], ["on", "off"], device="cpu") as pop:
        assert [m.batched for m in pop.members] == [False, False]
        pop.step()


def test_the_step_budget_grows_with_the_modes() -> None:
    assert Trainer(_cfg("data.name=ring"), device="cpu").cfg.train.steps == 20_000   # 8 x 800 < 20,000
    assert Trainer(_cfg("data.name=grid"), device="cpu").cfg.train.steps == 20_000   # 25 x 800
    seven = Trainer(_cfg("data.name=grid", "data.grid_n=7", "data.std=0.1"), device="cpu")   # not narrow
    assert seven.cfg.train.steps == 49 * 800
    assert step_budget(seven.cfg.train, 49) == seven.cfg.train.steps   # a resolved config stays put
    assert Trainer(_cfg("data.name=spiral"), device="cpu").cfg.train.steps == 20_000  # no modes: the floor
    explicit = _cfg("data.name=grid", "data.grid_n=7", "train.steps_per_mode=0", "train.steps=300")
    assert Trainer(explicit, device="cpu").cfg.train.steps == 300


def test_cli_steps_is_the_budget(tmp_path) -> None:
    from ganplay.cli import main

    out = tmp_path / "run"
    assert main(["train", "--preset", "stable", "--set", "data.name=grid", "--set", "data.grid_n=7",
                 "--set", "model.g_width=16", "--set", "model.d_width=16", "--steps", "30",
                 "--out", str(out), "--quiet"]) == 0
    from ganplay.engine.runs import load_run

    trainer, _ = load_run(out)
    assert trainer.step_count == 30 and trainer.cfg.train.steps == 30


def test_images_and_bigan_ignore_data_norm() -> None:
    from ganplay.engine.models import MLPDiscriminator, MLPGenerator

    mc = Config().model
    mc.data_norm = True
    assert MLPGenerator(mc, 784, out_tanh=True).units is None
    mc.bigan = True
    assert MLPGenerator(mc, 2).units is None and MLPDiscriminator(mc, 4).units is None


# ---------------------------------------------------------------------- train.narrow_width
@pytest.mark.parametrize("fields, width", [
    ({"name": "ring", "std": 0.01}, 0.01),                             # the protocol's ring
    ({"name": "ring", "radius": 5.0, "std": 0.005}, 0.001),
    ({"name": "grid"}, 0.05 / 4.0),                                    # the protocol's grid
    ({"name": "grid", "grid_n": 7, "spacing": 4.0, "std": 0.01}, 0.01 / (4.0 * np.sqrt(8.0))),
    ({"name": "spiral"}, None),                                        # no Gaussian modes
])
def test_relative_width_is_the_mode_std_over_the_spread(fields, width) -> None:
    got = make_data(DataConfig(**fields)).relative_width
    assert got == pytest.approx(width, rel=1e-9) if width is not None else got is None


def test_narrow_factor_is_the_ratio_clamped_to_one_and_the_cap() -> None:
    tc = Config().train
    assert narrow_factor(tc, 0.001) == 1.0                 # off by default
    tc.narrow_width = 0.01
    assert narrow_factor(tc, 0.02) == 1.0 and narrow_factor(tc, None) == 1.0
    assert narrow_factor(tc, 0.005) == pytest.approx(2.0)
    assert narrow_factor(tc, 0.0001) == NARROW_MAX


def _resolved(*extra: str) -> tuple[int, int, int]:
    """(batch, late batch, steps) of stable (small networks) on the data."""
    cfg = apply_overrides(apply_preset("stable"), ["model.g_width=16", "model.d_width=16", *extra]).validate()
    t = Trainer(cfg, device="cpu")
    again = Trainer(t.cfg, device="cpu")             # a session or checkpoint rebuilds from the resolved config
    assert t.cfg.train.narrow_width == 0.0
    tc = again.cfg.train
    assert (tc.batch_size, tc.late_batch_size, tc.steps) == (
        t.cfg.train.batch_size, t.cfg.train.late_batch_size, t.cfg.train.steps)
    return t.cfg.train.batch_size, t.cfg.train.late_batch_size, t.cfg.train.steps


def test_narrow_modes_get_a_larger_batch_from_half_way_and_a_longer_budget() -> None:
    assert _resolved("data.name=ring") == (256, 0, 20_000)                 # the protocol: unchanged
    assert _resolved("data.name=grid") == (256, 0, 20_000)
    assert _resolved("data.name=spiral") == (256, 0, 20_000)
    assert _resolved("data.name=ring", "data.radius=2.0", "data.std=0.005") == (256, 1024, 40_000)   # 4x: the cap
    # 10x: narrower than the capped batch makes up for, so the batch grows from the start, and the
    # base budget by the square root of the whole ratio: sqrt(10) x 20,000
    assert _resolved("data.name=ring", "data.radius=5.0", "data.std=0.005") == (1024, 0, 63_200)
    assert _resolved("data.name=grid", "data.spacing=4", "data.std=0.01") == (1024, 0, 56_600)    # 8x
    assert _resolved("data.name=ring", "data.radius=5.0", "data.std=0.0005") == (1024, 0, 80_000)  # 100x: 4x at most
    assert _resolved("data.name=ring", "data.std=0.005") == (256, 512, 28_300)    # 2x: sqrt(2) x 20,000
    b, late, steps = _resolved("data.name=grid", "data.std=0.035")   # 0.00875: a little
    assert (b, late, steps) == (256, 288, 21_400) and late % 2 == 0       # a multiple of the pack
    # an explicit budget stays the budget; the batch still grows
    assert _resolved("data.name=ring", "data.std=0.005", "train.steps_per_mode=0", "train.steps=300") == (256, 512, 300)
    assert _resolved("data.name=ring", "data.std=0.005", "train.narrow_width=0") == (256, 0, 20_000)
    # without a rate decay there is no half-way: the larger batch from the start
    assert _resolved("data.name=ring", "data.std=0.005", "train.lr_decay_from=1") == (512, 0, 28_300)


def test_modes_narrower_than_the_capped_batch_makes_up_for_draw_it_from_the_start() -> None:
    cfg = apply_overrides(apply_preset("stable"), [
        "model.g_width=16", "model.d_width=16", "data.name=ring", "data.radius=5.0", "data.std=0.005",
        "train.steps_per_mode=0", "train.steps=10"]).validate()
    t = Trainer(cfg, device="cpu")
    assert (t.cfg.train.batch_size, t.cfg.train.late_batch_size) == (1024, 0)
    assert "train.batch_size 256 -> 1,024 for this data" in t.budget_note and "from step" not in t.budget_note
    assert t.d_draws()[0].shape[0] == 1024


def test_the_note_puts_the_late_batch_on_the_batchs_own_entry() -> None:
    asked = apply_preset("stable")
    asked.train.steps, asked.train.lr_decay_from = 1000, 0.5
    resolved = asked.copy()
    resolved.train.batch_size, resolved.train.late_batch_size, resolved.train.pack = 512, 1024, 4
    note = budget_note(asked, resolved, ("train.narrow_width",))   # steps unchanged, the pack grown
    assert note == ("train.batch_size 256 -> 512, then 1,024 from step 500 and train.pack 2 -> 4 "
                    "for this data (train.narrow_width)")
    resolved.train.batch_size, resolved.train.pack = 256, 2
    assert budget_note(asked, resolved, ()).startswith("train.batch_size 256 -> 1,024 from step 500 for")


def test_the_late_batch_starts_where_the_rates_start_to_fall() -> None:
    tc = Config().train
    tc.steps, tc.lr_decay_from, tc.batch_size = 1000, 0.5, 64
    assert [batch_at(tc, s) for s in (0, 499, 500, 999, 5000)] == [64] * 5      # none set
    tc.late_batch_size = 256
    assert late_start(tc) == 500
    assert [batch_at(tc, s) for s in (0, 499, 500, 999, 5000)] == [64, 64, 256, 256, 256]


def test_a_trainer_draws_the_late_batch_from_half_way_and_a_users_batch_cancels_it() -> None:
    cfg = apply_overrides(apply_preset("stable"), [
        "model.g_width=16", "model.d_width=16", "data.name=ring", "data.std=0.005", "train.steps_per_mode=0",
        "train.steps=10"]).validate()
    t = Trainer(cfg, device="cpu")
    assert (t.cfg.train.batch_size, t.cfg.train.late_batch_size) == (256, 512)
    assert "train.batch_size 256 -> 512 from step 5" in t.budget_note and "train.narrow_width" in t.budget_note
    seen = []
    for _ in range(10):
        seen.append(t.d_draws()[0].shape[0])
        t.step()
    assert seen == [256] * 5 + [512] * 5
    u = Trainer(cfg, device="cpu")
    u.set("train.batch_size", 128)                  # the user's batch wins from now on
    assert u.cfg.train.late_batch_size == 0
    for _ in range(6):
        u.step()
    assert u.d_draws()[0].shape[0] == 128


def test_the_late_batch_is_checked_like_the_batch() -> None:
    from ganplay.engine.config import ConfigError
    from ganplay.engine.memory_estimate import estimate

    with pytest.raises(ConfigError, match="late_batch_size"):
        apply_overrides(apply_preset("stable"), ["train.late_batch_size=513"]).validate()   # pack 2
    small = apply_overrides(apply_preset("stable"), ["train.batch_size=64"]).validate()
    late = apply_overrides(apply_preset("stable"), ["train.batch_size=64", "train.late_batch_size=4096"]).validate()
    big = apply_overrides(apply_preset("stable"), ["train.batch_size=4096"]).validate()
    assert estimate(late).total == estimate(big).total > estimate(small).total    # its peak is the larger batch


# ---------------------------------------------------------------------- train.many_modes
def test_mode_scale_doubles_for_each_doubling_of_the_modes() -> None:
    tc = Config().train
    assert mode_scale(tc, 49) == 1                                  # off by default
    tc.many_modes = 25
    assert [mode_scale(tc, k) for k in (0, 8, 25, 26, 49, 50, 51, 100, 101)] == [1, 1, 1, 2, 2, 2, 4, 4, 8]


def test_d_width_and_pack_scale_with_the_modes() -> None:
    cfg = Config()
    cfg.train.many_modes, cfg.train.pack, cfg.train.batch_size = 25, 2, 1024
    assert discriminator_width(cfg, 49) == 2 * cfg.model.d_width and discriminator_width(cfg, 25) == cfg.model.d_width
    cfg.model.d_width = 32                                          # a user's width is scaled, not replaced
    assert discriminator_width(cfg, 49) == 64 and discriminator_width(cfg, 8) == 32
    cfg.model.d_width = 4000
    assert discriminator_width(cfg, 49) == 4096                     # the limit
    tc = cfg.train
    assert pack_size(tc, 49) == 4 and pack_size(tc, 25) == 2 and pack_size(tc, 0) == 2
    tc.batch_size = 4096
    assert pack_size(tc, 100) == 8 and tc.batch_size // 8 >= MIN_PACKS
    for batch in (288, 720, 1000):                                  # too few packs, or not a multiple
        tc.batch_size = batch
        assert pack_size(tc, 49) == 2
    tc.pack, tc.batch_size = 1, 512
    assert pack_size(tc, 49) == 2                                   # 256 packs of 2


def test_the_batch_grows_to_hold_min_packs_of_the_larger_pack() -> None:
    tc = Config().train
    tc.many_modes, tc.pack, tc.batch_size = 25, 2, 256
    assert many_modes_batch(tc, 25) == 256 and many_modes_batch(tc, 0) == 256     # no larger pack: unchanged
    assert many_modes_batch(tc, 49) == 4 * MIN_PACKS and many_modes_batch(tc, 100) == 8 * MIN_PACKS
    tc.batch_size = 2000
    assert many_modes_batch(tc, 49) == 2000                         # never shrunk; 2,000 = 125 x 16
    tc.batch_size = 1030
    assert many_modes_batch(tc, 49) == 1040 and 1040 % 4 == 0       # a multiple of the pack and of 16
    tc.pack, tc.batch_size = 3, 256
    assert many_modes_batch(tc, 49) % 6 == 0 and many_modes_batch(tc, 49) >= 6 * MIN_PACKS
    tc.pack, tc.batch_size = 64, 64
    assert many_modes_batch(tc, 49) == 128 * MIN_PACKS
    tc.batch_size = many_modes_batch(tc, 200)                       # 512 x 256 packs: over the batch limit
    assert tc.batch_size == 65536 and pack_size(tc, 200) == 256     # so the pack halves back to 256 packs


def test_resolve_for_data_names_the_rules_that_changed_something() -> None:
    def why(*extra: str) -> tuple[str, ...]:
        cfg = apply_overrides(apply_preset("stable"), list(extra)).validate()
        data = make_data(cfg.data)
        return resolve_for_data(cfg, data.n_modes, data.relative_width)
    assert why("data.name=ring") == ()
    assert why("data.name=ring", "data.radius=5", "data.std=0.005") == ("train.narrow_width",)
    assert why("data.name=grid", "data.grid_n=7", "data.std=0.1") == ("train.steps_per_mode", "train.many_modes")
    assert why("data.name=grid", "data.grid_n=7", "data.std=0.01") == (
        "train.steps_per_mode", "train.narrow_width", "train.many_modes")


def test_stable_gives_only_the_7x7_grid_a_wider_d_a_larger_pack_and_batch_and_says_so() -> None:
    """Only the 7x7 grid of the robustness table has more than 25 modes: every 7x7 grid trains with a
    D of 256 and a pack of 4 at 1,024 a batch (256 packs), the narrow one for the steps narrow_width
    gives it, the wide one for 800 a mode. A session or checkpoint rebuilt from the resolved config
    keeps all three (the rule is off)."""
    cfg = apply_overrides(apply_preset("stable"), ["data.name=grid", "data.grid_n=7", "data.spacing=4",
                                                   "data.std=0.01"]).validate()
    t = Trainer(cfg, device="cpu")
    assert (t.cfg.train.batch_size, t.cfg.train.pack, t.cfg.model.d_width) == (1024, 4, 256)
    assert t.cfg.train.steps == 78_400
    assert t.D.pack == 4 and t.cfg.train.many_modes == 0 and t.requested_cfg.model.d_width == 128
    widths = [m.out_features for m in t.D.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 256, 1]
    assert "train.pack 2 -> 4 and model.d_width 128 -> 256" in t.budget_note and "train.many_modes" in t.budget_note
    again = Trainer(t.cfg, device="cpu")
    assert (again.cfg.train.pack, again.cfg.model.d_width) == (4, 256)
    assert budget_note(t.cfg, again.cfg, ()) == ""
    wide = Trainer(apply_overrides(apply_preset("stable"), ["data.name=grid", "data.grid_n=7", "data.std=0.1"])
                   .validate(), device="cpu")
    assert (wide.cfg.train.batch_size, wide.cfg.train.steps, wide.cfg.train.pack, wide.cfg.model.d_width) == (
        1024, 39_200, 4, 256)
    assert "train.narrow_width" not in wide.budget_note and "train.batch_size 256 -> 1,024" in wide.budget_note
    for data in (["data.name=grid"], ["data.name=grid", "data.grid_n=3"], ["data.name=ring", "data.modes=12"]):
        other = Trainer(apply_overrides(apply_preset("stable"), data).validate(), device="cpu")
        assert (other.cfg.train.batch_size, other.cfg.train.pack, other.cfg.model.d_width) == (256, 2, 128)


def test_resolve_budget_respects_the_pack_and_the_batch_limit() -> None:
    tc = apply_preset("stable").train
    tc.pack, tc.batch_size = 3, 300
    resolve_budget(tc, 8, 0.004)                     # 2.5x, from half-way
    late = tc.late_batch_size
    assert tc.batch_size == 300 and late == 768 and late % 3 == 0 and late % 16 == 0


# ---------------------------------------------------------------------- train.lr_decay_from
def test_lr_factor_is_flat_then_linear_down_to_a_tenth() -> None:
    from ganplay.engine.trainer import LR_FLOOR, lr_factor

    tc = Config().train
    tc.steps, tc.lr_decay_from = 100, 0.5
    assert [lr_factor(tc, s) for s in (0, 25, 50)] == [1.0, 1.0, 1.0]
    assert lr_factor(tc, 75) == pytest.approx(1 - 0.9 * 0.5)
    assert lr_factor(tc, 100) == pytest.approx(LR_FLOOR) and lr_factor(tc, 1000) == pytest.approx(LR_FLOOR)
    tc.lr_decay_from = 1.0
    assert lr_factor(tc, 99) == 1.0


def test_the_trainer_decays_its_rates_and_a_resumed_run_continues_exactly() -> None:
    cfg = _cfg("data.name=grid", "train.steps=20", "train.steps_per_mode=0", "train.lr_decay_from=0.5",
               "train.lr_d=1e-3", "train.lr_g=5e-4")
    t = Trainer(cfg, device="cpu")
    for _ in range(15):
        t.step()
    f = 1 - 0.9 * (14 - 10) / 10   # the 15th update used the factor at step 14
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(1e-3 * f)
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(5e-4 * f)
    again = Trainer(cfg, device="cpu")
    again.load_state_dict(t.state_dict())
    for _ in range(10):
        a, b = t.step(), again.step()
        assert a.loss_d == b.loss_d and a.loss_g == b.loss_g
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(5e-5)
    t.set("train.lr_g", 1e-3)   # a live change keeps the decay
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4)


def test_batched_members_decay_like_their_trainers() -> None:
    run = ["data.name=grid", "train.steps=16", "train.steps_per_mode=0", "train.lr_decay_from=0.25"]
    cfgs = [_cfg(*run), _cfg(*run, "train.seed=2"), _cfg(*run[:-1], "train.seed=4")]   # the last: no decay
    pop, solo = _side_by_side(cfgs, 24)
    for i, t in enumerate(solo):
        assert _max_diff(t.G, pop.member_trainer(i).G) < 2e-6


def test_the_window_is_told_the_recipe_and_what_the_data_changed_of_it() -> None:
    """The live loop's EngineReset carries the config as asked (so the setup panel keeps showing
    'stable', narrow_width and the batch the user chose) and a message naming the resolved budget;
    the trainer itself trains the resolved one."""
    import queue

    from ganplay.live import protocol as P
    from ganplay.live.loop import TrainLoop

    cfg = apply_overrides(apply_preset("stable"), ["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                                   "data.name=ring", "data.radius=2.0", "data.std=0.005"])
    frames: list = []
    events: list = []
    inbox: queue.Queue = queue.Queue()
    inbox.put(P.Describe())
    loop = TrainLoop(inbox, frames.append, events.append, stopped=lambda: bool(frames), torch_threads=1)
    loop.run(P.Reset(cfg))
    reset = next(e for e in events if isinstance(e, P.EngineReset))
    assert reset.config.train.batch_size == 32 and reset.config.train.narrow_width == 0.01
    assert reset.config.train.steps == 20_000
    assert "train.batch_size 32 -> 128 from step 20,000" in reset.message
    assert "train.steps 20,000 -> 40,000" in reset.message
    described = next(e for e in events if isinstance(e, P.Described)).info["config"].train
    assert (described.batch_size, described.late_batch_size, described.steps) == (32, 128, 40_000)


# ---------------------------------------------------------------------- train.instance_noise
def test_noise_std_fades_linearly_to_none() -> None:
    from ganplay.engine.trainer import noise_std

    tc = Config().train
    tc.steps, tc.instance_noise, tc.noise_until = 100, 0.2, 0.5
    assert noise_std(tc, 0) == pytest.approx(0.2) and noise_std(tc, 25) == pytest.approx(0.1)
    assert noise_std(tc, 50) == 0.0 and noise_std(tc, 99) == 0.0
    tc.instance_noise = 0.0
    assert noise_std(tc, 0) == 0.0


def _nearest_mode_distance(t: Trainer, x: torch.Tensor) -> float:
    c = torch.as_tensor(t.data.centers, dtype=x.dtype)
    return float(torch.cdist(x.detach(), c).min(1).values.median())


def test_instance_noise_blurs_what_d_sees_in_units_of_the_spread_until_it_fades() -> None:
    ring = ["data.name=ring", "data.radius=5.0", "data.std=0.01", "train.steps=100", "train.steps_per_mode=0"]
    plain = Trainer(_cfg(*ring), device="cpu")
    x, xf, *_ = plain.d_draws()
    assert _nearest_mode_distance(plain, x) < 0.03                       # the data's own width
    noisy = Trainer(_cfg(*ring, "train.instance_noise=0.1", "train.noise_until=0.5"), device="cpu")
    x, xf, *_ = noisy.d_draws()
    # noise of 0.1 x the spread (5): a median distance of about 0.5 * 1.18 from the nearest centre
    assert 0.4 < _nearest_mode_distance(noisy, x) < 0.8
    _, z, clean, _ = noisy.g_forward()
    assert _nearest_mode_distance(noisy, clean) < 5.0                    # G's own points are not blurred
    noisy.step_count = 50                                                # faded: D sees the data itself
    x, *_ = noisy.d_draws()
    assert _nearest_mode_distance(noisy, x) < 0.03
    noisy.step()                                                         # trains with it, and without it
    assert noisy.step_count == 51


def test_instance_noise_trains_alone_in_a_comparison_and_not_with_bigan() -> None:
    from ganplay.engine.compare_batched import batch_key
    from ganplay.engine.config import ConfigError

    assert batch_key(_cfg("data.name=grid", "train.instance_noise=0.02")) is None
    assert batch_key(_cfg("data.name=grid")) is not None
    with pytest.raises(ConfigError, match="train.instance_noise=0"):
        apply_overrides(Config(), ["model.bigan=true", "train.instance_noise=0.1"]).validate()
