"""Scene files and lessons: a teacher's setups as small TOML files (Qt-free).

A **scene file** is one setup of the window: what to show (the playground or a lecture scene),
the config and seed, the visible canvas layers and panels, the speed, and the controls a teacher
hides::

    ganplay = "scene"
    title = "Mode collapse on the ring"
    scene = "playground"            # or a lecture scene: optimal_d, saturation, bilinear, ...
    preset = "vanilla"              # optional; then [config] tables and `set` lines on top
    seed = 1
    set = ["data.modes=8"]
    layers = ["surface", "real", "fake", "centers"]
    panels = ["graph", "formulas", "charts"]      # the panels shown; the others are hidden
    speed = 0                       # steps per second, 0 = full speed
    hide = ["setup"]                # controls hidden in teacher mode
    teacher = true
    [params]                        # a lecture scene's parameters
    [config.train]                  # any config section, as in `ganplay train --config`

A **lesson** is a list of pages; each page is a scene setup (the keys above, flat in the page)
plus its narration and what unlocks the next page::

    ganplay = "lesson"
    title = "Mode collapse on the ring and what fixes it"
    [[page]]
    title = "A vanilla GAN on eight Gaussians"
    text = "<p>Press Play ...</p>"  # Qt rich text (a subset of HTML); formulas in Unicode
    preset = "vanilla"
    play = true
    highlight = ["layer:centers", "chart:modes", "widget:play"]
    until = "modes_covered <= 2"    # the condition that unlocks Next
    budget = 4000                   # steps within which it is reached (checked by a test)

Conditions: ``name op number`` (or ``name op name``) clauses (op: < <= > >= == !=) joined by ``and`` /
``or``, where a
name is a training figure (``step``, ``loss_d``, ``loss_g``, ``d_real``, ``d_fake``, ``grad_d``,
``grad_g``, ``jsd``, ``modes_covered``, ``hq_fraction``, ``w1``, ...) or one of a lecture scene's
numbers (its label in lower case, other characters as ``_``); and two user actions:
``layer NAME on|off`` and ``field SECTION.FIELD == VALUE``.

Every error names the file, the line and the field (``LessonError``), before anything is applied.
"""
from __future__ import annotations

import math
import operator
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import tomli_w

from .config import SECTIONS, Config, ConfigError, apply_overrides, from_dict, to_dict

PANELS = ("graph", "formulas", "charts", "setup", "latent")
HIGHLIGHT_KINDS = ("widget", "layer", "chart", "panel", "graph")
SETUP_KEYS = ("scene", "preset", "seed", "set", "config", "params", "layers", "panels", "speed", "hide",
              "teacher", "reset", "play")
PAGE_KEYS = SETUP_KEYS + ("title", "text", "highlight", "until", "budget", "expect")
MAX_FILE_BYTES = 1_000_000
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}


class LessonError(ValueError):
    """A scene or lesson file that cannot be used; names the file, the line and the field."""

    def __init__(self, path: str | Path, line: int | None, field_name: str | None, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field_name, message
        where = f"{self.path}" + (f", line {line}" if line else "") + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {message}")


def ident(label: str) -> str:
    """A scene number's label as a condition name: lower case, other characters as ``_``."""
    return re.sub(r"_+", "_", re.sub(r"[^0-9a-z]+", "_", label.lower())).strip("_")


# ============================================================================ conditions
@dataclass(frozen=True)
class Clause:
    kind: str          # "compare", "layer", "field"
    name: str
    op: str = ""
    value: Any = None

    def holds(self, values: dict[str, float], layers: set[str], fields: dict[str, Any]) -> bool:
        if self.kind == "layer":
            return (self.name in layers) == (self.value == "on")
        if self.kind == "field":
            return str(fields.get(self.name)) == str(self.value)
        v = values.get(self.name)
        w = values.get(self.value) if isinstance(self.value, str) else self.value
        if v is None or w is None or math.isnan(float(v)) or math.isnan(float(w)):
            return False
        return _OPS[self.op](float(v), float(w))

    def text(self) -> str:
        if self.kind == "layer":
            return f"layer {self.name} {self.value}"
        if self.kind == "field":
            return f"field {self.name} == {self.value}"
        return f"{self.name} {self.op} {self.value if isinstance(self.value, str) else format(self.value, 'g')}"


@dataclass(frozen=True)
class Condition:
    """``clauses[0] join clauses[1] join ...``, evaluated left to right (no precedence: one kind
    of join per condition)."""
    clauses: tuple[Clause, ...]
    join: str = "and"
    source: str = ""

    @classmethod
    def parse(cls, text: str) -> "Condition":
        """Parse a condition; ValueError with what is wrong."""
        src = text.strip()
        if not src:
            raise ValueError("empty condition")
        joins = set(re.findall(r"\s(and|or)\s", f" {src} "))
        if len(joins) > 1:
            raise ValueError("use either 'and' or 'or' in one condition, not both")
        join = joins.pop() if joins else "and"
        parts = re.split(rf"\s+{join}\s+", src)
        return cls(tuple(_clause(p.strip()) for p in parts), join, src)

    def holds(self, values: dict[str, float], layers: set[str] | None = None,
              fields: dict[str, Any] | None = None) -> bool:
        layers = set() if layers is None else layers
        fields = {} if fields is None else fields   # (a lazy field view is an empty dict: not falsy-tested)
        res = [c.holds(values, layers, fields) for c in self.clauses]
        return all(res) if self.join == "and" else any(res)

    def names(self) -> set[str]:
        return {n for c in self.clauses if c.kind == "compare"
                for n in (c.name, c.value) if isinstance(n, str)}

    def status(self, values: dict[str, float]) -> str:
        """The clauses with the current values, for the lessons panel ("modes_covered <= 2: now 5")."""
        out = []
        for c in self.clauses:
            now = values.get(c.name) if c.kind == "compare" else None
            other = values.get(c.value) if c.kind == "compare" and isinstance(c.value, str) else None
            note = ""
            if isinstance(now, (int, float)):
                note = f" (now {now:.4g}" + (f" vs {other:.4g}" if isinstance(other, (int, float)) else "") + ")"
            out.append(c.text() + note)
        return f" {self.join} ".join(out)


def _clause(text: str) -> Clause:
    m = re.fullmatch(r"layer\s+([a-z_]+)\s+(on|off)", text)
    if m:
        return Clause("layer", m.group(1), value=m.group(2))
    m = re.fullmatch(r"field\s+([a-z_]+\.[a-z_0-9]+)\s*==\s*(.+)", text)
    if m:
        return Clause("field", m.group(1), "==", m.group(2).strip().strip("'\""))
    m = re.fullmatch(r"([a-z_][a-z_0-9]*)\s*(<=|>=|==|!=|<|>)\s*([a-z_][a-z_0-9]*)", text)
    if m:   # two figures compared: "estimate <= divergence_now"
        return Clause("compare", m.group(1), m.group(2), m.group(3))
    m = re.fullmatch(r"([a-z_][a-z_0-9]*)\s*(<=|>=|==|!=|<|>)\s*([-+0-9.eE]+)", text)
    if not m:
        raise ValueError(f"cannot read {text!r}: expected 'name op number' or 'name op name' (op: < <= > >= == "
                         "!=), 'layer NAME on|off' or 'field SECTION.FIELD == VALUE'")
    try:
        num = float(m.group(3))
    except ValueError:
        raise ValueError(f"{m.group(3)!r} is not a number") from None
    return Clause("compare", m.group(1), m.group(2), num)


# ============================================================================ setups and pages
@dataclass
class Setup:
    """What a scene file or a lesson page sets up (see the module's docstring)."""
    scene: str = "playground"
    preset: str | None = None
    seed: int | None = None
    set: list[str] = field(default_factory=list)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    layers: list[str] | None = None
    panels: list[str] | None = None
    speed: int | None = None
    hide: list[str] = field(default_factory=list)
    teacher: bool = False
    reset: bool = True
    play: bool = False

    @property
    def playground(self) -> bool:
        return self.scene == "playground"

    def build_config(self, base: Config | None = None) -> Config:
        """The config this setup asks for: ``base`` (a fresh Config for a reset), the preset, the
        [config] tables, the ``set`` lines, the seed."""
        from .presets import apply_preset

        cfg = base.copy() if base is not None else Config()
        if self.preset:
            cfg = apply_preset(self.preset, cfg, adapt_data=True)
        if self.config:
            cfg = from_dict(self.config, cfg)
        apply_overrides(cfg, self.set)
        if self.seed is not None:
            cfg.train.seed = int(self.seed)
        return cfg.validate()

    def live_overrides(self) -> list[str]:
        """For a page that continues the running trainer (``reset = false``): its settings as
        overrides, each of which must be a live field."""
        out = list(self.set)
        for sec, values in self.config.items():
            out += [f"{sec}.{k}={v}" for k, v in values.items()]
        return out


@dataclass
class Page:
    setup: Setup
    title: str = ""
    text: str = ""
    highlight: list[str] = field(default_factory=list)
    until: Condition | None = None
    budget: int = 0          # steps within which ``until`` is reached
    expect: Condition | None = None
    line: int = 0            # where the page starts in its file


@dataclass
class Lesson:
    title: str
    pages: list[Page]
    summary: str = ""
    path: str = ""


@dataclass
class SceneFile:
    title: str
    setup: Setup
    path: str = ""


# ============================================================================ reading
class _Lines:
    """Line numbers of keys in a TOML text, for error messages (tomllib gives none for values)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.pages = [i + 1 for i, ln in enumerate(self.lines) if re.match(r"\s*\[\[\s*page\s*\]\]", ln)]

    def of(self, key: str, page: int | None = None) -> int | None:
        start = self.pages[page] if page is not None and page < len(self.pages) else 1
        end = self.pages[page + 1] if page is not None and page + 1 < len(self.pages) else len(self.lines) + 1
        at_start = re.compile(rf"\s*{re.escape(key)}\s*=")
        inline = re.compile(rf"[{{,]\s*{re.escape(key)}\s*=")    # in an inline table: params = {{ x0 = 9 }}
        for pat in (at_start.match, inline.search):
            for i in range(start, end):
                if pat(self.lines[i - 1]):
                    return i
        return start if page is not None else None


def _read(path: str | Path) -> tuple[dict[str, Any], _Lines]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise LessonError(p, None, None, f"the file is larger than {MAX_FILE_BYTES // 1000} kB; not a lesson")
        raw = p.read_bytes()
    except OSError as exc:
        raise LessonError(p, None, None, f"cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LessonError(p, raw[:exc.start].count(b"\n") + 1, None, "not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))   # Python < 3.14 puts the position in the message only
        line = getattr(exc, "lineno", None) or (int(m.group(1)) if m else None)
        msg = str(exc).split(" (at line")[0]
        raise LessonError(p, line, None, f"not valid TOML: {msg}") from None
    return data, _Lines(text)


def _setup(d: dict[str, Any], path: str, lines: _Lines, page: int | None,
           layer_names: Sequence[str] | None) -> Setup:
    from .presets import PRESETS
    from .scenes import SCENES

    def err(key: str, msg: str) -> LessonError:
        return LessonError(path, lines.of(key, page), key, msg)

    def typed(key: str, kind: type | tuple[type, ...], what: str) -> Any:
        v = d[key]
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise err(key, f"expected {what}, got {v!r}")
        return v

    s = Setup()
    if "scene" in d:
        s.scene = typed("scene", str, "a scene name")
        if s.scene != "playground" and s.scene not in SCENES:
            raise err("scene", f"no scene {s.scene!r}; scenes: playground, {', '.join(SCENES)}")
    if "preset" in d:
        s.preset = typed("preset", str, "a preset name")
        if s.preset not in PRESETS:
            raise err("preset", f"no preset {s.preset!r}; presets: {', '.join(PRESETS)}")
    if "seed" in d:
        s.seed = typed("seed", int, "an integer")
    if "set" in d:
        s.set = list(typed("set", list, "a list of \"section.field=value\" strings"))
    if "config" in d:
        s.config = typed("config", dict, "tables [config.SECTION]")
        for sec in s.config:
            if sec not in SECTIONS:
                raise err(sec, f"unknown config section '{sec}': sections are {', '.join(SECTIONS)}")
    if "params" in d:
        s.params = dict(typed("params", dict, "a table of the scene's parameters"))
    if "layers" in d:
        s.layers = list(typed("layers", list, "a list of layer names"))
        bad = [x for x in s.layers if layer_names is not None and x not in layer_names]
        if bad:
            raise err("layers", f"unknown layer {bad[0]!r}; layers: {', '.join(layer_names or ())}")
    if "panels" in d:
        s.panels = list(typed("panels", list, "a list of panel names"))
        bad = [x for x in s.panels if x not in PANELS]
        if bad:
            raise err("panels", f"unknown panel {bad[0]!r}; panels: {', '.join(PANELS)}")
    if "speed" in d:
        s.speed = typed("speed", int, "steps per second (0: full speed)")
    if "hide" in d:
        s.hide = list(typed("hide", list, "a list of control names"))
    for key in ("teacher", "reset", "play"):
        if key in d:
            setattr(s, key, typed(key, bool, "true or false"))
    # the config must build (and a lecture scene's parameters must be its own) before anything is applied
    if s.playground:
        try:
            s.build_config()
        except (ConfigError, KeyError, ValueError) as exc:
            key = next((k for k in ("set", "config", "preset", "seed") if k in d), "set")
            raise err(key, str(exc)) from None
    else:
        from .scenes import scene_class

        cls = scene_class(s.scene)
        for k, v in s.params.items():
            try:
                cls.param(k).check(v)
            except (KeyError, ValueError) as exc:
                raise err(k, str(exc.args[0])) from None
    return s


def _condition(d: dict[str, Any], key: str, path: str, lines: _Lines, page: int) -> Condition | None:
    if key not in d:
        return None
    try:
        return Condition.parse(str(d[key]))
    except ValueError as exc:
        raise LessonError(path, lines.of(key, page), key, str(exc)) from None


def _kind(data: dict[str, Any], path: str, lines: _Lines, want: str) -> None:
    kind = data.get("ganplay")
    if kind is None or str(kind).split()[0] != want:
        raise LessonError(path, lines.of("ganplay") or 1, "ganplay",
                          f"a {want} file starts with ganplay = \"{want}\" (found {kind!r})")


def load_scene_file(path: str | Path, layer_names: Sequence[str] | None = None) -> SceneFile:
    """Read a scene file. ``layer_names``: the canvas layers to check ``layers`` against (the
    live package's ``LAYER_NAMES``; the engine does not know the canvas)."""
    data, lines = _read(path)
    _kind(data, str(path), lines, "scene")
    unknown = [k for k in data if k not in SETUP_KEYS + ("ganplay", "title")]
    if unknown:
        raise LessonError(path, lines.of(unknown[0]), unknown[0],
                          f"unknown key; a scene file has: {', '.join(SETUP_KEYS + ('title',))}")
    return SceneFile(str(data.get("title", Path(path).stem)), _setup(data, str(path), lines, None, layer_names),
                     str(path))


def load_lesson(path: str | Path, layer_names: Sequence[str] | None = None) -> Lesson:
    data, lines = _read(path)
    _kind(data, str(path), lines, "lesson")
    raw_pages = data.get("page")
    if not isinstance(raw_pages, list) or not raw_pages:
        raise LessonError(path, None, "page", "a lesson needs at least one [[page]]")
    pages = []
    for i, d in enumerate(raw_pages):
        unknown = [k for k in d if k not in PAGE_KEYS]
        if unknown:
            raise LessonError(path, lines.of(unknown[0], i), unknown[0],
                              f"unknown key in page {i + 1}; a page has: {', '.join(PAGE_KEYS)}")
        setup = _setup(d, str(path), lines, i, layer_names)
        hl = d.get("highlight", [])
        for h in hl:
            if not isinstance(h, str) or h.split(":")[0] not in HIGHLIGHT_KINDS or ":" not in h:
                raise LessonError(path, lines.of("highlight", i), "highlight",
                                  f"{h!r}: expected KIND:NAME with KIND one of {', '.join(HIGHLIGHT_KINDS)}")
        budget = d.get("budget", 0)
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
            raise LessonError(path, lines.of("budget", i), "budget", f"expected a number of steps, got {budget!r}")
        until = _condition(d, "until", str(path), lines, i)
        if until is not None and until.names() and "budget" not in d:
            raise LessonError(path, lines.of("until", i), "budget",
                              "a page that waits for a figure states its step budget (budget = N)")
        if setup.reset is False and setup.playground:
            from .config import LIVE_FIELDS, split_override

            for item in setup.live_overrides():
                p_, _ = split_override(item)
                if p_ not in LIVE_FIELDS:
                    raise LessonError(path, lines.of("set", i), "set", f"'{p_}' is not a live field; a page with "
                                      "reset = false can only change live fields")
        pages.append(Page(setup, str(d.get("title", f"Page {i + 1}")), str(d.get("text", "")), list(hl), until,
                          int(budget), _condition(d, "expect", str(path), lines, i),
                          lines.pages[i] if i < len(lines.pages) else 0))
    return Lesson(str(data.get("title", Path(path).stem)), pages, str(data.get("summary", "")), str(path))


def read_file(path: str | Path, layer_names: Sequence[str] | None = None) -> Lesson | SceneFile:
    """A lesson or a scene file, by its ``ganplay = ...`` line."""
    data, lines = _read(path)
    kind = str(data.get("ganplay", "")).split()[:1]
    if kind == ["lesson"]:
        return load_lesson(path, layer_names)
    if kind == ["scene"]:
        return load_scene_file(path, layer_names)
    raise LessonError(path, lines.of("ganplay") or 1, "ganplay",
                      "not a ganplay scene or lesson file: it starts with ganplay = \"scene\" or \"lesson\"")


# ============================================================================ writing
def scene_file_text(title: str, setup: Setup, cfg: Config | None = None) -> str:
    """A scene file for ``setup`` (with the whole ``cfg`` as [config] tables, so it reopens the
    same run whatever the defaults of a later version)."""
    d: dict[str, Any] = {"ganplay": "scene", "title": title, "scene": setup.scene}
    if setup.seed is not None:
        d["seed"] = int(setup.seed)
    for key in ("layers", "panels", "speed"):
        v = getattr(setup, key)
        if v is not None:
            d[key] = v
    d["hide"] = list(setup.hide)
    d["teacher"] = bool(setup.teacher)
    if setup.params:
        d["params"] = dict(setup.params)
    if cfg is not None:
        d["config"] = to_dict(cfg)
    return ("# A ganplay scene: open it with `ganplay open FILE` or File -> Open scene.\n"
            + tomli_w.dumps(d))


def save_scene_file(path: str | Path, title: str, setup: Setup, cfg: Config | None = None) -> Path:
    p = Path(path)
    if p.suffix != ".toml":
        p = p.with_name(p.name + ".toml")
    tmp = p.with_name(p.name + ".part")
    tmp.write_text(scene_file_text(title, setup, cfg), encoding="utf-8")
    tmp.replace(p)
    return p


def lesson_title(path: str | Path) -> str:
    """A lesson's title, read without checking the lesson (menus list them without importing the
    scenes, and so torch); opening it checks it whole."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return Path(path).stem
    return str(data.get("title", Path(path).stem))


def shipped_lessons() -> list[Path]:
    """The lessons that come with ganplay, in the lecture's order."""
    from ganplay.assets import asset_path

    try:
        folder = asset_path("lessons")
    except FileNotFoundError:
        return []
    return sorted(folder.glob("*.toml"))
