"""Chromium's fake microphone for the page tests: the file it plays, and the mic button.

Chromium loops the file and reads it afresh each time capture starts, so a test can change what
the "customer" says next by rewriting the file and turning the microphone off and on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

RATE = 16_000
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def fake_mic_args(wav: Path) -> list[str]:
    """Chromium flags for a fake microphone that plays `wav`."""
    return FAKE_MEDIA + [f"--use-file-for-fake-audio-capture={wav}"]


def write_mic_file(path: Path, speech: np.ndarray, lead_s: float, tail_s: float = 60.0) -> Path:
    """Speech padded with silence, replacing `path` in one step so capture never reads half a file."""
    import soundfile as sf

    audio = np.concatenate([np.zeros(int(lead_s * RATE), np.float32), speech * 0.8,
                            np.zeros(int(tail_s * RATE), np.float32)])
    tmp = path.with_name(path.stem + ".tmp.wav")
    sf.write(tmp, audio, RATE, subtype="PCM_16")
    os.replace(tmp, path)
    return path


def start_mic(page) -> None:
    page.click("#mic-toggle")
    page.wait_for_function("() => window.teller.mic.active && window.teller.mic.sending", timeout=10_000)


def restart_mic(page) -> None:
    """Off and on again, as a customer would: the fake file starts over."""
    page.click("#mic-toggle")
    page.wait_for_function("() => !window.teller.mic.active", timeout=5_000)
    start_mic(page)
