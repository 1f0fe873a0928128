"""File -> Open sweep: the results table of a ``ganplay sweep`` folder, one row per run.

A row opens that run's generator in the latent explorer (``exploreRun(run_dir)``, double-click
too) or continues its training in the playground (``continueRun(run_dir)``); the main window
loads the folder off the GUI thread (``engine.sweep.run_snapshot`` / ``run_state``). A diverged
run opens at its last good state. Refresh re-reads the folder (a sweep may still be running).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from ganplay.engine.sweep import read_plan, run_folder, summarise, sweep_rows, varying_columns

METRICS = (("status", "status"), ("modes_covered", "modes"), ("hq_fraction", "HQ %"), ("reverse_kl", "rev KL"),
           ("w1", "W1"), ("steps", "steps"), ("wall_s", "wall s"), ("reason", "reason"))


def _text(key: str, row: dict[str, Any]) -> str:
    v = row.get(key)
    if v is None or v == "" or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if key == "modes_covered":
        return f"{v}/{row.get('modes_total')}"
    if key == "hq_fraction":
        return f"{100 * v:.1f}"
    if key in ("reverse_kl", "w1"):
        return f"{v:.3f}"
    if key == "wall_s":
        return f"{v:.0f}"
    return str(v)


class SweepView(QWidget):
    """The results of one sweep folder; raises the engine's SweepError for a folder that is not one."""

    exploreRun = Signal(str)
    continueRun = Signal(str)

    def __init__(self, sweep_dir: str | Path, parent: Any = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.sweep_dir = Path(sweep_dir)
        self.setWindowTitle(f"Sweep - {self.sweep_dir.name}")
        self.rows: list[dict[str, Any]] = []
        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.explore(r))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.btn_explore = QPushButton("Explore generator")
        self.btn_explore.setToolTip("Open this run's generator in the latent explorer (double-click a row)")
        self.btn_explore.clicked.connect(lambda: self.explore(self.table.currentRow()))
        self.btn_continue = QPushButton("Continue in playground")
        self.btn_continue.setToolTip("Replace the playground's training with this run's state and settings")
        self.btn_continue.clicked.connect(lambda: self.continue_(self.table.currentRow()))
        self.btn_refresh = QPushButton("Refresh")
        self.btn_refresh.setToolTip("Read the folder again (a sweep that is still running adds rows)")
        self.btn_refresh.clicked.connect(self.reload)
        buttons = QHBoxLayout()
        for b in (self.btn_explore, self.btn_continue):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.btn_refresh)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self.resize(900, 480)
        self.reload()

    def reload(self) -> None:
        self.rows = sweep_rows(self.sweep_dir)
        vary = varying_columns(read_plan(self.sweep_dir))
        self.columns = [("recipe", "recipe")] + [(k, k) for k in vary if k != "preset"] + list(METRICS)
        self.table.clear()
        self.table.setColumnCount(len(self.columns))
        self.table.setHorizontalHeaderLabels([h for _, h in self.columns])
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for j, (key, _) in enumerate(self.columns):
                item = QTableWidgetItem(_text(key, row))
                if key == "reason" and row.get("reason"):
                    item.setToolTip(str(row["reason"]))
                self.table.setItem(i, j, item)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        recipes = len(summarise(self.rows))
        self.summary.setText(f"{self.sweep_dir}: {len(self.rows)} runs of {recipes} recipe(s); "
                             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        self._selection_changed()

    def _openable(self, r: int) -> bool:
        return 0 <= r < len(self.rows) and (run_folder(self.sweep_dir, self.rows[r]) / "checkpoint.pt").exists()

    def _selection_changed(self) -> None:
        ok = self._openable(self.table.currentRow())
        self.btn_explore.setEnabled(ok)
        self.btn_continue.setEnabled(ok)

    def explore(self, r: int) -> None:
        if self._openable(r):
            self.exploreRun.emit(str(run_folder(self.sweep_dir, self.rows[r])))

    def continue_(self, r: int) -> None:
        if self._openable(r):
            self.continueRun.emit(str(run_folder(self.sweep_dir, self.rows[r])))
