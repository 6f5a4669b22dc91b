"""Status bar: provider really in use, latency, FPS, dropped frames, bundle name."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

FPS_WINDOW_S = 2.0


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        for key, tip in [
            ("provider", "onnxruntime execution provider the models really run on"),
            ("latency", "time from frame to result on screen, last frame"),
            ("fps", f"results per second over the last {FPS_WINDOW_S:.0f} s"),
            ("dropped", "live frames dropped because a newer frame arrived first"),
            ("bundle", "model bundle in use"),
        ]:
            label = QLabel(toolTip=tip)
            self.labels[key] = label
            self.addPermanentWidget(label)
        self._arrivals: deque[float] = deque()
        self.set_provider(None)
        self.set_bundle(None)
        self.set_dropped(0)
        self.labels["latency"].setText("latency –")
        self.labels["fps"].setText("FPS –")

    def set_provider(self, provider: str | None) -> None:
        self.labels["provider"].setText(f"provider {provider or '–'}")

    def set_bundle(self, name: str | None) -> None:
        self.labels["bundle"].setText(f"bundle {name or 'none'}")

    def set_dropped(self, count: int) -> None:
        self.labels["dropped"].setText(f"dropped {count}")

    def frame_done(self, latency_ms: float) -> None:
        now = time.monotonic()
        self._arrivals.append(now)
        while self._arrivals and now - self._arrivals[0] > FPS_WINDOW_S:
            self._arrivals.popleft()
        span = now - self._arrivals[0]
        fps = (len(self._arrivals) - 1) / span if span > 0 else 0.0
        self.labels["latency"].setText(f"latency {latency_ms:.0f} ms")
        self.labels["fps"].setText(f"FPS {fps:.1f}")

    def reset_rate(self) -> None:
        self._arrivals.clear()
        self.labels["fps"].setText("FPS –")
