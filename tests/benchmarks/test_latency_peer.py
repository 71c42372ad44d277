"""The pure logic of `benchmarks/latency.py --peer pipecat` (no model, no server, no peer venv):
the turn order, how a peer turn is judged and timed, the summary and its ratio, the streaming
loop both sides share, and the message when the peer's virtualenv is missing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import latency_peer as lp  # noqa: E402
from latency_questions import RATE, Question  # noqa: E402


def _q(expected: str = "lost-card", two_clause: bool = False) -> Question:
    return Question("q01", "en", "How do I report a lost card?", expected, two_clause, np.full(1600, 0.1, np.float32))


def test_turns_interleave_ours_then_peer_question_by_question():
    assert lp.interleave(3, True) == [(0, "ours"), (0, "peer"), (1, "ours"), (1, "peer"), (2, "ours"), (2, "peer")]
    assert lp.interleave(2, False) == [(0, "ours"), (1, "ours")]


def test_peer_turn_is_timed_from_the_end_of_speech_to_its_answers_first_audio():
    events = [(1.0, {"type": "vad_started"}), (5.3, {"type": "vad_stopped"}),
              (6.4, {"type": "transcript", "text": "How do I report a lost card?"}),
              (6.42, {"type": "answer", "response": 0, "entry_id": "lost-card"}),
              (7.0, {"type": "audio", "response": 0}), (9.0, {"type": "done", "response": 0})]
    row = lp.analyse_peer_turn(_q(), events, end=5.0)
    assert row["first_audio_s"] == pytest.approx(2.0)
    assert row["cited"] and not row["answered_early"] and row["transcript"].startswith("How")
    wall = row["wall"]
    assert wall["endpoint_wait"] == pytest.approx(0.3) and wall["asr_wait"] == pytest.approx(1.1)
    assert wall["retrieval_wait"] == pytest.approx(0.02) and wall["tts_first_audio"] == pytest.approx(0.58)
    assert sum(wall.values()) == pytest.approx(row["first_audio_s"])


def test_a_clause_answered_before_the_end_is_early_and_the_later_answer_is_the_timed_one():
    events = [(2.5, {"type": "vad_stopped"}), (2.9, {"type": "transcript", "text": "I lost my card yesterday."}),
              (3.0, {"type": "answer", "response": 0, "entry_id": "card-replacement"}),
              (3.5, {"type": "audio", "response": 0}), (3.8, {"type": "vad_started"}),
              (5.25, {"type": "vad_stopped"}), (6.4, {"type": "transcript", "text": "How do I report it?"}),
              (6.5, {"type": "answer", "response": 1, "entry_id": "lost-card"}),
              (7.25, {"type": "audio", "response": 1})]
    row = lp.analyse_peer_turn(_q(two_clause=True), events, end=5.0)
    assert row["answered_early"] and row["response_before_end"]
    assert (row["responses"], row["turns"]) == (2, 2)
    assert row["first_audio_s"] == pytest.approx(2.25) and row["entry_id"] == "lost-card"
    assert row["transcript"] == "How do I report it?"
    # a VAD stop before the end alone (no answer yet) also means the turn was cut
    cut = lp.analyse_peer_turn(_q(), [(4.0, {"type": "vad_stopped"})], end=5.0)
    assert cut["answered_early"] and cut["first_audio_s"] is None and not cut["cited"]


def test_summary_reports_both_sides_and_the_ratio_peer_over_ours():
    def row(ours, peer, cited=True, early=False):
        return {"first_audio_s": ours, "cited": True, "answered_early": False,
                "peer": {"first_audio_s": peer, "cited": cited, "answered_early": early,
                         "wall": {"asr_wait": peer and peer / 2}}}

    s = lp.summarise_peer([row(0.5, 1.5), row(0.6, None, cited=False, early=True), row(0.7, 2.1)], 12.34)
    assert s["ours_first_audio_s"]["p50"] == pytest.approx(0.6)
    assert s["peer_first_audio_s"]["p50"] == pytest.approx(1.8) and s["peer_first_audio_s"]["unanswered"] == 1
    assert s["ratio_peer_over_ours_p50"] == pytest.approx(3.0)
    assert (s["peer_cited"], s["ours_cited"], s["peer_answered_early"]) == ("2/3", "3/3", 1)
    assert s["peer_stages_s"]["asr_wait"]["p50"] == pytest.approx(0.9)
    assert s["peer_stages_s"]["endpoint_wait"]["p50"] is None and s["peer_process_cpu_s"] == 12.3
    assert lp.summarise_peer([row(0.5, None)])["ratio_peer_over_ours_p50"] is None


def test_the_last_speech_sample_ends_a_chunk_and_streaming_stops_after_the_answer():
    audio = np.full(RATE // 10 + 7, 0.1, np.float32)
    pcm, n_speech = lp.speech_pcm(audio)
    assert len(pcm) == n_speech * lp.CHUNK * 2
    assert np.frombuffer(pcm[-2:], "<i2")[0] != 0 and not any(pcm[:100])

    async def run():
        sent: list[tuple[float, bytes]] = []
        finished, speech_end = asyncio.Event(), []

        async def send(chunk):
            sent.append((asyncio.get_running_loop().time(), chunk))
            if len(sent) == n_speech:
                finished.set()     # the answer is done as the speech ends

        reader = asyncio.ensure_future(asyncio.sleep(30))
        await lp.stream_paced(send, audio, speech_end, finished, reader)
        reader.cancel()
        return sent, speech_end

    sent, speech_end = asyncio.run(run())
    assert len(speech_end) == 1
    assert b"".join(c for _, c in sent[:n_speech]) == pcm
    extra = len(sent) - n_speech                  # silence for TAIL_S after `finished`
    assert 1 <= extra <= lp.TAIL_S / 0.040 + 2 and not any(sent[-1][1])
    gaps = np.diff([t for t, _ in sent])
    assert 0.025 < float(np.median(gaps)) < 0.06  # microphone pace


class _FakeSocket:
    """Answers with a response created (and done) during the speech, then one after its end."""

    def __init__(self, n_speech: int) -> None:
        self.n_speech, self.sent, self.queue = n_speech, 0, asyncio.Queue()

    async def send(self, chunk) -> None:
        self.sent += 1
        if self.sent == 2:
            for e in ({"type": "answer", "response": 0}, {"type": "done", "response": 0}):
                self.queue.put_nowait(json.dumps(e))
        if self.sent == self.n_speech + 3:
            for e in ({"type": "answer", "response": 1}, {"type": "audio", "response": 1},
                      {"type": "done", "response": 1}):
                self.queue.put_nowait(json.dumps(e))

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.queue.get()


def test_a_turn_streams_until_the_answer_given_after_the_end_of_speech_is_done():
    audio = np.full(RATE // 10, 0.1, np.float32)
    ws = _FakeSocket(lp.speech_pcm(audio)[1])
    events, end = asyncio.run(lp.stream_turn(ws, audio, "answer", "done", "response"))
    kinds = [e["type"] for _, e in events]
    assert kinds == ["answer", "done", "answer", "audio", "done"]     # the early done did not stop it
    assert events[0][0] < end < events[2][0]
    assert ws.sent - ws.n_speech <= 3 + lp.TAIL_S / 0.040 + 2


def test_missing_peer_venv_is_said_clearly_with_the_setup_command(tmp_path, capsys):
    venv = tmp_path / "no-venv"
    assert lp.peer_python(venv) is None
    message = lp.missing_venv_message(venv)
    assert str(venv) in message and 'pip install "pipecat-ai[silero]==1.14.0"' in message
    assert "--system-site-packages" in message

    import latency

    assert latency.main(["--peer", "pipecat", "--peer-venv", str(venv)]) == 2
    assert "benchmarks/README.md" in capsys.readouterr().err
