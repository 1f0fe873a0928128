"""Help -> Guide (F1): one page that says what each view shows.

The canvas layers come from ``ganplay.live.layers.LAYERS`` (their labels and tooltips), the charts
from the chart panel's tables, the live fields from the config and the toolbar from the window's
own actions, so whatever is added to those appears here; the sentences around them live in
``help_text``.
"""
from __future__ import annotations

from html import escape
from typing import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from ganplay.engine import config as C
from ganplay.live.layers import LAYERS, LayerSpec

from . import help_text as H
from .charts import D_OUTPUT_PLOTS, DISTANCE_PLOTS, IMAGE_METRIC_PLOTS, METRIC_PLOTS, STEP_PLOTS

SECTIONS = (("canvas", "The canvas"), ("charts", "The charts"), ("setup", "The setup panel"),
            ("toolbar", "The toolbar"), ("compare", "Compare recipes"), ("latent", "The latent explorer"),
            ("keys", "Keys"))


def _dl(rows: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt><b>{escape(a)}</b></dt><dd>{escape(b)}</dd>" for a, b in rows) + "</dl>"


def _table(rows: Iterable[tuple[str, str]]) -> str:
    return ('<table cellspacing="0" cellpadding="2">' + "".join(
        f"<tr><td><b>{escape(a)}</b>&nbsp;&nbsp;</td><td>{escape(b)}</td></tr>" for a, b in rows) + "</table>")


def _chart_rows(plots: tuple) -> list[tuple[str, str]]:
    rows = []
    for title, series in plots:
        curves = ", ".join(label for _, label, _ in series)
        rows.append((title, f"{H.CHART_HELP.get(title, '')} Curves: {curves}.".strip()))
    return rows


def _action_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    rows = []
    for a in actions:
        if a.isSeparator() or not a.text():
            continue
        keys = a.shortcut().toString()
        rows.append((a.text() + (f" ({keys})" if keys else ""), a.statusTip() or a.toolTip()))
    return rows


def guide_html(layers: Iterable[LayerSpec] = LAYERS, toolbar: Iterable[QAction] = ()) -> str:
    """The whole guide as one HTML page."""
    live = [C.field_info(p) for p in sorted(C.LIVE_FIELDS)]
    parts = [
        "<h2>What ganplay shows</h2>",
        f"<p>{escape(H.GUIDE_INTRO)}</p>",
        "<p>" + " \u00b7 ".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in SECTIONS) + "</p>",
        '<h3><a name="canvas"></a>The canvas</h3>',
        f"<p>{escape(H.GUIDE_CANVAS_2D)}</p>",
        _dl((spec.label, spec.tooltip) for spec in layers),
        "<p>Drawn over the layers:</p>",
        _dl(H.GUIDE_CANVAS_EXTRA),
        f"<p>{escape(H.GUIDE_CANVAS_IMAGES)}</p>",
        '<h3><a name="charts"></a>The charts</h3>',
        f"<p>{escape(H.GUIDE_CHARTS)}</p>",
        _dl(_chart_rows(STEP_PLOTS)),
        "<p>For 2-D data:</p>", _dl(_chart_rows(METRIC_PLOTS)),
        "<p>For MNIST and Stacked MNIST:</p>", _dl(_chart_rows(IMAGE_METRIC_PLOTS)),
        "<p>For a Wasserstein or hinge critic (WGAN, WGAN-GP, hinge) D's output is a score, not a "
        "probability; the charts show instead:</p>",
        _dl(_chart_rows((D_OUTPUT_PLOTS["critic"], DISTANCE_PLOTS["critic"]))),
        "<p>For the f-GANs:</p>", _dl(_chart_rows((D_OUTPUT_PLOTS["fgan"], DISTANCE_PLOTS["fgan"]))),
        f"<p>{escape(H.GUIDE_BARS)}</p>",
        '<h3><a name="setup"></a>The setup panel</h3>',
        f"<p>{escape(H.GUIDE_SETUP)}</p>",
        _dl((f.path, f.help) for f in live),
        '<h3><a name="toolbar"></a>The toolbar</h3>',
        _dl(_action_rows(toolbar) + list(H.GUIDE_TOOLBAR_EXTRA)),
        '<h3><a name="compare"></a>Compare recipes</h3>',
        f"<p>{escape(H.GUIDE_COMPARE)}</p>",
        '<h3><a name="latent"></a>The latent explorer</h3>',
        f"<p>{escape(H.GUIDE_LATENT)}</p>",
        '<h3><a name="keys"></a>Keys</h3>',
        _table(H.GUIDE_KEYS),
    ]
    return "\n".join(parts)


class GuideDialog(QDialog):
    """A non-modal window with the guide; ``toolbar``: the actions the toolbar shows."""

    def __init__(self, parent: QWidget | None = None, toolbar: Iterable[QAction] = ()):
        super().__init__(parent)
        self.setWindowTitle("ganplay guide")
        self.setModal(False)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)   # in-page anchors only
        self.browser.anchorClicked.connect(lambda url: self.browser.scrollToAnchor(url.fragment()))
        self.browser.setHtml(guide_html(LAYERS, list(toolbar)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)
        self.resize(760, 820)

    def plain_text(self) -> str:
        return self.browser.toPlainText()
