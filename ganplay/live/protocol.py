"""The messages between a window and its training loop: one frozen dataclass per kind.

Commands go window -> loop, events go loop -> window; frames (``frames.Frame``,
``compare_loop.CompareFrame``) go loop -> window on their own signal. Each side dispatches by type
through a handler table, so adding a command is one dataclass here, one handler in the loop, one
sender in the window (``docs/ARCHITECTURE.md``). Every message must pickle: the process transport
sends plain pickles over a pipe. Configs, numpy arrays and state dicts are fine; Qt objects and
local classes are not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Command:
    """Window -> loop."""


@dataclass(frozen=True)
class Event:
    """Loop -> window (and the transport's own news: WorkerFailed, WorkerDied)."""


# ====================================================================== commands both loops take
@dataclass(frozen=True)
class Play(Command):
    """Train continuously."""


@dataclass(frozen=True)
class Pause(Command):
    """Stop training; the state is kept and the paused picture gets fresh metrics."""


@dataclass(frozen=True)
class Step(Command):
    """``n`` steps, then paused. ``mode``: "both" (k D updates + one G update), "d" or "g"."""

    mode: str = "both"
    n: int = 1


@dataclass(frozen=True)
class Stop(Command):
    """End the loop (the transport sends it on close)."""


@dataclass(frozen=True)
class Ping(Command):
    """Answered by ``Pong(payload)``: a round trip through the transport (tests, tools)."""

    payload: Any = None


@dataclass(frozen=True)
class Echo(Command):
    """The loop emits ``event`` as if it had produced it (tests of the window's handlers)."""

    event: Event


@dataclass(frozen=True)
class Describe(Command):
    """Answered by ``Described``: a small picklable summary of the loop (tests, tools)."""


# ====================================================================== playground commands
@dataclass(frozen=True)
class Reset(Command):
    """Build a new trainer. ``data``: an injected data set (tests, loaders), else from config."""

    config: Any
    points: Any = None
    data: Any = None


@dataclass(frozen=True)
class SetField(Command):
    """A live setting (``config.field_info(path).live``) applied before the next step."""

    path: str
    value: Any


@dataclass(frozen=True)
class SetSpeed(Command):
    """Steps per second; 0 = as fast as possible."""

    steps_per_sec: int


@dataclass(frozen=True)
class StopAt(Command):
    """Pause when training reaches this step (0 = never)."""

    step: int


@dataclass(frozen=True)
class ShowLayers(Command):
    """The canvas layers to compute (names from ``layers.LAYERS``); hidden ones cost nothing."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class SetView(Command):
    """The canvas's visible area (x0, x1, y0, y1): grid layers (D(x), D*, the real density) are
    sampled on it, so they fill the canvas however the aspect lock or the following of stray
    samples widened it beyond the data's bounds."""

    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class ShowLabel(Command):
    """A conditional GAN on 2D data: draw the fixed z's samples all with this label (-1: the
    labels in turn), so one label's samples can be seen alone."""

    label: int


@dataclass(frozen=True)
class RestoreGood(Command):
    """Back to the last state kept before a divergence."""


@dataclass(frozen=True)
class SetBudgets(Command):
    """Fractions of wall-clock time for the loop's optional work, by budget name (benches)."""

    fractions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ExportGenerator(Command):
    path: str
    formats: tuple[str, ...] = ("pt2",)


@dataclass(frozen=True)
class SaveSession(Command):
    path: str
    history: Any = None      # the window's chart history, saved beside the weights


@dataclass(frozen=True)
class LoadSession(Command):
    path: str


@dataclass(frozen=True)
class InstallState(Command):
    """Continue a trainer from its state dict (a recipe opened from the compare window)."""

    config: Any
    state: Any
    points: Any = None


@dataclass(frozen=True)
class Rewind(Command):
    """Pause and go back to the latest kept snapshot at or before ``step`` (``engine/rewind.py``);
    the live settings stay as they are. Answered by ``Rewound``."""

    step: int


@dataclass(frozen=True)
class Branch(Command):
    """Train on from here (after a ``Rewind``: from the rewound state, with the current settings;
    the snapshots after it are dropped). Play and Step after a rewind branch the same way."""


@dataclass(frozen=True)
class TraceStep(Command):
    """Slow motion: pause, make one step taken apart (``engine/iteration.py``: the same arithmetic
    as a normal step) and answer ``IterationTraced``; D's surfaces are sampled on the view."""


# ====================================================================== compare commands
@dataclass(frozen=True)
class BuildComparison(Command):
    """Build (or rebuild, with ``configs`` None: the same ones again) the population."""

    configs: Any = None
    labels: Any = None
    points: Any = None


@dataclass(frozen=True)
class RequestMemberState(Command):
    """Answered by ``MemberState``: member ``index``'s config and trainer state."""

    index: int


@dataclass(frozen=True)
class ExportComparison(Command):
    path: str
    fmt: str = "csv"
    n: int = 2500


# ====================================================================== events
@dataclass(frozen=True)
class Rewound(Event):
    """The trainer is back at ``step``; ``config``: the settings that state was trained with (shown,
    not applied: the live settings stay); ``snapshot_steps``: the steps one can rewind to."""

    step: int
    config: Any
    snapshot_steps: tuple[int, ...]


@dataclass(frozen=True)
class Branched(Event):
    """Training went on from a rewound ``step``: what followed it before is the old branch."""

    step: int
    snapshot_steps: tuple[int, ...]


@dataclass(frozen=True)
class IterationTraced(Event):
    """One iteration, taken apart for slow motion: an ``iteration.IterationTrace`` (numpy only)."""

    trace: Any


@dataclass(frozen=True)
class EngineReset(Event):
    """A new trainer is in place (first build, Reset, a preset, new data)."""

    device: str
    config: Any
    message: str = ""


@dataclass(frozen=True)
class ResetFailed(Event):
    message: str


@dataclass(frozen=True)
class Loading(Event):
    """Progress of a slow data load (fraction 1.0 = done)."""

    fraction: float
    text: str = ""


@dataclass(frozen=True)
class DeviceFallback(Event):
    """CUDA failed mid-training; the same run goes on on ``device``."""

    message: str
    device: str


@dataclass(frozen=True)
class FieldSet(Event):
    path: str
    value: Any


@dataclass(frozen=True)
class FieldRejected(Event):
    path: str
    message: str


@dataclass(frozen=True)
class Diverged(Event):
    message: str
    step: int
    last_good: int


@dataclass(frozen=True)
class Restored(Event):
    """Back at the last good state; ``config`` is its config (live settings included)."""

    step: int
    config: Any = None


@dataclass(frozen=True)
class StoppedAt(Event):
    step: int


@dataclass(frozen=True)
class GeneratorExported(Event):
    path: str


@dataclass(frozen=True)
class SessionSaved(Event):
    path: str


@dataclass(frozen=True)
class SessionLoaded(Event):
    path: str
    config: Any
    history: Any = None
    points: Any = None


@dataclass(frozen=True)
class StateInstalled(Event):
    label: str
    config: Any
    points: Any = None


@dataclass(frozen=True)
class FileFailed(Event):
    """A file operation failed; the live session is unchanged. ``what``: the command's name."""

    what: str
    path: str
    message: str


@dataclass(frozen=True)
class Failed(Event):
    """Anything else that went wrong, as a dialog title and text."""

    title: str
    message: str


@dataclass(frozen=True)
class Pong(Event):
    payload: Any = None


@dataclass(frozen=True)
class Described(Event):
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonReady(Event):
    labels: tuple[str, ...]
    plan: tuple[str, ...]
    configs: tuple[Any, ...]


@dataclass(frozen=True)
class MemberState(Event):
    index: int
    config: Any
    state: Any


@dataclass(frozen=True)
class ComparisonExported(Event):
    path: str


# ---------------------------------------------------------------------- the transport's own
@dataclass(frozen=True)
class WorkerFailed(Event):
    """No training process could be started (the window falls back to a thread)."""

    message: str


@dataclass(frozen=True)
class WorkerDied(Event):
    """The training process ended without saying goodbye (killed, crashed)."""

    message: str


@dataclass(frozen=True)
class Bye:
    """The child's last message before it exits: the relay stops reading."""


# ====================================================================== what each side must handle
COMMON_COMMANDS: tuple[type[Command], ...] = (Play, Pause, Step, Stop, Ping, Echo, Describe)
PLAYGROUND_COMMANDS: tuple[type[Command], ...] = COMMON_COMMANDS + (
    Reset, SetField, SetSpeed, StopAt, ShowLayers, SetView, RestoreGood, SetBudgets, ExportGenerator,
    SaveSession, LoadSession, InstallState, Rewind, Branch, TraceStep)
PLAYGROUND_COMMANDS += (ShowLabel,)
COMPARE_COMMANDS: tuple[type[Command], ...] = COMMON_COMMANDS + (
    BuildComparison, RequestMemberState, ExportComparison)
TRANSPORT_EVENTS: tuple[type[Event], ...] = (WorkerFailed, WorkerDied, Failed, Pong, Described)
PLAYGROUND_EVENTS: tuple[type[Event], ...] = TRANSPORT_EVENTS + (
    EngineReset, ResetFailed, Loading, DeviceFallback, FieldSet, FieldRejected, Diverged, Restored,
    StoppedAt, GeneratorExported, SessionSaved, SessionLoaded, StateInstalled, FileFailed, Rewound, Branched,
    IterationTraced)
COMPARE_EVENTS: tuple[type[Event], ...] = TRANSPORT_EVENTS + (
    ComparisonReady, MemberState, ComparisonExported)


def command_name(cmd: Command) -> str:
    return type(cmd).__name__
