import pytest

from ganplay.engine.config import (
    Config, ConfigError, apply_overrides, field_names, from_dict, load_toml, set_field, to_dict, to_toml,
)
from ganplay.engine.presets import PRESETS, apply_preset


def test_overrides_set_typed_values():
    cfg = apply_overrides(Config(), ["data.modes=6", "data.radius=3", "model.spectral_norm=true", "loss.name=hinge"])
    assert cfg.data.modes == 6 and cfg.data.radius == 3.0
    assert cfg.model.spectral_norm is True and cfg.loss.name == "hinge"


@pytest.mark.parametrize("item, needle", [
    ("data.modez=3", "data.modez"),
    ("dat.modes=3", "dat.modes"),
    ("train.lr_d=abc", "train.lr_d"),
    ("train.d_steps=1.5", "train.d_steps"),
    ("loss.name=nope", "loss.name"),
    ("train.batch_size=0", "train.batch_size"),
    ("train.lr_g=nan", "train.lr_g"),
    ("model.spectral_norm=maybe", "model.spectral_norm"),
    ("noequals", "noequals"),
])
def test_bad_fields_and_values_are_named(item, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        apply_overrides(Config(), [item])


def test_toml_round_trip(tmp_path):
    cfg = apply_overrides(Config(), ["data.name=grid", "train.ema=0.99", "model.g_norm=batch"])
    p = tmp_path / "c.toml"
    p.write_text(to_toml(cfg))
    assert to_dict(load_toml(p)) == to_dict(cfg)


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nname=")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_toml(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[data]\nmodez = 3\n")
    with pytest.raises(ConfigError, match="data.modez"):
        load_toml(wrong)
    with pytest.raises(ConfigError, match="missing.toml"):
        load_toml(tmp_path / "missing.toml")


def test_pack_must_divide_batch():
    cfg = Config()
    set_field(cfg, "train.pack", 3)
    with pytest.raises(ConfigError, match="train.batch_size"):
        cfg.validate()


def test_presets_never_touch_data_and_validate():
    for name, p in PRESETS.items():
        assert not any(k.startswith("data.") for k in p.fields), name
        cfg = apply_preset(name)
        if p.data_kind == "image":
            cfg.data.name = "mnist"
        cfg.validate()
    with pytest.raises(ConfigError, match="nope"):
        apply_preset("nope")


def test_every_field_is_addressable():
    cfg = Config()
    names = field_names()
    assert "data.modes" in names and "train.unrolled" in names
    d = to_dict(cfg)
    assert to_dict(from_dict(d)) == d
