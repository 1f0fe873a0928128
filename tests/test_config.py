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


@pytest.mark.parametrize("value", [
    "a\nb",                         # issue: the hand-written writer emitted a raw newline
    'quote " and back\\slash',
    "tab\there, bell \x07, del \x7f",
    "unicode é ∑ 🙂",
    "'''\"\"\"",
])
def test_toml_round_trips_any_string(tmp_path, value):
    cfg = apply_overrides(Config(), [f"data.path={value}"])
    assert cfg.data.path == value.strip()
    for comments in (False, True):
        p = tmp_path / "c.toml"
        p.write_text(to_toml(cfg, comments=comments), encoding="utf-8")
        assert load_toml(p).data.path == value.strip()
        assert to_dict(load_toml(p)) == to_dict(cfg)


def test_config_file_that_is_not_utf8_names_the_file(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes('[data]\npath = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml.*UTF-8"):
        load_toml(p)


def test_toml_value_of_the_wrong_kind_for_a_string_field_is_named(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[data]\npath = [1, 2]\n")
    with pytest.raises(ConfigError, match=r"data\.path.*expected str"):
        load_toml(p)


@pytest.mark.parametrize("item, shown", [
    ("model.g_width=65536", "[1, 4096]"),     # issue 16 item 10: it used to die allocating 16 GiB
    ("model.d_width=4097", "[1, 4096]"),
    ("model.g_depth=17", "[0, 16]"),
    ("model.d_depth=64", "[0, 16]"),
    ("model.latent_dim=4097", "[1, 4096]"),
    ("train.batch_size=65537", "[1, 65536]"),
    ("train.batch_size=1048576", "[1, 65536]"),
    ("train.seed=99999999999999999999999", "[0, 2147483647]"),
])
def test_sizes_have_honest_upper_bounds(item, shown):
    path = item.split("=")[0]
    with pytest.raises(ConfigError) as err:
        apply_overrides(Config(), [item])
    assert f"'{path}'" in str(err.value) and shown in str(err.value)


def test_the_bounds_themselves_are_accepted():
    cfg = apply_overrides(Config(), ["model.g_width=4096", "model.d_width=4096", "model.g_depth=16",
                                     "model.latent_dim=4096", "train.batch_size=65536"])
    assert cfg.validate().model.g_width == 4096
