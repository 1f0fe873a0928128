"""Lessons and scene files, headless: every shipped lesson plays end to end within its stated
budgets; bad files say which file, line and field; scene files round-trip."""
from __future__ import annotations

import pytest

from ganplay.engine.config import Config, apply_overrides, to_dict
from ganplay.engine.lesson_run import LessonRun
from ganplay.engine.lessons import (Condition, LessonError, Setup, load_lesson, load_scene_file, read_file,
                                    save_scene_file, shipped_lessons)
from ganplay.live.layers import LAYER_NAMES

LESSONS = shipped_lessons()


def test_six_lessons_ship_in_the_lectures_order():
    assert len(LESSONS) == 6
    titles = [load_lesson(p, LAYER_NAMES).title for p in LESSONS]
    assert [t.split(".")[0] for t in titles] == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_shipped_lesson_plays_through_within_its_budgets(path, one_torch_thread):
    lesson = load_lesson(path, LAYER_NAMES)
    for page in lesson.pages:
        assert page.title and len(page.text) > 80, f"{path.name}: page '{page.title}' narrates"
    results = LessonRun(lesson, check_every=100).run()
    for page, r in zip(lesson.pages, results):
        assert r.reached, f"{path.name} page {r.index + 1} '{r.title}': {page.until.source} not reached in " \
                          f"{page.budget} steps; figures {r.values}"
        assert r.steps <= page.budget
        assert r.expect_ok in (None, True), f"{path.name} page {r.index + 1}: {page.expect.source} after the page"


@pytest.mark.parametrize("text, values, layers, fields, ok", [
    ("modes_covered <= 2", {"modes_covered": 2.0}, set(), {}, True),
    ("modes_covered <= 2", {"modes_covered": 3.0}, set(), {}, False),
    ("modes_covered <= 2", {}, set(), {}, False),
    ("step >= 500 and hq_fraction > 0.5", {"step": 600, "hq_fraction": 0.7}, set(), {}, True),
    ("step >= 500 and hq_fraction > 0.5", {"step": 400, "hq_fraction": 0.7}, set(), {}, False),
    ("w1 < 0.1 or step >= 1000", {"step": 1000, "w1": 1.0}, set(), {}, True),
    ("estimate <= truth", {"estimate": 0.4, "truth": 0.5}, set(), {}, True),
    ("estimate <= truth", {"estimate": 0.6, "truth": 0.5}, set(), {}, False),
    ("layer arrows on", {}, {"arrows"}, {}, True),
    ("layer arrows off", {}, {"arrows"}, {}, False),
    ("field loss.name == ns", {}, set(), {"loss.name": "ns"}, True),
    ("field loss.name == 'ns'", {}, set(), {"loss.name": "minimax"}, False),
])
def test_conditions(text, values, layers, fields, ok):
    assert Condition.parse(text).holds(values, layers, fields) is ok


@pytest.mark.parametrize("text", ["", "modes_covered <=", "a < 1 and b > 2 or c < 3", "layer arrows maybe",
                                  "modes covered < 2"])
def test_bad_conditions_are_refused(text):
    with pytest.raises(ValueError):
        Condition.parse(text)


BAD = {
    "not toml": ('ganplay = "lesson"\ntitle = "x"\n[[page]\n', 3, None, "not valid TOML"),
    "no marker": ('title = "x"\n', 1, "ganplay", "starts with"),
    "no pages": ('ganplay = "lesson"\ntitle = "x"\n', None, "page", "at least one"),
    "unknown key": ('ganplay = "lesson"\n[[page]]\ntitle = "a"\ntext = "b"\ncolour = 3\n', 5, "colour", "unknown key"),
    "bad field": ('ganplay = "lesson"\n[[page]]\ntitle = "a"\n\nset = ["train.lr_q=1"]\n', 5, "set", "lr_q"),
    "bad value": ('ganplay = "lesson"\n[[page]]\nset = ["train.lr_d=-1"]\n', 3, "set", "lr_d"),
    "bad preset": ('ganplay = "lesson"\n[[page]]\npreset = "nope"\n', 3, "preset", "no preset"),
    "bad scene": ('ganplay = "lesson"\n[[page]]\nscene = "nope"\n', 3, "scene", "no scene"),
    "bad layer": ('ganplay = "lesson"\n[[page]]\nlayers = ["surface", "glow"]\n', 3, "layers", "glow"),
    "bad param": ('ganplay = "lesson"\n[[page]]\nscene = "bilinear"\nparams = { x0 = 9.0 }\n', 4, "x0", "outside"),
    "bad until": ('ganplay = "lesson"\n[[page]]\nuntil = "modes <"\nbudget = 5\n', 3, "until", "cannot read"),
    "no budget": ('ganplay = "lesson"\n[[page]]\nuntil = "w1 < 0.1"\n', 3, "budget", "budget"),
    "live only": ('ganplay = "lesson"\n[[page]]\n[[page]]\nreset = false\nset = ["model.g_width=8"]\n', 5, "set",
                  "not a live field"),
    "second page": ('ganplay = "lesson"\n[[page]]\ntitle = "ok"\n[[page]]\ntitle = "bad"\nbudget = "soon"\n', 6,
                    "budget", "number of steps"),
    "bad highlight": ('ganplay = "lesson"\n[[page]]\nhighlight = ["sparkle"]\n', 3, "highlight", "KIND:NAME"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_lesson_names_the_file_the_line_and_the_field(case, tmp_path):
    text, line, field, words = BAD[case]
    path = tmp_path / f"{case.replace(' ', '_')}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LessonError) as info:
        read_file(path, LAYER_NAMES)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert words in str(err)


def test_a_file_that_is_not_utf8_or_is_huge_is_refused(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'ganplay = "lesson"\ntitle = "caf\xe9"\n')
    with pytest.raises(LessonError, match="line 2.*UTF-8"):
        read_file(p)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 2_000_001)
    with pytest.raises(LessonError, match="larger"):
        read_file(big)


def test_a_scene_file_round_trips(tmp_path):
    cfg = apply_overrides(Config(), ["loss.name=hinge", "train.seed=7", "data.modes=6"])
    setup = Setup(seed=7, layers=["surface", "fake"], panels=["graph", "charts"], speed=30, hide=["setup"],
                  teacher=True)
    path = save_scene_file(tmp_path / "mine", "My scene", setup, cfg)
    assert path.suffix == ".toml"
    back = load_scene_file(path, LAYER_NAMES)
    assert back.title == "My scene"
    assert to_dict(back.setup.build_config()) == to_dict(cfg.validate())
    for key in ("layers", "panels", "speed", "hide", "teacher", "seed"):
        assert getattr(back.setup, key) == getattr(setup, key)
    assert "# A ganplay scene" in path.read_text()


def test_the_readmes_example_lesson_loads_and_plays(tmp_path, one_torch_thread):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if b.startswith('ganplay = "lesson"'))
    path = tmp_path / "example.toml"
    path.write_text(block, encoding="utf-8")
    lesson = load_lesson(path, LAYER_NAMES)
    assert [p.title for p in lesson.pages] == ["Watch it collapse", "Where G is pushed"]
    results = LessonRun(lesson, check_every=100).run()
    assert all(r.reached for r in results), [(r.title, r.values) for r in results]
