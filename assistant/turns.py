"""End of turn, decided from VAD probabilities: pure logic, one call per 32 ms window.

A fixed short silence answers half-questions and a long one adds dead air, so the tracker only
*reports* silence milestones: after `speculate_after_ms` the session prepares an answer, after
`commit_after_ms` it may commit to it when the prepared turn looks complete and confident, and at
`max_silence_ms` the turn ends whatever the transcript says. Speech that resumes cancels all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .settings import Endpointing

WINDOW_MS = 32  # silero's 512-sample window at 16 kHz


class Signal(Enum):
    SPEECH_STARTED = "speech_started"
    SPECULATE = "speculate"          # silence long enough to prepare the answer
    MAY_COMMIT = "may_commit"        # silence long enough to commit to a confident, complete turn
    RESUMED = "resumed"              # speech came back after SPECULATE: the speculation is stale
    SILENCE_TIMEOUT = "silence_timeout"


@dataclass
class TurnTracker:
    config: Endpointing
    in_turn: bool = False
    voiced_ms: int = 0        # voiced time in the current candidate start
    silence_ms: int = 0       # silence since the last voiced window, inside a turn
    speech_end_ms: int = 0    # stream time at the end of the last voiced window
    speech_start_ms: int = 0
    now_ms: int = 0
    _speculated: bool = False
    _may_commit: bool = False

    def push(self, prob: float) -> list[Signal]:
        """Advance by one window with speech probability `prob`; return what happened."""
        self.now_ms += WINDOW_MS
        voiced = prob >= self.config.speech_threshold
        signals: list[Signal] = []
        if not self.in_turn:
            # A start needs min_speech_ms of voice so clicks and coughs do not open a turn.
            self.voiced_ms = self.voiced_ms + WINDOW_MS if voiced else 0
            if self.voiced_ms >= self.config.min_speech_ms:
                self.in_turn = True
                self.speech_start_ms = self.now_ms - self.voiced_ms
                self.speech_end_ms = self.now_ms
                self.silence_ms = 0
                signals.append(Signal.SPEECH_STARTED)
            return signals
        if voiced:
            if self._speculated:
                signals.append(Signal.RESUMED)
            self.silence_ms = 0
            self.speech_end_ms = self.now_ms
            self._speculated = self._may_commit = False
            return signals
        self.silence_ms += WINDOW_MS
        if not self._speculated and self.silence_ms >= self.config.speculate_after_ms:
            self._speculated = True
            signals.append(Signal.SPECULATE)
        if not self._may_commit and self.silence_ms >= self.config.commit_after_ms:
            self._may_commit = True
            signals.append(Signal.MAY_COMMIT)
        if self.silence_ms >= self.config.max_silence_ms:
            signals.append(Signal.SILENCE_TIMEOUT)
        return signals

    @property
    def pausing(self) -> bool:
        return self.in_turn and self.silence_ms > 0

    @property
    def may_commit(self) -> bool:
        return self._may_commit

    def reset(self) -> None:
        """Back to waiting for the next turn (the stream clock keeps running)."""
        self.in_turn = False
        self.voiced_ms = self.silence_ms = 0
        self._speculated = self._may_commit = False
