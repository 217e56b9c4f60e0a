"""The chat turn's call-mode hooks: a cancelled turn keeps its partial answer as interrupted,
cloud models get the voice-mode instruction, the offline answerer keeps a call's answers short."""
from __future__ import annotations

import threading
from pathlib import Path

import core.demo

from core import keys
from core.chat import VOICE_MODE, Finished, Token, ask
from core.clones import create_clone, update_clone
from core.conversations import thread_messages
from core.knowledge.ingest import ingest_now
from core.preferences import set_base_url
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401

NOTES = ("# Opening hours\n\nThe Juniper Street Bakery opens at seven every weekday morning. It closes at six. "
         "On Saturdays it opens at eight. On Sundays it opens at nine. Holidays follow the Sunday hours. "
         "The shop closes early on the first of January.\n")


def test_a_cancelled_turn_is_saved_as_interrupted_with_what_was_said(runtime):
    clone = create_clone(runtime, "Juno")
    ingest_now(runtime, clone.id, "hours.md", NOTES.encode())
    cancel = threading.Event()
    events, words = ask(runtime, clone.id, "When does the bakery open?", cancel=cancel, timings={"speech": 900.0}), 0
    finished = None
    for event in events:
        if isinstance(event, Token):
            words += 1
            if words == 3:
                cancel.set()
        elif isinstance(event, Finished):
            finished = event
    message = finished.message
    assert message.status == "interrupted" and message.error is None
    assert 0 < len(message.content.split()) <= 4  # what was streamed before the cancel, nothing after
    assert message.timings["speech"] == 900.0 and message.timings["total"] is not None
    with runtime.session() as db:
        user, saved = thread_messages(db, message.conversation_id)
    assert saved.status == "interrupted" and saved.content == message.content


def test_offline_answers_are_brief_in_a_call(runtime):
    clone = create_clone(runtime, "Juno")
    handbook = Path(core.demo.__file__).with_name("demo_docs") / "juniper-street-bakery-handbook.md"
    ingest_now(runtime, clone.id, handbook.name, handbook.read_bytes())
    question = "What are the bakery's opening hours?"
    full = [e for e in ask(runtime, clone.id, question)][-1].message.content
    brief = [e for e in ask(runtime, clone.id, question, voice=True)][-1].message.content
    assert len(brief.split()) < len(full.split()), (brief, full)
    assert "[1]" in brief and "7:00" in brief


def test_cloud_models_are_asked_for_short_spoken_answers(runtime, fake_server, no_outside_keys):  # noqa: F811
    clone = create_clone(runtime, "Juno")
    ingest_now(runtime, clone.id, "hours.md", NOTES.encode())
    update_clone(runtime, clone.id, llm_provider="openai", llm_model="gpt-4o-mini")
    keys.save_key(runtime, "openai", "sk-test-0123456789abcdef")
    set_base_url(runtime, "openai", f"{fake_server.url}/v1")
    fake_server.route("POST", "/v1/chat/completions", fake_openai.completion_stream(["Seven [1]."], usage=(50, 3)))
    list(ask(runtime, clone.id, "When does it open?", voice=True))
    list(ask(runtime, clone.id, "When does it open?"))
    in_call, in_chat = (call.json()["messages"][0]["content"] for call in fake_server.calls("POST", "/v1/chat/completions"))
    assert in_call.endswith(VOICE_MODE) and VOICE_MODE not in in_chat
