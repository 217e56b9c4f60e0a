"""core.auth and core.spend: login configuration, admins, claiming the local data, daily budgets,
one answer stream per owner, and tokens that must belong to a user once login is on."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from core import auth, spend
from core.api.tokens import authenticate, create_token
from core.chat import Finished, answer, ask
from core.clones import create_clone, list_clones, update_clone
from core.config import LOCAL_OWNER
from core.conversations import list_threads
from core.knowledge.ingest import ingest_now
from core.models import Message, UsageEvent
from tests.login import ISSUER, OIDC, oidc  # noqa: F401

def test_login_is_off_with_nothing_configured(runtime):
    assert not auth.login_enabled() and auth.streamlit_secrets(runtime.settings.home) is None
    assert auth.is_admin({"sub": "anyone"})  # the one local person runs their studio


def test_the_environment_builds_the_auth_secrets_with_a_kept_cookie_secret(oidc, runtime):
    secrets = auth.streamlit_secrets(runtime.settings.home)["auth"]
    assert secrets["server_metadata_url"] == OIDC["CLONE_STUDIO_OIDC_METADATA_URL"]
    assert secrets["redirect_uri"].endswith("/oauth2callback") and secrets["client_id"] == "studio"
    assert len(secrets["cookie_secret"]) == 64
    assert auth.streamlit_secrets(runtime.settings.home)["auth"]["cookie_secret"] == secrets["cookie_secret"]
    assert (runtime.settings.home / auth.COOKIE_FILE).stat().st_mode & 0o777 == 0o600


def test_half_configured_login_stays_on_and_names_what_is_missing(monkeypatch, runtime):
    monkeypatch.setenv("CLONE_STUDIO_OIDC_METADATA_URL", OIDC["CLONE_STUDIO_OIDC_METADATA_URL"])
    config = auth.login_config()
    assert config.enabled and "CLONE_STUDIO_OIDC_CLIENT_SECRET" in config.problem
    assert auth.streamlit_secrets(runtime.settings.home) is None


def test_admins_are_listed_by_subject_or_email(oidc, monkeypatch, runtime):
    monkeypatch.setenv("CLONE_STUDIO_ADMINS", "Boss@Example.com, ops-sub")
    assert auth.is_admin({"sub": "x", "email": "boss@example.com"})
    assert auth.is_admin({"sub": "ops-sub"})
    assert not auth.is_admin({"sub": "someone", "email": "someone@example.com"})
    user = auth.sign_in(runtime, ISSUER, "ops-sub", "Ops", None)
    assert user.is_admin and auth.is_admin(user)


def test_the_first_admin_claims_the_local_data(oidc, runtime):
    local = create_clone(runtime, "Helper")
    ingest_now(runtime, local.id, "a.md", b"# A\n\nThe kiln is fired on Tuesdays.\n")
    answer(runtime, local.id, "When is the kiln fired?")
    admin = auth.owner_for(runtime, ISSUER, "admin-sub", "Admin", "admin@example.com")
    mine = runtime.scoped(admin)
    create_clone(mine, "Helper")  # a name the local data also uses
    assert auth.local_data_counts(runtime)["clone"] == 1
    moved = auth.claim_local_data(runtime, admin)
    assert moved["clone"] == 1 and moved["document"] == 1 and moved["message"] == 2
    assert auth.local_data_counts(runtime) == {}
    with mine.session() as session:
        names = sorted(c.name for c in list_clones(session))
        assert names == ["Helper", "Helper (2)"]
        assert len(list_threads(session, local.id)) == 1
    assert answer(mine, local.id, "When is the kiln fired?")["status"] == "complete"
    with runtime.session() as session:
        assert list_clones(session) == []


def test_budget_sources_user_over_studio_over_environment(monkeypatch, runtime):
    alice = runtime.scoped("alice")
    assert spend.budget(alice).cap_usd is None
    monkeypatch.setenv(spend.BUDGET_ENV, "3")
    assert spend.daily_cap(alice) == (3.0, "environment")
    spend.set_default_cap(runtime, "2")
    assert spend.daily_cap(alice) == (2.0, "studio")
    spend.set_cap(runtime, "alice", "1.25")
    assert spend.daily_cap(alice) == (1.25, "user")
    spend.set_cap(runtime, "alice", None)
    assert spend.daily_cap(alice) == (None, "user")  # explicitly no cap
    spend.set_cap(runtime, "alice", None, clear=True)
    assert spend.daily_cap(alice) == (2.0, "studio")
    with pytest.raises(spend.InvalidInput):
        spend.set_cap(runtime, "alice", "two dollars")


def test_spend_today_counts_messages_and_usage_of_the_owner_only(runtime):
    with runtime.session() as session:
        session.add(UsageEvent(owner_id="alice", provider="elevenlabs", kind="tts_chars", amount=10, cost_usd=0.25))
        session.add(UsageEvent(owner_id="bob", provider="elevenlabs", kind="tts_chars", amount=10, cost_usd=5))
        session.commit()
    assert spend.spent_today(runtime, "alice") == pytest.approx(0.25)
    assert spend.spent_today(runtime.scoped("bob")) == pytest.approx(5)


def test_a_reached_cap_refuses_cloud_answers_but_not_offline_ones(runtime):
    clone = create_clone(runtime, "Potter", llm_provider="openai", llm_model="gpt-4o-mini")
    ingest_now(runtime, clone.id, "a.md", b"# A\n\nThe kiln is fired on Tuesdays.\n")
    spend.set_cap(runtime, LOCAL_OWNER, "0")
    refused = answer(runtime, clone.id, "When is the kiln fired?")
    assert refused["status"] == "error" and refused["error"].startswith("You have reached today's cloud budget")
    with runtime.session() as session:
        saved = session.exec(select(Message).where(Message.status == "error")).one()
        assert saved.cost_usd == 0 and saved.input_tokens == 0
    offline = answer(runtime, clone.id, "When is the kiln fired?", refused["thread_id"], provider="offline")
    assert offline["status"] == "complete" and "Tuesdays" in offline["answer"]
    spend.set_cap(runtime, LOCAL_OWNER, "5")
    update_clone(runtime, clone.id, llm_provider="offline", llm_model="extractive")
    assert answer(runtime, clone.id, "When is the kiln fired?")["status"] == "complete"


def test_one_answer_stream_at_a_time_per_owner(runtime):
    clone = create_clone(runtime, "Potter")
    other = runtime.scoped("bob")
    bobs = create_clone(other, "Bob's")
    first = ask(runtime, clone.id, "Hello?")
    next(first)  # Alice's answer is being written
    with pytest.raises(spend.StreamBusy):
        next(ask(runtime, clone.id, "Again?"))
    assert answer(other, bobs.id, "Hello?")["status"] == "complete"  # someone else is not held up
    events = list(first)
    assert isinstance(events[-1], Finished)
    assert answer(runtime, clone.id, "Again?")["status"] == "complete"  # the slot is free once it ended
    stopped = ask(runtime, clone.id, "Stopped?")
    next(stopped)
    stopped.close()  # a stopped stream frees the slot too
    assert not spend.streaming(LOCAL_OWNER)


def test_concurrent_asks_by_one_owner_let_exactly_one_through(runtime):
    clone = create_clone(runtime, "Potter")
    barrier, outcomes = threading.Barrier(4), []

    def run():
        stream = ask(runtime, clone.id, "Hello?")
        barrier.wait()
        try:
            next(stream)
            outcomes.append("streaming")
            barrier2.wait()
            list(stream)
        except spend.StreamBusy:
            outcomes.append("busy")
            barrier2.wait()

    barrier2 = threading.Barrier(4)
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["busy", "busy", "busy", "streaming"]


def test_with_login_on_a_token_must_belong_to_a_signed_in_user(oidc, runtime):
    local = create_token(runtime, "old-local").token
    user = auth.owner_for(runtime, ISSUER, "alice-sub", "Alice", "alice@example.com")
    mine = create_token(runtime, "alice", owner_id=user).token
    assert authenticate(runtime, local) is None
    assert authenticate(runtime, mine).owner_id == user
