"""The Voice page through AppTest: gallery, filters, preview, tuning, assigning, playground, usage."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import voices
from core.clones import create_clone
from core.models import Clone, Conversation, Message
from tests.fakes.elevenlabs import LIBRARY
from tests.fakes.fixtures import no_voice_keys  # noqa: F401
from tests.fakes.server import Reply, Stream, fake_server  # noqa: F401
from tests.studio_app import ROOT, TIMEOUT, app, button, no_exception, studio_runtime, texts  # noqa: F401

PAGE = "app_pages/voice.py"
PCM = (np.sin(np.arange(4410) / 9) * 8000).astype("<i2").tobytes()


@pytest.fixture(autouse=True)
def _no_keys(no_voice_keys):  # noqa: F811
    yield


def voice_page(clone) -> AppTest:
    """The page as the navigation runs it, with the clone selected in the URL."""
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["clone"] = clone.id
    at.run()
    no_exception(at)
    return at


def audio_urls(at: AppTest) -> list[str]:
    return [element.proto.url for element in at.get("audio")]


def reload(runtime, clone) -> Clone:
    with runtime.session() as session:
        return session.get(Clone, clone.id)


def slider(at: AppTest, label: str):
    return next(s for s in at.slider if s.label == label)


def test_the_page_shows_the_offline_voice_in_use(app, studio_runtime):
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    page = texts(at)
    assert "Speaking with **Joe** (Offline voice (Piper))" in page
    assert ":green-badge[:material/check: In use]" in page
    assert [s.label for s in at.slider] == ["Speed", "Expressiveness", "Volume"]
    assert "Nothing spoken yet today." in page
    assert audio_urls(at) == []


def test_preview_speaks_the_standard_line_or_the_clones_last_answer(app, studio_runtime):
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    at.radio(key="voice.line").set_value("A standard line")
    button(at, "Preview").click().run()
    no_exception(at)
    assert audio_urls(at) and all(audio_urls(at))
    assert "Hello, I'm Vera." in texts(at)

    with studio_runtime.session() as session:
        thread = Conversation(clone_id=clone.id)
        session.add(thread)
        session.flush()
        session.add(Message(conversation_id=thread.id, role="assistant", content="The orchard has **forty-two** pear trees [1].",
                            citations=[{"n": 1, "document": "orchard.md", "cited": True}]))
        session.add(Message(conversation_id=thread.id, role="assistant", status="error", error="The model timed out."))
        session.commit()
    at.radio(key="voice.line").set_value("The clone's last answer")
    button(at, "Preview").click().run()
    no_exception(at)
    assert "The orchard has forty-two pear trees." in texts(at)
    assert voices.chars_today(studio_runtime)["offline"] > 0


def test_tune_and_use_this_voice_saves_it_on_the_clone(app, studio_runtime):
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    slider(at, "Speed").set_value(1.5)
    slider(at, "Volume").set_value(0.5)
    button(at, "Use this voice").click().run()
    no_exception(at)
    saved = reload(studio_runtime, clone)
    assert saved.tts_provider == "offline" and saved.tts_voice == "en_US-joe-medium" and saved.stt_provider == "offline"
    assert saved.voice_settings["speed"] == 1.5 and saved.voice_settings["volume"] == 0.5
    assert "Vera now speaks with Joe" in texts(at)
    assert slider(at, "Speed").value == 1.5  # sliders start from the clone's saved settings


def test_playground_speaks_any_text_offers_a_download_and_counts_characters(app, studio_runtime):
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    at.text_area[0].input("Welcome to the orchard. Mind the wasps.")
    button(at, "Speak").click().run()
    no_exception(at)
    assert audio_urls(at) and all(audio_urls(at))
    (download,) = at.get("download_button")
    assert download.proto.label == "Download WAV"
    (metric,) = at.metric
    assert metric.label == "Offline voice (Piper)" and metric.value == str(len("Welcome to the orchard.") + len("Mind the wasps."))


def test_empty_playground_text_says_what_to_do(app, studio_runtime):
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    at.text_area[0].input("   ")
    button(at, "Speak").click().run()
    no_exception(at)
    assert "There is nothing to say; type some text first." in texts(at)


@pytest.fixture
def elevenlabs(fake_server, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-page-test-key-0001")
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    monkeypatch.setenv("CLONE_STUDIO_RETRIES", "0")
    fake_server.route("GET", "/v2/voices", Reply(json=LIBRARY))
    return fake_server


def test_vendor_voices_can_be_searched_filtered_chosen_tuned_previewed_and_assigned(app, studio_runtime, elevenlabs):
    clone = create_clone(studio_runtime, "Vera")
    elevenlabs.route("POST", "/v1/text-to-speech/v-mine/stream", Stream([PCM], content_type="audio/pcm"))
    at = voice_page(clone)
    page = texts(at)
    assert "Rachel" in page and "My Narrator" in page and "Custom" in page and "3 voices" in page

    at.text_input(key="voice.search").input("narrator").run()
    assert "1 voice" in texts(at) and "Rachel" not in texts(at)
    at.text_input(key="voice.search").input("").run()
    at.selectbox(key="voice.filter.gender").set_value("female").run()
    assert "Rachel" in texts(at) and "My Narrator" not in texts(at)
    at.selectbox(key="voice.filter.gender").set_value("").run()

    at.button(key="choose-elevenlabs-v-mine").click().run()
    no_exception(at)
    assert [s.label for s in at.slider] == ["Stability", "Similarity", "Style exaggeration", "Speed"]
    slider(at, "Stability").set_value(0.2)
    button(at, "Preview").click().run()
    no_exception(at)
    assert audio_urls(at)
    requests = elevenlabs.calls("POST", "/v1/text-to-speech/v-mine/stream")
    assert requests and all(r.json()["voice_settings"]["stability"] == 0.2 for r in requests)

    button(at, "Use this voice").click().run()
    no_exception(at)
    saved = reload(studio_runtime, clone)
    assert (saved.tts_provider, saved.tts_voice) == ("elevenlabs", "v-mine")
    assert saved.voice_settings["stability"] == 0.2
    assert "Speaking with **My Narrator** (ElevenLabs)" in texts(at)
    assert len(elevenlabs.calls("GET", "/v2/voices")) == 1  # the gallery is cached across reruns


def test_an_unreachable_vendor_shows_its_bundled_voices_with_the_reason(app, studio_runtime, elevenlabs):
    elevenlabs.route("GET", "/v2/voices", Reply(500, json={"detail": "down"}))
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    page = texts(at)
    assert "ElevenLabs: showing the bundled list of voices." in page and "server error" in page
    assert "Rachel" in page


def test_a_vendor_failure_during_preview_is_one_plain_sentence(app, studio_runtime, elevenlabs):
    elevenlabs.route("POST", "/v1/text-to-speech/v-rachel/stream", Reply(401, json={"detail": {"message": "bad key"}}))
    clone = create_clone(studio_runtime, "Vera")
    at = voice_page(clone)
    at.button(key="choose-elevenlabs-v-rachel").click().run()
    button(at, "Preview").click().run()
    no_exception(at)
    assert "ElevenLabs rejected the API key; update it on the Settings page." in texts(at)
    assert audio_urls(at) == []
