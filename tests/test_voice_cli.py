"""`python -m core speak|transcribe|voices` as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from core.cli import main
from core import voices
from core.clones import create_clone
from core.runtime import open_runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def studio(settings, monkeypatch):
    voices.clear_cache()
    for name in ("ELEVENLABS_API_KEY", "SARVAM_API_KEY", "SARVAM_AI_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    runtime = open_runtime(settings, seed_demo=False)
    create_clone(runtime, "Marta", voice_settings={"variation": 0})
    runtime.close()
    return settings


def test_speak_writes_the_clones_voice_to_a_wav_file(studio, tmp_path):
    out = tmp_path / "answers" / "hello.wav"
    env = {**os.environ, "CLONE_STUDIO_HOME": str(studio.home), "DATABASE_URL": studio.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "core", "speak", "--clone", "marta", "--out", str(out), "Staff can carry over five days."],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "of Marta's voice (offline, en_US-joe-medium)" in done.stdout
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        assert wav.getnframes() > 22050


def test_transcribe_reads_back_what_speak_wrote(studio, tmp_path, capsys):
    out = tmp_path / "said.wav"
    assert main(["speak", "--clone", "Marta", "--out", str(out), "Staff", "can", "carry", "over", "five", "days."]) == 0
    capsys.readouterr()
    assert main(["transcribe", "--clone", "Marta", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"carry", "five", "days"} <= set(result["text"].lower().replace(".", "").split())
    assert result["provider"] == "offline" and result["seconds"] > 1


def test_voices_lists_the_offline_voice(studio, capsys):
    assert main(["voices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["voice_id"] for v in listed["voices"]] == ["en_US-joe-medium"]
    assert listed["sources"] == {"offline": "live"}
    assert main(["voices", "--search", "joe"]) == 0
    assert "offline     en_US-joe-medium" in capsys.readouterr().out
    assert main(["voices", "--gender", "female"]) == 0
    assert "No voices match." in capsys.readouterr().out


def test_errors_are_one_plain_line(studio, tmp_path, capsys):
    assert main(["speak", "--clone", "Nobody", "--out", str(tmp_path / "x.wav"), "Hi."]) == 1
    assert capsys.readouterr().err.strip() == "error: There is no clone called 'Nobody'; check the name or create it first."
    assert main(["speak", "--clone", "Marta", "--provider", "elevenlabs", "--out", str(tmp_path / "x.wav"), "Hi."]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No ElevenLabs API key is set") and "\n" not in err
    assert not (tmp_path / "x.wav").exists()
    assert main(["transcribe", "--clone", "Marta", str(tmp_path / "missing.wav")]) == 1
    assert "Could not read" in capsys.readouterr().err
