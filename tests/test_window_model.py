"""The window's Qt-free state model: one config (applied + edits), change notifications."""
from __future__ import annotations

import pytest

from ganplay.engine import config as C
from ganplay.live.window_model import WindowModel


def test_edits_sit_on_the_applied_config_until_a_reset_applies_them():
    m = WindowModel(C.Config())
    seen: list = []
    live: list = []
    m.events.edits.connect(lambda d: seen.append(d.model.g_width))
    m.events.live_edit.connect(lambda p, v: live.append((p, v)))
    m.edit("model.g_width", 48)
    assert m.pending() == ["model.g_width"] and m.draft.model.g_width == 48
    assert m.applied.model.g_width == C.Config().model.g_width and seen == [48] and not live
    m.edit("model.g_width", C.Config().model.g_width)      # back to the applied value: no edit
    assert m.pending() == [] and m.edits == {}
    m.edit("train.lr_d", 1e-3)                             # live: announced, not pending
    assert live == [("train.lr_d", 1e-3)] and m.pending() == []
    m.confirm("train.lr_d", 1e-3)
    assert m.applied.train.lr_d == 1e-3 and m.edits == {}
    m.edit("train.lr_g", 5e-4)
    m.reject("train.lr_g")                                 # the trainer refused it
    assert m.draft.train.lr_g == m.applied.train.lr_g


def test_the_draft_is_a_copy_and_bad_values_are_refused():
    m = WindowModel(C.Config())
    d = m.draft
    d.model.g_width = 7
    assert m.draft.model.g_width != 7
    with pytest.raises(C.ConfigError):
        m.edit("model.g_width", 65536)
    with pytest.raises(C.ConfigError):
        m.edit("loss.name", "nope")


def test_set_draft_keeps_the_difference_and_apply_clears_it():
    m = WindowModel(C.Config())
    cfg = C.Config()
    cfg.loss.name, cfg.model.d_width = "hinge", 64
    m.set_draft(cfg)
    assert m.edits == {"loss.name": "hinge", "model.d_width": 64}
    applied: list = []
    m.events.config.connect(applied.append)
    m.apply(m.draft)
    assert m.edits == {} and m.applied.loss.name == "hinge" and len(applied) == 1


def test_running_step_and_device_notify_only_on_change():
    m = WindowModel(C.Config())
    steps: list = []
    m.events.step.connect(steps.append)
    for s in (0, 1, 1, 2):
        m.set_step(s)
    assert steps == [1, 2]
    runs: list = []
    m.events.running.connect(runs.append)
    m.set_running(True)
    m.set_running(True)
    assert runs == [True]
