"""The voice gallery and a clone's voice, on a real database, with ElevenLabs as a local fake."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core import voices
from core.clones import create_clone
from core.errors import InvalidInput
from core.models import Clone, Conversation, Message, UsageEvent
from core.providers.speech import Voice, read_wav
from tests.fakes.elevenlabs import LIBRARY
from tests.fakes.fixtures import no_voice_keys  # noqa: F401
from tests.fakes.server import Reply, fake_server, sequence  # noqa: F401



@pytest.fixture(autouse=True)
def _no_keys(no_voice_keys):  # noqa: F811
    yield


@pytest.fixture
def elevenlabs(fake_server, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-gallery-test-key-0001")
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    monkeypatch.setenv("CLONE_STUDIO_RETRIES", "0")
    return fake_server


@pytest.fixture
def clone(runtime):
    return create_clone(runtime, "Ada")


def test_without_keys_the_gallery_is_the_offline_voice(runtime):
    result = voices.gallery(runtime)
    assert [(v.provider, v.name) for v in result.voices] == [("offline", "Joe")]
    assert result.sources == {"offline": "live"} and result.notes == {}


def test_a_configured_vendor_is_fetched_live_then_cached_for_an_hour(runtime, elevenlabs, monkeypatch):
    elevenlabs.route("GET", "/v2/voices", Reply(json=LIBRARY))
    now = [1000.0]
    monkeypatch.setattr(voices, "_clock", lambda: now[0])

    first = voices.gallery(runtime)
    assert first.sources == {"offline": "live", "elevenlabs": "live"}
    mine = next(v for v in first.voices if v.name == "My Narrator")
    assert mine.custom and not next(v for v in first.voices if v.name == "Rachel").custom

    now[0] += 3599
    assert voices.gallery(runtime).sources["elevenlabs"] == "cached"
    assert len(elevenlabs.calls("GET", "/v2/voices")) == 1
    now[0] += 2
    assert voices.gallery(runtime).sources["elevenlabs"] == "live"
    assert voices.gallery(runtime, refresh=True).sources["elevenlabs"] == "live"
    assert len(elevenlabs.calls("GET", "/v2/voices")) == 3


def test_an_unreachable_vendor_shows_the_bundled_list_with_the_reason(runtime, elevenlabs):
    elevenlabs.route("GET", "/v2/voices", Reply(503, json={"detail": "down"}))
    result = voices.gallery(runtime)
    assert result.sources["elevenlabs"] == "bundled"
    assert "server error" in result.notes["elevenlabs"]
    bundled = [v for v in result.voices if v.provider == "elevenlabs"]
    assert len(bundled) >= 20 and any(v.name == "Rachel" for v in bundled)


def test_after_a_failure_the_vendor_is_asked_again_only_after_a_few_minutes(runtime, elevenlabs, monkeypatch):
    elevenlabs.route("GET", "/v2/voices", sequence(Reply(503, json={}), Reply(json=LIBRARY)))
    now = [50.0]
    monkeypatch.setattr(voices, "_clock", lambda: now[0])
    assert voices.gallery(runtime).sources["elevenlabs"] == "bundled"
    now[0] += voices.RETRY_SECONDS - 1
    again = voices.gallery(runtime)
    assert again.sources["elevenlabs"] == "bundled" and "server error" in again.notes["elevenlabs"]
    assert len(elevenlabs.calls("GET", "/v2/voices")) == 1
    now[0] += 2
    assert voices.gallery(runtime).sources["elevenlabs"] == "live"


def test_a_failed_refresh_keeps_the_cached_voices(runtime, elevenlabs):
    elevenlabs.route("GET", "/v2/voices", sequence(Reply(json=LIBRARY), Reply(500, json={})))
    voices.gallery(runtime)
    again = voices.gallery(runtime, refresh=True)
    assert again.sources["elevenlabs"] == "cached" and "server error" in again.notes["elevenlabs"]
    assert {v.name for v in again.voices if v.provider == "elevenlabs"} == {"Rachel", "My Narrator"}


def test_the_cache_is_per_key(runtime, elevenlabs, monkeypatch):
    elevenlabs.route("GET", "/v2/voices", Reply(json=LIBRARY))
    voices.gallery(runtime)
    monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-another-account-0002")
    assert voices.gallery(runtime).sources["elevenlabs"] == "live"


def test_bundled_list_covers_every_vendor():
    for provider in ("elevenlabs", "sarvam", "openai"):
        listed = voices.fallback_voices(provider)
        assert listed and all(v.provider == provider and v.voice_id and v.name for v in listed)


def test_search_and_filters():
    pool = [
        Voice("elevenlabs", "1", "Rachel", "female", ("en",), "american", "Calm narration"),
        Voice("elevenlabs", "2", "George", "male", ("en",), "british", "Warm storyteller"),
        Voice("sarvam", "anushka", "Anushka", "female", ("en", "hi"), "indian"),
        Voice("offline", "joe", "Joe", "male", ("en",), "american"),
    ]
    assert [v.name for v in voices.filter_voices(pool, query="rach")] == ["Rachel"]
    assert [v.name for v in voices.filter_voices(pool, query="STORY")] == ["George"]
    assert [v.name for v in voices.filter_voices(pool, gender="female", language="hi")] == ["Anushka"]
    assert [v.name for v in voices.filter_voices(pool, provider="elevenlabs", accent="british")] == ["George"]
    assert voices.facets(pool) == {
        "provider": ["elevenlabs", "offline", "sarvam"],
        "gender": ["female", "male"],
        "language": ["en", "hi"],
        "accent": ["american", "british", "indian"],
    }
    assert voices.language_name("hi") == "Hindi" and voices.language_name("xx") == "xx"


def test_assigning_a_voice_stores_settings_on_the_provider_scale(runtime, clone):
    updated = voices.assign_voice(runtime, clone.id, "elevenlabs", "v-rachel", {"stability": 2, "speed": 0.1}, stt_provider="openai")
    assert (updated.tts_provider, updated.tts_voice, updated.stt_provider) == ("elevenlabs", "v-rachel", "openai")
    assert updated.voice_settings == {"stability": 1.0, "similarity_boost": 0.75, "style": 0.0, "speed": 0.7}
    with runtime.session() as session:
        assert session.get(Clone, clone.id).tts_voice == "v-rachel"
    with pytest.raises(InvalidInput):
        voices.assign_voice(runtime, clone.id, "nope", "x")
    with pytest.raises(InvalidInput, match="Choose a voice"):
        voices.assign_voice(runtime, clone.id, "offline", " ")


def _answer(runtime, clone_id: str, text: str, minutes_ago: int = 0, status: str = "complete", cited: bool = True) -> None:
    with runtime.session() as session:
        thread = Conversation(clone_id=clone_id)
        session.add(thread)
        session.flush()
        when = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
        session.add(Message(conversation_id=thread.id, role="assistant", content=text, status=status, created_at=when,
                            citations=[{"n": 1, "document": "handbook.md", "cited": cited}]))
        session.commit()


def test_preview_speaks_the_clones_last_answer_or_a_standard_line(runtime, clone):
    assert voices.preview_text(runtime, clone) == "Hello, I'm Ada. This is how I will sound when I answer your questions."
    _answer(runtime, clone.id, "An older answer.", minutes_ago=10)
    _answer(runtime, clone.id, "Staff get **25 days** of leave [1].", minutes_ago=1)
    _answer(runtime, clone.id, "A broken one", status="error")
    _answer(runtime, clone.id, "I couldn't find anything about that in my knowledge base.", cited=False)
    assert voices.preview_text(runtime, clone) == "Staff get 25 days of leave."  # the last successful answer
    assert voices.preview_text(runtime, clone, own_words=False).startswith("Hello, I'm Ada.")
    _answer(runtime, clone.id, "This sentence is long enough to matter. " * 20)
    preview = voices.preview_text(runtime, clone)
    assert preview.endswith("matter.") and len(preview) <= voices.PREVIEW_CHARS


def test_speaking_in_the_clones_voice_records_characters_per_provider(runtime, clone):
    spoken = voices.speak(runtime, "Hello there. Nice to meet you.", clone=clone)
    assert spoken.provider == "offline" and spoken.voice == "en_US-joe-medium"
    assert spoken.characters == len("Hello there.") + len("Nice to meet you.")
    assert spoken.audio.seconds > 1 and read_wav(spoken.audio.wav())[1] == 22050
    voices.speak(runtime, "Again.", provider="offline", settings={"speed": 1.5})
    with runtime.session() as session:
        yesterday = datetime.now(timezone.utc) - timedelta(days=1, hours=1)
        session.add(UsageEvent(provider="elevenlabs", kind="tts_chars", amount=999, created_at=yesterday))
        session.add(UsageEvent(provider="elevenlabs", kind="tts_chars", amount=42))
        session.add(UsageEvent(provider="openai", kind="stt_seconds", amount=7))
        session.commit()
    assert voices.chars_today(runtime) == {"offline": spoken.characters + len("Again."), "elevenlabs": 42}


def test_nothing_to_say_is_refused(runtime, clone):
    with pytest.raises(InvalidInput, match="nothing to say"):
        voices.speak(runtime, " [1] ", clone=clone)
    assert voices.chars_today(runtime) == {}


def test_a_clone_without_a_voice_key_gets_a_plain_error(runtime, clone):
    voices.assign_voice(runtime, clone.id, "elevenlabs", "v-rachel")
    with runtime.session() as session:
        clone = session.get(Clone, clone.id)
    with pytest.raises(Exception, match="No ElevenLabs API key is set"):
        voices.speak(runtime, "Hello.", clone=clone)


def test_playground_overrides_beat_the_clone_settings(runtime, clone):
    choice = voices.choose_voice(runtime, clone, provider="offline", settings={"speed": 9})
    assert choice.settings["speed"] == 2.0 and choice.voice == "en_US-joe-medium"
    sarvam = voices.choose_voice(runtime, clone, provider="sarvam", voice="vidya", settings={"language": "hi-IN"})
    assert (sarvam.tts.name, sarvam.voice, sarvam.settings["language"]) == ("sarvam", "vidya", "hi-IN")


def test_transcribe_with_the_clones_speech_to_text(runtime, clone):
    voices.assign_voice(runtime, clone.id, "offline", "en_US-joe-medium", {"variation": 0}, stt_provider="offline")
    with runtime.session() as session:
        clone = session.get(Clone, clone.id)
    spoken = voices.speak(runtime, "Staff can carry over five days into the next year.", clone=clone)
    transcript = voices.transcribe(runtime, clone, spoken.audio.data, spoken.audio.sample_rate)
    assert {"carry", "five", "days", "year"} <= set(transcript.text.lower().replace(".", "").split())
