"""`python -m core call`: one voice turn from a WAV file, as a user runs it."""
from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from core.cli import main
from core.clones import create_clone
from core.conversations import thread_messages
from core.knowledge.ingest import ingest_now
from core.providers.speech import wav_bytes
from core.runtime import open_runtime
from tests.call_peer import silence, speech

NOTES = "# Lighthouse\n\nThe lighthouse keeper winds the clockwork every four hours. Paraffin comes by boat.\n"
TIMINGS = {"speech", "stt", "retrieval", "first_token", "first_audio", "total"}


@pytest.fixture
def keeper(settings):
    runtime = open_runtime(settings, seed_demo=False)
    clone = create_clone(runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    yield runtime, clone
    runtime.close()


def write(path, samples, rate=16_000):
    path.write_bytes(wav_bytes(samples, rate))
    return path


def test_one_voice_turn_from_a_file_prints_the_transcript_answer_citations_and_timings(keeper, tmp_path, capsys):
    runtime, clone = keeper
    question = write(tmp_path / "q.wav", np.concatenate([silence(0.5, 22_050), speech(
        "How often does the keeper wind the clockwork?", 22_050), silence(0.5, 22_050)]), 22_050)
    out = tmp_path / "answer.wav"
    assert main(["call", "--clone", "Keeper", "--in", str(question), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "clockwork" in result["transcript"].lower()
    assert "four hours" in result["answer"] and result["status"] == "complete"
    assert result["citations"][0]["document"] == "lighthouse.md" and result["citations"][0]["cited"]
    assert set(result["citations"][0]) == {"n", "document", "page", "text", "score", "cited"}
    assert set(result["timings_ms"]) == TIMINGS and all(v is not None for v in result["timings_ms"].values())
    assert 1000 < result["timings_ms"]["speech"] < 5000
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 24_000 and wav.getnframes() > 24_000
    with runtime.session() as db:
        user, answer = thread_messages(db, result["thread_id"])
    assert user.content == result["transcript"] and answer.timings["first_audio"] == result["timings_ms"]["first_audio"]

    again = write(tmp_path / "q2.wav", speech("When does the paraffin come?", 16_000))
    assert main(["call", "--clone", "Keeper", "--in", str(again), "--thread", result["thread_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thread_id"] == result["thread_id"]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not audio at all"), "is not a WAV recording"),
    (lambda p: write(p, silence(3.0)), "No speech was found"),
    (lambda p: write(p, silence(61.0, 8000), 8000), "keep a question under 60 s"),
])
def test_bad_audio_exits_non_zero_with_one_plain_line(keeper, tmp_path, capsys, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    assert main(["call", "--clone", "Keeper", "--in", str(path), "--json"]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
