"""Speculative voice turns: during the pause the answer is retrieved, streamed and synthesized but
held (nothing sent, reported or saved) until the turn is confirmed; dropped without a trace when
the user speaks again; sent at once when the pause becomes the end of the turn."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sqlmodel import select

from core.call.chunker import first_clause
from core.call.session import CallSession
from core.call.turn import VoiceTurn
from core.chat import Finished, StreamEnd, Token, ask
from core.clones import create_clone
from core.conversations import thread_messages
from core.knowledge.ingest import ingest_now
from core.models import Conversation, Message
from tests.call_peer import silence, speech

NOTES = ("# Opening hours\n\nThe Juniper Street Bakery opens at seven every weekday morning, and it closes at six. "
         "On Saturdays it opens at eight. The trail behind the bakery is twelve kilometres long.\n")


@pytest.fixture
def juno(runtime):
    clone = create_clone(runtime, "Juno")
    ingest_now(runtime, clone.id, "hours.md", NOTES.encode())
    return clone


def rows(runtime):
    with runtime.session() as db:
        return db.exec(select(Conversation)).all(), db.exec(select(Message)).all()


def test_a_speculative_chat_turn_saves_nothing_until_it_is_confirmed(runtime, juno):
    confirmed = threading.Event()
    events = ask(runtime, juno.id, "When does the bakery open?", confirmed=confirmed, cancel=threading.Event())
    streamed = []
    for event in events:
        streamed.append(event)
        if isinstance(event, StreamEnd):
            break
    assert any(isinstance(e, Token) for e in streamed)
    assert rows(runtime) == ([], [])  # the whole answer streamed, and not even the question is saved
    confirmed.set()
    finished = [e for e in events if isinstance(e, Finished)][0]
    with runtime.session() as db:
        question, answer = thread_messages(db, finished.message.conversation_id)
    assert (question.role, question.content) == ("user", "When does the bakery open?")
    assert answer.status == "complete" and "seven" in answer.content


def test_a_speculative_chat_turn_cancelled_before_confirmation_leaves_no_trace(runtime, juno):
    cancel = threading.Event()
    events = list(_cancel_after_first_token(ask(runtime, juno.id, "When does it open?", confirmed=threading.Event(),
                                                cancel=cancel), cancel))
    assert not any(isinstance(e, Finished) for e in events)
    assert rows(runtime) == ([], [])
    # its answer slot is free again: an ordinary turn runs at once
    assert isinstance(list(ask(runtime, juno.id, "When does it open?"))[-1], Finished)


def _cancel_after_first_token(events, cancel):
    for event in events:
        if isinstance(event, Token):
            cancel.set()
        yield event


def test_a_held_voice_turn_plays_and_reports_nothing_until_confirmed_then_all_at_once(runtime, juno):
    played, reported, sent_at = [], [], []
    turn = VoiceTurn(runtime, juno, None, played.append, lambda: sent_at[0] if sent_at else None,
                     on_event=lambda kind, value: reported.append(kind), held=True)
    ended_at = time.monotonic()
    answer = threading.Thread(target=lambda: setattr(turn, "reply", turn.answer("When does it open?", ended_at, 900.0, 350.0)))
    answer.start()
    deadline = time.monotonic() + 60
    while turn.ready_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert turn.ready_at is not None and played == [] and reported == [] and turn.spoken == []
    assert rows(runtime) == ([], [])
    assert turn.confirm(confirmed=600.0)
    assert played and reported[:2] == ["retrieved", "speaking"] and turn.spoken  # the held audio went out at once
    sent_at.append(time.monotonic())
    answer.join(60)
    message = turn.reply.message
    assert message.status == "complete" and "seven" in message.content
    assert message.timings["confirmed"] == 600.0 and message.timings["stt"] == 350.0
    assert message.timings["audio_ready"] < message.timings["first_audio"]


def test_a_held_voice_turn_that_ended_before_confirmation_refuses_it(runtime, juno):
    turn = VoiceTurn(runtime, juno, None, lambda samples: None, lambda: None, held=True)
    turn.cancel.set()  # the user spoke again at once
    reply = turn.answer("When does it open?", time.monotonic(), 900.0, 350.0)
    assert reply.message is None and not turn.confirm()  # the call answers the turn the ordinary way instead
    assert rows(runtime) == ([], [])


def test_speech_after_a_short_pause_drops_the_speculative_answer_and_answers_the_whole_turn(runtime, juno):
    session = CallSession(runtime, juno.id, patience=1.2)  # the longest patience: time for the speculation to start
    dropped: list[VoiceTurn] = []
    answer = session._answer

    def watch(*args, **kw):
        turn = answer(*args, **kw)
        if kw.get("held"):
            dropped.append(turn)
        return turn

    session._answer = watch
    session.start()
    playing = threading.Thread(target=_listen, args=(session,), daemon=True)  # reads the reply as the track would
    playing.start()
    try:
        deadline = time.monotonic() + 120
        while session.ready_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first, second = trim(speech("When does the bakery open", 16_000)), trim(speech("on Saturdays?", 16_000))
        # a 1 s pause: past the speculative 0.3 s, short of the 1.2 s patience; then the rest, then silence
        for part in (silence(0.3, 16_000), first, silence(1.0, 16_000), second, silence(1.6, 16_000)):
            _play(session, part)
        while not session.replies and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        session.stop()
    assert dropped and dropped[0].cancel.is_set() and not dropped[0].confirmed.is_set()
    reply = session.replies[0]
    assert "saturday" in reply.transcript.lower()
    conversations, messages = rows(runtime)
    assert len(conversations) == 1 and [m.role for m in messages] == ["user", "assistant"]
    assert "saturday" in messages[0].content.lower()  # only the whole turn was saved


def _listen(session: CallSession) -> None:
    while not session._stop.is_set():
        session.buffer.read()
        time.sleep(session.buffer.frame / session.buffer.rate / 4)  # faster than real time: the test need not wait


def trim(samples: np.ndarray) -> np.ndarray:
    """Without the voice's own leading and trailing silence, so the pause is exactly known."""
    loud = np.flatnonzero(np.abs(samples) > 500)
    return samples[loud[0] : loud[-1] + 1]


def _play(session: CallSession, samples: np.ndarray) -> None:
    """Push 16 kHz audio in real time, 20 ms at a time, as a microphone would."""
    step = 320
    start = time.monotonic()
    for i in range(0, len(samples), step):
        session.push_pcm(samples[i : i + step], at=time.monotonic())
        wait = start + (i + step) / 16_000 - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def test_the_first_clause_of_the_first_piece_is_synthesized_alone():
    assert first_clause("The first bake starts at 4:30, so bread is on the shelves.") == [
        "The first bake starts at 4:30,", "so bread is on the shelves."]
    assert first_clause("Yes, it is open.") == ["Yes, it is open."]  # a clause of fewer than three words
    assert first_clause("It opens at 7:00 on weekdays.") == ["It opens at 7:00 on weekdays."]  # a time is no clause
    assert first_clause("It opens at seven, daily.") == ["It opens at seven, daily."]  # too little after it


def test_without_a_clause_the_first_phrase_ends_before_a_conjunction():
    assert first_clause("It climbs about 450 metres and takes most walkers four to five hours.") == [
        "It climbs about 450 metres", "and takes most walkers four to five hours."]
    assert first_clause("Salt and pepper are sold here.") == ["Salt and pepper are sold here."]  # too few words before
    assert first_clause("Open the Clones page and go.") == ["Open the Clones page and go."]  # too few after
    assert first_clause("Sourdough is baked daily from rye flour.") == ["Sourdough is baked daily from rye flour."]
