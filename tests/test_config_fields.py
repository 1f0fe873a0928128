"""Every config field describes itself once (dataclass metadata), and every reader agrees with it:
validation, ``--set``, ``--print-config`` and the setup panel's widgets and tooltips."""
from __future__ import annotations

import dataclasses
import math
import os
import tomllib

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from ganplay.cli import main  # noqa: E402
from ganplay.engine import config as C  # noqa: E402

FIELDS = C.all_fields()
IDS = [i.path for i in FIELDS]


def test_all_fields_follow_the_dataclasses():
    assert [i.path for i in FIELDS] == C.field_names()
    assert len(FIELDS) == sum(len(dataclasses.fields(cls)) for cls in
                              (C.DataConfig, C.ModelConfig, C.LossConfig, C.TrainConfig))
    cfg = C.Config()
    for info in FIELDS:
        assert C.field_info(info.path) == info
        assert info.default == C.get_field(cfg, info.path)
        assert info.type in (bool, int, float, str) and isinstance(info.default, info.type)
        assert f"{info.section}.{info.name}" == info.path
        assert C.choices(info.path) == info.choices and C.value_range(info.path) == info.range
        assert C.field_type(info.path) is info.type
    with pytest.raises(C.ConfigError, match=r"data\.modez"):
        C.field_info("data.modez")
    with pytest.raises(C.ConfigError, match="nope"):
        C.field_info("nope")
    with pytest.raises(dataclasses.FrozenInstanceError):
        FIELDS[0].help = "x"  # type: ignore[misc]


def test_the_separate_tables_are_gone():
    for name in ("_CHOICES", "_RANGES"):
        assert not hasattr(C, name)
    import ganplay.ui.help_text as H

    assert not hasattr(H, "FIELD_HELP")


@pytest.mark.parametrize("info", FIELDS, ids=IDS)
def test_every_field_has_one_line_of_help(info):
    assert info.help and info.help == info.help.strip(), info.path
    assert all(ch == "\t" or ord(ch) >= 0x20 for ch in info.help), "one line, no control characters"
    assert info.help.endswith((".", ")")), info.help


def test_live_fields_come_from_the_metadata():
    assert isinstance(C.LIVE_FIELDS, frozenset)
    assert C.LIVE_FIELDS == {i.path for i in FIELDS if i.live}
    # what the trainer has always changed between steps; structural fields need a rebuild
    assert {"loss.name", "train.lr_d", "train.lr_g", "train.batch_size", "train.ema"} <= C.LIVE_FIELDS
    assert not {"model.g_width", "model.arch", "data.name", "train.pack", "train.seed"} & C.LIVE_FIELDS


@pytest.mark.parametrize("info", [i for i in FIELDS if i.choices], ids=lambda i: i.path)
def test_choices_are_exactly_what_validation_accepts(info):
    assert info.type is str and info.range is None and info.default in info.choices
    assert len(set(info.choices)) == len(info.choices)
    for choice in info.choices:
        assert C.parse_value(info.path, choice) == choice
        C.check_value(info.path, choice)
    for bad in ("nope", info.choices[0].upper() + "_", ""):
        with pytest.raises(C.ConfigError, match=rf"'{info.path}'.*{info.choices[-1]}"):
            C.parse_value(info.path, bad)
    assert info.allowed() == "one of " + ", ".join(info.choices)


@pytest.mark.parametrize("info", [i for i in FIELDS if i.range], ids=lambda i: i.path)
def test_ranges_are_exactly_what_validation_accepts(info):
    assert info.type in (int, float) and info.choices is None
    lo, hi = info.range
    assert (lo is None or info.default >= lo) and (hi is None or info.default <= hi)
    for edge, step in ((lo, -1), (hi, +1)):
        if edge is None:
            continue
        inside = info.type(edge)
        assert C.parse_value(info.path, str(inside)) == inside
        outside = edge + step if info.type is int else math.nextafter(edge, step * math.inf)
        with pytest.raises(C.ConfigError, match=rf"'{info.path}'.*must lie in") as err:
            C.parse_value(info.path, str(outside))
        assert info.allowed()[3:] in str(err.value) or info.allowed().startswith("at ")


def test_every_size_is_bounded_above():
    sizes = [i for i in FIELDS if i.type is int and i.name.endswith(("width", "depth", "latent_dim", "batch_size",
                                                                       "latent_modes", "modes", "grid_n", "pack"))]
    assert len(sizes) == 12   # train.many_modes and train.late_batch_size count too
    for info in sizes:
        assert info.range is not None and info.range[1] is not None, info.path


def test_set_refuses_a_huge_width_naming_field_and_range(capsys, tmp_path):
    rc = main(["train", "--steps", "1", "-q", "-o", str(tmp_path / "r"), "--set", "model.g_width=65536"])
    err = capsys.readouterr().err
    assert rc == 2 and "'model.g_width'" in err and "[1, 4096]" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_print_config_is_commented_toml_that_round_trips(tmp_path, capsys):
    args = ["train", "--preset", "stable", "--set", "data.path=a\nb \"q\" \\", "--set", "train.lr_d=3e-5",
            "--print-config"]
    assert main(args) == 0
    text = capsys.readouterr().out
    cfg = C.apply_overrides(_stable(), ["data.path=a\nb \"q\" \\", "train.lr_d=3e-5"])
    assert tomllib.loads(text) == C.to_dict(cfg)
    lines = text.splitlines()
    for info in FIELDS:   # each field is preceded by its help (and what it accepts) as comments
        i = next(n for n, ln in enumerate(lines) if ln.startswith(f"{info.name} = ")
                 and _section_of(lines, n) == info.section)
        comments = []
        while lines[i - 1].startswith("# "):
            i -= 1
            comments.insert(0, lines[i][2:])
        assert comments[0] == info.help
        if info.allowed():
            assert info.allowed() in comments[1]
        assert ("live" in " ".join(comments[1:])) == info.live
    f = tmp_path / "c.toml"
    f.write_text(text, encoding="utf-8")
    assert C.to_dict(C.load_toml(f)) == C.to_dict(cfg)
    assert main(["train", "--config", str(f), "--print-config"]) == 0
    assert capsys.readouterr().out == text


def _stable() -> C.Config:
    from ganplay.engine.presets import apply_preset

    return apply_preset("stable")


def _section_of(lines: list[str], n: int) -> str:
    return next(ln.strip("[]") for ln in reversed(lines[:n]) if ln.startswith("["))


def test_setup_panel_reads_the_metadata(qtbot):
    from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

    from ganplay.ui.setup_panel import SetupPanel

    panel = SetupPanel(C.Config())
    qtbot.addWidget(panel)
    assert set(panel.widgets) == set(C.field_names())
    for info in FIELDS:
        label, w = panel.rows[info.path]
        tip = label.toolTip()
        assert tip.splitlines()[0] == info.help, info.path   # the help, word for word, then notes
        assert w.toolTip() == tip, info.path
        assert ("next step" in tip) == info.live and ("reset" in tip) != info.live
        assert label.font().bold() == info.live
        if info.choices is not None:
            assert isinstance(w, QComboBox)
            assert [w.itemText(k) for k in range(w.count())] == list(info.choices)
        elif info.type is bool:
            assert isinstance(w, QCheckBox)
        elif info.type is int:
            assert isinstance(w, QSpinBox)
            lo, hi = info.range or (None, None)
            assert w.minimum() == (lo if lo is not None else -(2 ** 31 - 1)), info.path
            assert w.maximum() == (min(hi, 2 ** 31 - 1) if hi is not None else 2 ** 31 - 1), info.path
        else:
            assert isinstance(w, QLineEdit)
        if info.range is not None and info.type is not bool:
            assert info.allowed() in tip
