"""The engine's English words, shown in the window's language.

The engine writes its alarm messages, period labels and NG reasons in English on purpose (the
store, the logs and the exports read the same on every station), so the window translates them
where it shows them: each known text is matched whole, its figures and names kept, and put in
the translated template. A text no pattern knows is shown as the engine wrote it.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

CONTEXT = "engine_text"
# (the engine's text as a pattern, the same text as a template of its named groups)
PATTERNS = [
    (re.compile(r"(?P<limit>\d+) NG parts in a row"),
     QT_TRANSLATE_NOOP("engine_text", "{limit} NG parts in a row")),
    (re.compile(r"NG rate (?P<rate>\d+) % over the last (?P<window>\d+) parts"
                r" \(limit (?P<limit>\d+) %\)"),
     QT_TRANSLATE_NOOP("engine_text", "NG rate {rate} % over the last {window} parts (limit {limit} %)")),  # noqa: E501
    (re.compile(r"(?P<count>\d+) live frames not inspected in this run:"
                r" the station cannot keep up"),
     QT_TRANSLATE_NOOP("engine_text", "{count} live frames not inspected in this run: the station cannot keep up")),  # noqa: E501
    (re.compile(r"line link (?P<name>.+) is down"),
     QT_TRANSLATE_NOOP("engine_text", "line link {name} is down")),
    (re.compile(r"lot (?P<name>.+)"), QT_TRANSLATE_NOOP("engine_text", "lot {name}")),
    (re.compile(r"shift (?P<span>\S+)"), QT_TRANSLATE_NOOP("engine_text", "shift {span}")),
    (re.compile(r"last hour"), QT_TRANSLATE_NOOP("engine_text", "last hour")),
    (re.compile(r"anomaly score"), QT_TRANSLATE_NOOP("engine_text", "anomaly score")),
    (re.compile(r"U-Net \+ anomaly"), QT_TRANSLATE_NOOP("engine_text", "U-Net + anomaly")),
    (re.compile(r"not recorded"), QT_TRANSLATE_NOOP("engine_text", "not recorded")),
]  # fmt: skip


def engine_text(text: str) -> str:
    """`text` of the engine in the window's language (unchanged when no pattern knows it)."""
    for pattern, template in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return QCoreApplication.translate(CONTEXT, template).format(**found.groupdict())
    return text
