"""The Call page and the Settings ICE block through AppTest (the live call itself: test_call_journey.py)."""
from __future__ import annotations

import json

from core.call import ice
from core.clones import create_clone
from tests.studio_app import app, no_exception, studio_runtime, texts  # noqa: F401

PAGE_CALL = "app_pages/call.py"
PAGE_SETTINGS = "app_pages/settings.py"


def test_the_call_page_shows_the_clone_its_voice_and_the_call_settings(app, studio_runtime):
    clone = create_clone(studio_runtime, "Keeper", "Keeps the lighthouse log.")
    at = app(PAGE_CALL, query={"clone": clone.id})
    no_exception(at)
    page = texts(at)
    assert "Keeper" in page and "Voice call" in page and "Offline voice (Piper)" in page
    assert "HTTPS" in page  # the microphone needs HTTPS away from this computer
    assert [s.label for s in at.slider] == ["Patience"] and at.slider[0].value == 0.6
    assert {t.label for t in at.toggle} == {"Speakerphone mode", "Mute"}
    session = at.session_state["call.session"]
    assert session.rules.patience == 0.6 and not session.running  # nothing runs before Start

    at.slider[0].set_value(1.0).run()
    next(t for t in at.toggle if t.label == "Speakerphone mode").set_value(True).run()
    no_exception(at)
    assert session.rules.patience == 1.0 and session.speakerphone
    session.stop()


def test_settings_saves_ice_servers_with_the_credential_masked_and_encrypted(app, studio_runtime, monkeypatch):
    monkeypatch.delenv(ice.ENV, raising=False)
    at = app(PAGE_SETTINGS)
    no_exception(at)
    assert "calls connect directly" in texts(at)
    assert ice.rtc_configuration(studio_runtime) == {"iceServers": []}

    servers = [{"urls": "turn:turn.example.com:3478", "username": "ann", "credential": "s3cret-pass"}]
    field = next(a for a in at.text_area if a.label == "ICE servers (JSON)")
    field.set_value(json.dumps(servers))
    next(b for b in at.button if b.label == "Save ICE servers").click().run()
    no_exception(at)
    page = texts(at)
    assert "Saved 1 ICE server" in page and "turn:turn.example.com:3478" in page and "pass" in page
    assert "s3cret-pass" not in page
    assert ice.ice_servers(studio_runtime) == [{"urls": ["turn:turn.example.com:3478"], "username": "ann",
                                                "credential": "s3cret-pass"}]
    from core.preferences import get_preference

    assert "s3cret" not in json.dumps(get_preference(studio_runtime, ice.PREFERENCE))

    next(a for a in at.text_area if a.label == "ICE servers (JSON)").set_value("[{\"urls\": \"http://x\"}]")
    next(b for b in at.button if b.label == "Save ICE servers").click().run()
    assert "must start with stun:, turn: or turns:" in texts(at)
    assert len(ice.ice_servers(studio_runtime)) == 1  # the bad input changed nothing
