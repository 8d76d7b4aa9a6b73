"""The strip under the chat: memory, speed, context, CPU and energy of the current answer.

It only shows what it is given; the window decides when to sample (about once a second while an
answer streams, never while idle), so nothing here runs on its own.
"""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QLayout, QWidget

from bitnet_desktop.meters.display import (ESTIMATE_MARK, format_bytes, format_cpu_percent,
                                           format_duration, format_energy_per_token, format_rate,
                                           format_watt_hours)
from bitnet_desktop.meters.memory import MemorySample

CONTEXT_WARNING_FRACTION = 0.9
WARNING_COLOR = "#d9480f"  # orange-red, readable on light and dark themes
GAP = 14


class StatsBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stats_bar")
        self.setStyleSheet(f'QLabel[warning="true"] {{ color: {WARNING_COLOR}; font-weight: bold; }}')
        # The answer's figures on the left, the meters on the right; the two groups go one above
        # the other when a narrow window cannot hold them side by side (nothing is cut off).
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(6, 2, 6, 2)
        self._layout.setSpacing(GAP)
        answer, meters = QHBoxLayout(), QHBoxLayout()
        for group in (answer, meters):
            group.setSpacing(GAP)
        self._speed = self._add_label(answer, "stats_speed")
        self._ttft = self._add_label(answer, "stats_ttft")
        self._context = self._add_label(answer, "stats_context")
        answer.addStretch(1)
        meters.addStretch(1)
        self._memory = self._add_label(meters, "stats_memory")
        self._cpu = self._add_label(meters, "stats_cpu")
        self._energy = self._add_label(meters, "stats_energy")
        self._groups = (answer, meters)
        self._layout.addLayout(answer, 1)
        self._layout.addLayout(meters, 1)
        # The bar may be narrower than both groups side by side (it stacks them): see minimumSizeHint.
        self._layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    def show_memory(self, sample: MemorySample) -> None:
        share = sample.model_share
        text = f"RAM {format_bytes(sample.rss)}"
        tip = [f"This process keeps {format_bytes(sample.rss)} in memory."]
        if share is not None:
            text += f" · model {format_bytes(share)}"
            if sample.model_file_resident is not None:
                tip.append(f"Model weights resident from the file: {format_bytes(sample.model_file_resident)}")
            if sample.model_allocated is not None:
                tip.append(f"Allocated by the model (KV cache, scratch): {format_bytes(sample.model_allocated)}")
        tip.append(f"Source: {sample.source}")
        self._set(self._memory, text, "\n".join(tip))

    def show_speed(self, prompt_tps: float | None, generation_tps: float | None, ttft: float | None) -> None:
        parts = []
        if prompt_tps is not None:
            parts.append(f"prompt {format_rate(prompt_tps)}")
        if generation_tps is not None:
            parts.append(f"gen {format_rate(generation_tps)}")
        self._set(self._speed, " · ".join(parts), "Prompt reading and generation speed of this answer")
        self._set(self._ttft, "" if ttft is None else f"first token {format_duration(ttft)}",
                  "Time from sending to the first token of the answer")

    def show_context(self, used: int, size: int) -> None:
        share = used / size if size > 0 else 0.0
        self._set(self._context, f"ctx {used} / {size}",
                  f"{used} of {size} context tokens used ({share:.0%})")
        self._context.setProperty("warning", share > CONTEXT_WARNING_FRACTION)
        self._context.style().unpolish(self._context)
        self._context.style().polish(self._context)

    def show_cpu(self, percent: float | None) -> None:
        self._set(self._cpu, "" if percent is None else f"CPU {format_cpu_percent(percent)}",
                  "CPU use of this app: 100 % is one core fully busy")

    def show_energy(self, joules_per_token: float | None, conversation_wh: float | None,
                    source: str | None, measured: bool) -> None:
        parts = []
        if joules_per_token is not None:
            parts.append(format_energy_per_token(joules_per_token))
        if conversation_wh is not None:
            parts.append(f"{format_watt_hours(conversation_wh)} this chat")
        text = " · ".join(parts)
        if text and not measured:
            text = f"{ESTIMATE_MARK} {text}"
        tip = source or ""
        if tip and not measured:
            tip += "\nAn estimate, not a measurement."
        self._set(self._energy, text, tip)

    def clear_answer(self) -> None:
        """Between answers: the previous answer's speed and time to first token go."""
        self._set(self._speed, "", "")
        self._set(self._ttft, "", "")

    @property
    def stacked(self) -> bool:
        """True while the figures and the meters are shown on two lines (the bar is too narrow)."""
        return self._layout.direction() == QBoxLayout.Direction.TopToBottom

    def minimumSizeHint(self) -> QSize:
        margins = self._layout.contentsMargins()
        widest = max(group.minimumSize().width() for group in self._groups) + margins.left() + margins.right()
        return QSize(widest, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        for group in self._groups:
            group.invalidate()   # a label just shown, hidden or changed: measure it as it is now
        margins = self._layout.contentsMargins()
        needed = sum(group.sizeHint().width() for group in self._groups) + GAP + margins.left() + margins.right()
        direction = QBoxLayout.Direction.TopToBottom if needed > self.width() else QBoxLayout.Direction.LeftToRight
        if direction != self._layout.direction():
            self._layout.setDirection(direction)

    def _add_label(self, layout: QHBoxLayout, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.hide()
        layout.addWidget(label)
        return label

    def _set(self, label: QLabel, text: str, tooltip: str) -> None:
        label.setText(text)
        label.setToolTip(tooltip if text else "")
        label.setHidden(not text)
        self._fit()
