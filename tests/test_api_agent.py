"""Connect / disconnect a clone's ElevenLabs agent through the real `elevenlabs` SDK against a
local server speaking ElevenLabs' agents and tools API."""
from __future__ import annotations

import pytest

from core.api.agent import TOOL_NAME, connect_agent, disconnect_agent
from core.api.tokens import authenticate, list_tokens
from core.errors import InvalidInput, MissingKey
from tests.fakes.elevenlabs import AgentsApi
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401
from tests.studio_app import app, studio_runtime  # noqa: F401


@pytest.fixture
def agents(fake_server, runtime, monkeypatch, no_outside_keys):
    from core import keys

    keys.save_key(runtime, "elevenlabs", "el-test-key-1234")
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    monkeypatch.setenv("CLONE_STUDIO_PUBLIC_URL", "https://studio.example.com/")
    return AgentsApi(fake_server)


@pytest.fixture
def clone(runtime):
    from core.clones import create_clone

    return create_clone(runtime, "Marta the Baker", system_prompt="You are Marta, the head baker. Be warm.",
                        tts_provider="elevenlabs", tts_voice="v-rachel")


def test_connect_creates_an_agent_with_the_clones_prompt_voice_and_a_webhook_tool(agents, runtime, clone, fake_server):
    connected = connect_agent(runtime, clone.id)
    agent_id = connected.elevenlabs_agent_id
    assert agent_id in agents.agents
    config = agents.agents[agent_id]["conversation_config"]
    assert config["tts"]["voice_id"] == "v-rachel"
    prompt = agents.prompt(agent_id)
    assert prompt["prompt"].startswith("You are Marta, the head baker.") and TOOL_NAME in prompt["prompt"]
    [tool_id] = prompt["tool_ids"]
    tool = agents.tools[tool_id]
    schema = tool["api_schema"]
    assert tool["name"] == TOOL_NAME and schema["url"] == "https://studio.example.com/api/tools/knowledge"
    assert schema["request_body_schema"]["properties"]["clone_id"]["constant_value"] == clone.id
    caller = authenticate(runtime, schema["request_headers"]["X-Service-Token"])
    assert caller.owner_id == clone.owner_id  # the webhook's token is a real token of the clone's owner
    assert all(r.headers["xi-api-key"] == "el-test-key-1234" for r in fake_server.requests)


def test_connecting_again_updates_the_same_agent_and_rotates_its_token(agents, runtime, clone):
    first = connect_agent(runtime, clone.id)
    old_token = agents.tools[agents.prompt(first.elevenlabs_agent_id)["tool_ids"][0]]["api_schema"]["request_headers"]["X-Service-Token"]
    second = connect_agent(runtime, clone.id)
    assert second.elevenlabs_agent_id == first.elevenlabs_agent_id and len(agents.agents) == 1
    [tool_id] = agents.prompt(second.elevenlabs_agent_id)["tool_ids"]
    assert list(agents.tools) == [tool_id]  # the old tool was deleted
    assert authenticate(runtime, old_token) is None
    assert len(list_tokens(runtime)) == 1


def test_disconnect_deletes_the_agent_and_tool_and_revokes_the_token(agents, runtime, clone):
    connected = connect_agent(runtime, clone.id)
    token = agents.tools[agents.prompt(connected.elevenlabs_agent_id)["tool_ids"][0]]["api_schema"]["request_headers"]["X-Service-Token"]
    gone = disconnect_agent(runtime, clone.id)
    assert gone.elevenlabs_agent_id is None and agents.agents == {} and agents.tools == {}
    assert authenticate(runtime, token) is None


def test_an_agent_deleted_at_elevenlabs_is_recreated_on_connect(agents, runtime, clone):
    first = connect_agent(runtime, clone.id)
    agents.agents.clear()
    second = connect_agent(runtime, clone.id)
    assert second.elevenlabs_agent_id != first.elevenlabs_agent_id and second.elevenlabs_agent_id in agents.agents


def test_without_a_public_url_or_a_key_the_sentence_says_what_to_do(agents, runtime, clone, monkeypatch):
    monkeypatch.delenv("CLONE_STUDIO_PUBLIC_URL")
    with pytest.raises(InvalidInput, match="CLONE_STUDIO_PUBLIC_URL"):
        connect_agent(runtime, clone.id)
    monkeypatch.setenv("CLONE_STUDIO_PUBLIC_URL", "https://studio.example.com")
    from core import keys

    keys.delete_key(runtime, "elevenlabs")
    with pytest.raises(MissingKey):
        connect_agent(runtime, clone.id)
    assert agents.agents == {}


def test_voice_page_connects_and_disconnects_after_confirming(app, studio_runtime, fake_server, monkeypatch, no_outside_keys):
    from streamlit.testing.v1 import AppTest

    from core.clones import create_clone
    from tests.fakes.elevenlabs import LIBRARY
    from tests.fakes.server import Reply
    from tests.studio_app import ROOT, TIMEOUT, button, no_exception, texts

    monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-agent-page-key-0001")
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    monkeypatch.setenv("CLONE_STUDIO_PUBLIC_URL", "https://studio.example.com")
    fake_server.route("GET", "/v2/voices", Reply(json=LIBRARY))
    api = AgentsApi(fake_server)
    clone = create_clone(studio_runtime, "Agent Page Clone")
    at = AppTest.from_file(str(ROOT / "app_pages" / "voice.py"), default_timeout=TIMEOUT)
    at.query_params["clone"] = clone.id
    at.run()
    no_exception(at)
    assert "https://studio.example.com/api/tools/knowledge" in texts(at)
    button(at, "Connect agent").click().run()
    no_exception(at)
    [agent_id] = list(api.agents)
    assert "The ElevenLabs agent is ready" in texts(at) and f"Connected to agent `{agent_id}`" in texts(at)
    button(at, "Disconnect").click().run()
    assert "Calls to it stop working" in texts(at)
    button(at, "Delete agent").click().run()
    no_exception(at)
    assert api.agents == {} and "Disconnected" in texts(at)
