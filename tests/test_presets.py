"""Named presets: each one builds, validates and trains; none touches the data section."""
from __future__ import annotations

import math

import pytest
import torch

from ganplay.engine.config import Config, ConfigError, get_field
from ganplay.engine.presets import PRESETS, apply_preset, preset_names
from ganplay.engine.trainer import STAT_NAMES, Trainer


def test_required_presets_exist() -> None:
    names = preset_names()
    assert "vanilla" in names and "stable" in names
    assert len(names) == len(set(names))
    for p in PRESETS.values():
        assert p.summary.strip(), f"preset {p.name} has no summary"


@pytest.mark.parametrize("name", preset_names())
def test_preset_sets_its_fields_and_never_data(name: str) -> None:
    cfg = apply_preset(name)
    if PRESETS[name].data_kind == "image":
        cfg.data.name = "mnist"
        cfg.validate()
        cfg.data.name = Config().data.name
    else:
        cfg.validate()
    for path, val in PRESETS[name].fields.items():
        assert not path.startswith("data."), f"preset {name} sets data field {path}"
        assert get_field(cfg, path) == val
    assert cfg.data == Config().data


def test_apply_preset_copies_and_keeps_data() -> None:
    base = Config()
    base.data.name = "grid"
    base.data.std = 0.05
    out = apply_preset("stable", base)
    assert out is not base
    assert out.data.name == "grid" and out.data.std == 0.05
    assert base.train.ema == Config().train.ema  # the input config is left alone
    assert out.train.ema == PRESETS["stable"].fields["train.ema"]


def test_unknown_preset_names_itself() -> None:
    with pytest.raises(ConfigError, match="no-such-preset"):
        apply_preset("no-such-preset")


@pytest.mark.parametrize("name", preset_names("2d"))
@pytest.mark.parametrize("data", ["ring", "grid"])
def test_every_preset_trains(name: str, data: str) -> None:
    torch.set_num_threads(1)
    cfg = apply_preset(name)
    cfg.data.name = data
    cfg.train.device = "cpu"
    cfg.train.batch_size = 64  # a multiple of every preset's pack
    tr = Trainer(cfg)
    for _ in range(3):
        st = tr.step()
    assert tr.step_count == 3
    assert all(math.isfinite(v) for v in st.as_dict().values()), st
    assert set(st.as_dict()) == set(STAT_NAMES)
    x = tr.sample(50, seed=1)
    assert x.shape == (50, 2) and torch.isfinite(torch.as_tensor(x)).all()
    # the EMA copy exists exactly when the preset asks for it
    assert (tr.G_ema is not None) == (cfg.train.ema > 0)


def test_vanilla_is_the_classic_gan_and_stable_uses_stabilisers() -> None:
    v, s = apply_preset("vanilla"), apply_preset("stable")
    assert v.loss.name in ("minimax", "ns")
    assert v.train.ema == 0 and v.train.pack == 1 and not v.model.spectral_norm
    assert v.loss.r1 == 0 and v.loss.gp == 0 and v.train.unrolled == 0 and v.loss.real_label == 1.0
    assert s.train.pack > 1 and s.train.ema > 0


@pytest.mark.parametrize("name", preset_names("image"))
def test_image_presets_train_on_mnist_and_refuse_2d_data(name: str) -> None:
    torch.set_num_threads(1)
    cfg = apply_preset(name)
    with pytest.raises(ConfigError, match="model.arch"):
        cfg.validate()  # the default data is the ring
    cfg.data.name, cfg.data.limit = "mnist", 256
    cfg.train.device, cfg.train.batch_size = "cpu", 16
    tr = Trainer(cfg)
    st = tr.step()
    assert all(math.isfinite(v) for v in st.as_dict().values()), st
    assert tr.sample(4, seed=1).shape == (4, 784)


def test_window_preset_menu_adapts_the_data_kind() -> None:
    cfg = apply_preset("dcgan", Config(), adapt_data=True)
    assert cfg.data.name == "mnist"
    cfg.validate()
    back = apply_preset("stable", cfg, adapt_data=True)
    assert back.data.name == "ring" and back.model.arch == "mlp"
    back.validate()
    grid = Config()
    grid.data.name = "grid"
    assert apply_preset("vanilla", grid, adapt_data=True).data.name == "grid"


# --- a preset names a whole recipe: nothing leaks from the previous one (issue 15, item 1) ---

def _recipe_fields(cfg: Config) -> dict[str, object]:
    """Every field but those a preset leaves to the user (the data, the seed, the device...)."""
    from ganplay.engine.config import field_names
    from ganplay.engine.presets import USER_FIELDS

    return {p: get_field(cfg, p) for p in field_names() if p not in USER_FIELDS}


def _cli_config(name: str) -> Config:
    """What ``ganplay train --preset NAME --print-config`` resolves (data set to fit the recipe)."""
    from ganplay.cli import _config_from_args, build_parser

    argv = ["train", "--preset", name, "--print-config"]
    if PRESETS[name].data_kind == "image":
        argv += ["--set", "data.name=mnist"]
    return _config_from_args(build_parser().parse_args(argv))


def test_user_fields_are_the_data_and_a_few_named_train_fields() -> None:
    from ganplay.engine.config import field_names
    from ganplay.engine.presets import USER_FIELDS

    assert set(USER_FIELDS) <= set(field_names())
    assert {p for p in field_names() if p.startswith("data.")} <= set(USER_FIELDS)
    assert "train.seed" in USER_FIELDS and "train.device" in USER_FIELDS
    for p in PRESETS.values():  # a recipe never names what it leaves to the user
        assert not set(p.fields) & set(USER_FIELDS), p.name


@pytest.mark.parametrize("adapt", [False, True])
@pytest.mark.parametrize("first", preset_names())
def test_a_preset_gives_the_same_recipe_whatever_came_before(first: str, adapt: bool) -> None:
    for second in preset_names():
        fresh = apply_preset(second, Config(), adapt_data=adapt)
        after = apply_preset(second, apply_preset(first, Config(), adapt_data=adapt), adapt_data=adapt)
        assert _recipe_fields(after) == _recipe_fields(fresh), f"{first} -> {second}"


@pytest.mark.parametrize("name", preset_names())
def test_window_and_cli_agree_on_a_preset(name: str) -> None:
    window = apply_preset(name, apply_preset("dcgan", Config(), adapt_data=True), adapt_data=True)
    assert _recipe_fields(window) == _recipe_fields(_cli_config(name))


def test_dcgan_then_ganlab_is_ganlab() -> None:
    """The reported case: the window kept dcgan's BatchNorm and LeakyReLU under ganlab."""
    cfg = apply_preset("ganlab", apply_preset("dcgan", Config(), adapt_data=True), adapt_data=True)
    assert (cfg.model.g_norm, cfg.model.d_norm, cfg.model.d_activation) == ("none", "none", "relu")
    assert cfg.data.name == "ring" and cfg.model.arch == "mlp"


def test_user_fields_survive_a_preset() -> None:
    base = Config()
    base.data.name, base.data.modes, base.train.seed, base.train.device = "grid", 3, 7, "cpu"
    base.model.g_width = 5   # a recipe field: the preset puts it back
    out = apply_preset("lsgan", base)
    assert (out.data.name, out.data.modes, out.train.seed, out.train.device) == ("grid", 3, 7, "cpu")
    assert out.model.g_width == Config().model.g_width
