"""A chat turn on a cloud model: the key and base URL saved on the Settings page are the ones used,
and the answer keeps the vendor's token counts and its cost."""
from __future__ import annotations

from core import keys
from core.chat import answer
from core.clones import create_clone, update_clone
from core.knowledge.ingest import ingest_now
from core.preferences import set_base_url
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401

KEY = "sk-saved-in-settings-0123456789"
NOTES = b"# Opening hours\n\nThe Juniper Street Bakery opens at seven every weekday morning.\n"


def test_a_turn_uses_the_key_saved_in_settings(runtime, fake_server, no_outside_keys):  # noqa: F811
    clone = create_clone(runtime, "Juno", "Bakery guide")
    ingest_now(runtime, clone.id, "hours.md", NOTES)
    update_clone(runtime, clone.id, llm_provider="openai", llm_model="gpt-4o-mini")
    keys.save_key(runtime, "openai", KEY)
    set_base_url(runtime, "openai", f"{fake_server.url}/v1")
    fake_server.route("POST", "/v1/chat/completions",
                      fake_openai.completion_stream(["It opens at seven [1]."], usage=(900, 7)))

    result = answer(runtime, clone.id, "When does the bakery open?")

    [sent] = fake_server.calls("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    prompt = sent.json()["messages"]
    assert "opens at seven every weekday" in prompt[0]["content"]  # the retrieved source, fenced in the system turn
    assert prompt[-1] == {"role": "user", "content": "When does the bakery open?"}
    assert result["answer"] == "It opens at seven [1]."
    assert (result["provider"], result["model"]) == ("openai", "gpt-4o-mini")
    assert [c["cited"] for c in result["citations"]][:1] == [True]
