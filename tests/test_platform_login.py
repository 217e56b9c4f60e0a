"""Login on, through AppTest: two signed-in people (at.user), neither sees nor opens the other's
clones, chats, documents or search hits, even by id in the URL; sign-in screen, sign-out,
spend cap refusal with the offline answer, one answer stream at a time."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import auth, spend
from core.chat import answer
from core.clones import create_clone
from core.knowledge.ingest import ingest_now
from studio.state import PAGE_CLONES
from tests.test_prompts_wizard import by_key, click, labelled  # noqa: E402
from tests.studio_app import APP, ROOT, TIMEOUT, app, button, no_exception, studio_runtime, texts  # noqa: F401
from tests.login import ISSUER, oidc  # noqa: F401

ALICE = {"is_logged_in": True, "iss": ISSUER, "sub": "alice-sub", "name": "Alice", "email": "alice@example.com"}
BOB = {"is_logged_in": True, "iss": ISSUER, "sub": "bob-sub", "name": "Bob", "email": "bob@example.com"}


def as_user(user: dict | None, page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user is not None:
        at.user = dict(user)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    no_exception(at)
    return at


@pytest.fixture
def two_studios(oidc, app, studio_runtime):
    """Alice and Bob, each with a clone, a document and a chat."""
    made = {}
    for who, words in ((ALICE, "The vault code is heron nine."), (BOB, "The boat is called petrel.")):
        owner = auth.owner_for(studio_runtime, who["iss"], who["sub"], who["name"], who["email"])
        rt = studio_runtime.scoped(owner)
        clone = create_clone(rt, f"{who['name']}'s clone")
        document = ingest_now(rt, clone.id, f"{who['name'].lower()}-secrets.md", f"# Secrets\n\n{words}\n".encode())
        thread = answer(rt, clone.id, f"What does {who['name']} keep secret?")["thread_id"]
        made[who["sub"]] = {"owner": owner, "runtime": rt, "clone": clone, "document": document, "thread": thread}
    return made


def test_a_visitor_sees_only_the_sign_in_screen(two_studios):
    for user in (None, {"is_logged_in": False}):
        at = as_user(user)
        page = texts(at)
        assert "Sign in to see your clones" in page
        assert [b.label for b in at.button] == ["Sign in"]
        assert "Alice's clone" not in page and "Bob's clone" not in page


def test_each_person_sees_only_their_own_clones(two_studios):
    alice = as_user(ALICE, PAGE_CLONES)
    bob = as_user(BOB, PAGE_CLONES)
    assert "Alice's clone" in texts(alice) and "Bob's clone" not in texts(alice)
    assert "Bob's clone" in texts(bob) and "Alice's clone" not in texts(bob)
    assert "Signed in as **Alice** · admin" in [c.value for c in alice.sidebar.caption]
    assert "Signed in as **Bob**" in [c.value for c in bob.sidebar.caption]


def page(path: str, user: dict, query: dict) -> AppTest:
    """One page as a browser opening a link to it would run it (a fresh session of the real app)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.user = dict(user)
    at.run()
    at.query_params.update(query)
    at.switch_page(path).run()
    no_exception(at)
    return at


def test_direct_links_to_someone_elses_ids_say_not_found(two_studios):
    alices, bobs = two_studios["alice-sub"], two_studios["bob-sub"]
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.user = dict(ALICE)
    at.query_params.update({"clone": bobs["clone"].id})
    at.run()
    no_exception(at)
    assert "That clone was not found" in texts(at) and "Bob's clone" not in texts(at)
    for path in ("app_pages/chat.py", "app_pages/knowledge.py", "app_pages/prompts.py", "app_pages/voice.py"):
        shown = texts(page(path, ALICE, {"clone": bobs["clone"].id}))
        assert "That clone was not found" in shown, path
        assert "Bob's clone" not in shown and "bob-secrets.md" not in shown and "petrel" not in shown, path

    at = page("app_pages/chat.py", ALICE, {"clone": alices["clone"].id, "thread": bobs["thread"]})
    assert "That chat was not found" in texts(at)
    assert "What does Bob keep secret?" not in texts(at) and "petrel" not in texts(at)

    own = page("app_pages/chat.py", ALICE, {"clone": alices["clone"].id, "thread": alices["thread"]})
    assert "What does Alice keep secret?" in texts(own) and "not found" not in texts(own)


def test_documents_and_search_hits_are_the_owners_only(two_studios):
    alices = two_studios["alice-sub"]
    at = page("app_pages/knowledge.py", ALICE, {"clone": alices["clone"].id})
    assert "alice-secrets.md" in texts(at) and "bob-secrets.md" not in texts(at)
    search = next(t for t in at.text_input if t.label == "Question")
    search.set_value("boat petrel vault code").run()
    no_exception(at)
    shown = texts(at) + " ".join(e.label for e in at.expander)  # each hit is an expander holding its passage
    assert "heron" in shown and "petrel" not in shown


def test_sign_out_returns_to_the_sign_in_screen(two_studios):
    at = as_user(ALICE, PAGE_CLONES)
    button(at, "Sign out").click().run()
    no_exception(at)
    assert at.user == {"is_logged_in": False}
    assert "Sign in to see your clones" in texts(at) and "Alice's clone" not in texts(at)


def test_the_spend_cap_refuses_cloud_answers_and_offers_the_offline_one(two_studios, studio_runtime):
    alices = two_studios["alice-sub"]
    from core.clones import update_clone

    update_clone(alices["runtime"], alices["clone"].id, llm_provider="openai", llm_model="gpt-4o-mini")
    spend.set_cap(studio_runtime, alices["owner"], "0")
    at = page("app_pages/chat.py", ALICE, {"clone": alices["clone"].id})
    at.chat_input[0].set_value("What is the vault code?").run()
    no_exception(at)
    assert "You have reached today's cloud budget of $0.00" in texts(at)
    button(at, "Answer offline instead").click().run()
    no_exception(at)
    assert "heron nine" in texts(at)

    bob = page("app_pages/settings.py", BOB, {})
    assert "of no cap" in texts(bob) and "Team (admin)" not in texts(bob)
    admin = page("app_pages/settings.py", ALICE, {})
    assert "Team (admin)" in texts(admin) and "bob@example.com" in admin.dataframe[0].value["E-mail"].tolist()


def test_one_answer_stream_at_a_time_per_person(two_studios):
    alices, bobs = two_studios["alice-sub"], two_studios["bob-sub"]
    slot = spend.acquire_stream(alices["owner"])  # an answer of Alice's is being written elsewhere
    try:
        at = page("app_pages/chat.py", ALICE, {"clone": alices["clone"].id})
        at.chat_input[0].set_value("What is the vault code?").run()
        no_exception(at)
        assert "You already have an answer being written" in texts(at)
        other = page("app_pages/chat.py", BOB, {"clone": bobs["clone"].id})
        other.chat_input[0].set_value("What is the boat called?").run()
        no_exception(other)
        assert "petrel" in texts(other)  # Bob is not held up by Alice's stream
    finally:
        spend.release_stream(alices["owner"], slot)


def test_every_page_works_for_a_signed_in_person_and_new_clones_are_theirs(two_studios, studio_runtime):
    from tests.studio_app import registered_pages

    alices = two_studios["alice-sub"]
    for path in registered_pages():
        shown = texts(page(path, ALICE, {"clone": alices["clone"].id}))
        assert "Bob's clone" not in shown and "bob-secrets.md" not in shown, path
    at = page("app_pages/new_clone.py", ALICE, {})  # the one New clone flow: the wizard, from scratch
    by_key(at, "method-scratch")
    labelled(at.text_input, "Name").set_value("Alice's second")
    click(at, "Next: review")
    click(at, "Create clone")
    no_exception(at)
    from core.clones import list_clones

    with alices["runtime"].session() as session:
        assert "Alice's second" in [c.name for c in list_clones(session)]
    with two_studios["bob-sub"]["runtime"].session() as session:
        assert "Alice's second" not in [c.name for c in list_clones(session)]
    with studio_runtime.session() as session:
        assert list_clones(session) == []  # nothing landed with the local owner


def test_an_admin_sets_a_persons_budget_on_settings(two_studios):
    bobs = two_studios["bob-sub"]
    admin = page("app_pages/settings.py", ALICE, {})
    admin.selectbox(key="settings.team.person").set_value(bobs["owner"])
    admin.text_input(key="settings.team.cap").set_value("0.75")
    next(b for b in admin.button if b.label == "Set their budget").click().run()
    no_exception(admin)
    assert spend.daily_cap(bobs["runtime"]) == (0.75, "user")
    bob = page("app_pages/settings.py", BOB, {})
    assert "of $0.75" in texts(bob) and "An admin sets this budget." in texts(bob)
    assert not any(t.key == "settings.budget.cap" for t in bob.text_input)  # people cannot raise their own


def test_with_login_off_the_one_person_sets_their_budget(app, studio_runtime):
    at = app("app_pages/settings.py")
    at.text_input(key="settings.budget.cap").set_value("abc")
    next(b for b in at.button if b.label == "Save budget").click().run()
    no_exception(at)
    assert "must be a number of dollars" in texts(at)
    at.text_input(key="settings.budget.cap").set_value("1.5")
    next(b for b in at.button if b.label == "Save budget").click().run()
    no_exception(at)
    assert spend.daily_cap(studio_runtime) == (1.5, "user") and "Team (admin)" not in texts(at)
