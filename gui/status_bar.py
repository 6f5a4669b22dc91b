"""Status bar: station state, provider really in use, model precision (fp32 / int8), latency,
FPS, dropped frames, missed triggers, bundle name."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

FPS_WINDOW_S = 2.0
VARIANT_TIP = "precision the models run in: fp32, or a variant such as int8 (STATION_VARIANT)"


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        for key, tip in [
            ("state", self.tr("state of the station (OPC UA for Machine Vision, OPC 40100-1)")),
            ("provider", self.tr("onnxruntime execution provider the models really run on")),
            ("variant", VARIANT_TIP),
            ("latency", self.tr("time from frame to result on screen, last frame")),
            (
                "fps",
                self.tr("results per second over the last {n} s").format(n=f"{FPS_WINDOW_S:.0f}"),
            ),
            ("dropped", self.tr("live frames not inspected because a newer frame arrived first")),
            ("missed", self.tr("triggers that came while the station was busy or not ready")),
            ("bundle", self.tr("model bundle in use")),
            ("links", self.tr("line links: PLC over Modbus TCP, MQTT (engineer settings)")),
        ]:
            label = QLabel(toolTip=tip)
            self.labels[key] = label
            self.addPermanentWidget(label)
        self._arrivals: deque[float] = deque()
        self.set_provider(None)
        self.set_variant(None)
        self.set_bundle(None)
        self.set_dropped(0)
        self.set_missed(0)
        self.set_state("Preoperational")
        self.set_links("", True)
        self.labels["latency"].setText(self.tr("latency –"))
        self.labels["fps"].setText(self.tr("FPS –"))

    def set_provider(self, provider: str | None) -> None:
        self.labels["provider"].setText(self.tr("provider {name}").format(name=provider or "–"))

    def set_variant(self, label: str | None, why: dict[str, str] | None = None) -> None:
        """`label`: e.g. 'int8' or 'U-Net fp32, anomaly int8'; `why`: each model's reason
        (engine.variants), shown as the tooltip."""
        self.labels["variant"].setText(self.tr("precision {label}").format(label=label or "–"))
        reasons = "".join(f"\n{role}: {reason}" for role, reason in (why or {}).items())
        self.labels["variant"].setToolTip(VARIANT_TIP + reasons)

    def set_bundle(self, name: str | None) -> None:
        self.labels["bundle"].setText(self.tr("bundle {name}").format(name=name or self.tr("none")))

    def set_dropped(self, count: int, alarm: bool = False) -> None:
        """`alarm`: more frames go uninspected than the station allows; shown in red."""
        self._flag("dropped", self.tr("dropped {count}").format(count=count), alarm)

    def set_missed(self, count: int) -> None:
        self._flag("missed", self.tr("missed {count}").format(count=count), count > 0)

    def set_links(self, text: str, up: bool) -> None:
        """The line links' headlines; red when one is down (no broker, not listening)."""
        self._flag("links", text, not up)
        self.labels["links"].setVisible(bool(text))

    def set_state(self, path: str) -> None:
        self._flag("state", path, path in ("Error", "Halted"))

    def _flag(self, key: str, text: str, alarm: bool) -> None:
        label = self.labels[key]
        label.setText(text)
        label.setProperty("alarm", "true" if alarm else "false")
        label.style().unpolish(label)
        label.style().polish(label)

    def frame_done(self, latency_ms: float) -> None:
        now = time.monotonic()
        self._arrivals.append(now)
        while self._arrivals and now - self._arrivals[0] > FPS_WINDOW_S:
            self._arrivals.popleft()
        span = now - self._arrivals[0]
        fps = (len(self._arrivals) - 1) / span if span > 0 else 0.0
        self.labels["latency"].setText(self.tr("latency {ms} ms").format(ms=f"{latency_ms:.0f}"))
        self.labels["fps"].setText(self.tr("FPS {fps}").format(fps=f"{fps:.1f}"))

    def reset_rate(self) -> None:
        self._arrivals.clear()
        self.labels["fps"].setText(self.tr("FPS –"))
