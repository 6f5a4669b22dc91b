"""A challenger bundle's comparison with the champion, as `station-train compare --record`
wrote it into the challenger's manifest (`comparison`), shown when a recipe moves to it.

The recipe editor shows it before the change is saved; the window shows it, with a Roll back
button, once the new bundle is in service. Nothing here judges: the figures are the report's.
"""

from __future__ import annotations

import json
import zipfile
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.bundle import MANIFEST

# The report's headline figures, in its order; for these, lower is better.
FIGURES = {  # translated where shown
    "recall": QT_TRANSLATE_NOOP("review_comparison", "recall (defective parts rejected)"),
    "false_reject_rate": QT_TRANSLATE_NOOP(
        "review_comparison", "false-reject rate (good parts rejected)"
    ),
    "dice_mean": QT_TRANSLATE_NOOP("review_comparison", "U-Net Dice, mean over types"),
    "image_auroc": QT_TRANSLATE_NOOP("review_comparison", "image AUROC"),
    "pixel_auroc_unet": QT_TRANSLATE_NOOP("review_comparison", "pixel AUROC, U-Net"),
    "pixel_auroc_anomaly": QT_TRANSLATE_NOOP("review_comparison", "pixel AUROC, anomaly heat"),
}
LOWER_IS_BETTER = {"false_reject_rate"}
BETTER, WORSE = "#4fd1a5", "#ff9e57"


def manifest_comparison(bundle: str | Path) -> dict[str, Any] | None:
    """The `comparison` of a bundle folder's or zip's manifest, read without loading the
    models (cheap enough for a form); None when there is none or it cannot be read."""
    path = Path(bundle)
    try:
        if path.is_dir():
            text = (path / MANIFEST).read_text(encoding="utf-8-sig")
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                text = archive.read(MANIFEST).decode("utf-8-sig")
        else:
            return None
        comparison = json.loads(text).get("comparison")
    except (OSError, KeyError, UnicodeDecodeError, ValueError, zipfile.BadZipFile, AttributeError):
        return None
    return comparison if isinstance(comparison, dict) else None


def _figure(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


def _colour(key: str, champion: object, challenger: object) -> str:
    """Green where the challenger does better, orange where worse, plain when equal."""
    if not isinstance(champion, int | float) or not isinstance(challenger, int | float):
        return ""
    if challenger == champion:
        return ""
    better = (challenger < champion) == (key in LOWER_IS_BETTER)
    return BETTER if better else WORSE


SHORT = {
    "recall": QT_TRANSLATE_NOOP("review_comparison", "recall"),
    "false_reject_rate": QT_TRANSLATE_NOOP("review_comparison", "false rejects"),
    "dice_mean": QT_TRANSLATE_NOOP("review_comparison", "Dice"),
}


def _tr(text: str) -> str:
    """A text marked above with QT_TRANSLATE_NOOP, in the window's language."""
    return QCoreApplication.translate("review_comparison", text)


def comparison_line(comparison: dict[str, Any]) -> str:
    """One line for a form: champion → challenger on recall, false rejects and Dice."""
    ours = comparison.get("challenger_metrics", {})
    theirs = comparison.get("champion_metrics", {})
    figures = ", ".join(
        f"{_tr(label)} {_figure(theirs.get(key))} → {_figure(ours.get(key))}"
        for key, label in SHORT.items()
        if key in ours or key in theirs
    )
    champion = comparison.get("champion", {}).get("name", "?")
    return QCoreApplication.translate(
        "review_comparison", "against {champion}: {figures} ({n} images)"
    ).format(champion=champion, figures=figures, n=comparison.get("n_images", "?"))


def comparison_html(comparison: dict[str, Any], challenger: str) -> str:
    """Champion beside challenger, the figures the report recorded, as rich text."""
    champion = comparison.get("champion", {})
    ours = comparison.get("challenger_metrics", {})
    theirs = comparison.get("champion_metrics", {})
    rows = []
    for key, label in FIGURES.items():
        if key not in theirs and key not in ours:
            continue
        colour = _colour(key, theirs.get(key), ours.get(key))
        style = f' style="color:{colour}"' if colour else ""
        rows.append(
            f"<tr><td>{escape(_tr(label))}</td><td align='right'>{_figure(theirs.get(key))}</td>"
            f"<td align='right'{style}><b>{_figure(ours.get(key))}</b></td></tr>"
        )
    translate = QCoreApplication.translate
    counts = translate(
        "review_comparison",
        "{n} images ({defective} defective, {good} good) neither bundle trained on; "
        "verdicts differ on {differ}",
    ).format(
        n=comparison.get("n_images", "?"),
        defective=comparison.get("n_defective", "?"),
        good=comparison.get("n_good", "?"),
        differ=comparison.get("disagreements", "?"),
    )
    heading = translate(
        "review_comparison", "Challenger <b>{challenger}</b> against champion <b>{champion}</b>"
    ).format(challenger=escape(challenger), champion=escape(str(champion.get("name", "?"))))
    columns = (
        translate("review_comparison", "figure"),
        translate("review_comparison", "champion"),
        translate("review_comparison", "challenger"),
    )
    source = translate("review_comparison", "data: {data}, {time}<br>report: {report}").format(
        data=escape(str(comparison.get("data", "?"))),
        time=escape(str(comparison.get("time", ""))),
        report=escape(str(comparison.get("report", ""))),
    )
    return (
        f"<p>{heading} ({escape(str(champion.get('digest', ''))[:12])})</p>"
        "<table cellspacing='0' cellpadding='3'>"
        f"<tr><th align='left'>{columns[0]}</th><th>{columns[1]}</th><th>{columns[2]}</th></tr>"
        f"{''.join(rows)}</table>"
        f"<p>{escape(counts)}<br>{source}</p>"
    )


class ComparisonDialog(QDialog):
    """Not modal (the line keeps running): the comparison, Keep, and Roll back when the
    recipe has a previous bundle to go back to."""

    roll_back = Signal()

    def __init__(
        self,
        comparison: dict[str, Any],
        challenger: str,
        previous: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(
            self.tr("New model bundle in service: {bundle}").format(bundle=challenger)
        )
        self.text = QLabel(comparison_html(comparison, challenger), wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox()
        self.keep_button = buttons.addButton(
            self.tr("Keep"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.roll_back_button = QPushButton(
            self.tr("Roll back to {bundle}").format(bundle=Path(previous).name)
            if previous
            else self.tr("Roll back")
        )
        self.roll_back_button.setEnabled(bool(previous))
        self.roll_back_button.setToolTip(previous or self.tr("This recipe has no previous bundle"))
        buttons.addButton(self.roll_back_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.accepted.connect(self.accept)
        self.roll_back_button.clicked.connect(self._roll_back)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setModal(False)

    def _roll_back(self) -> None:
        self.roll_back.emit()
        self.accept()
