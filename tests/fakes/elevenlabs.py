"""ElevenLabs wire format for the voice tests: a voice library with a premade and a cloned voice."""

LIBRARY = {
    "voices": [
        {"voice_id": "v-rachel", "name": "Rachel", "category": "premade", "description": "Calm narration",
         "labels": {"gender": "female", "accent": "american"}, "verified_languages": [{"language": "en", "model_id": "m"}]},
        {"voice_id": "v-mine", "name": "My Narrator", "category": "cloned",
         "labels": {"gender": "male", "accent": "british"}, "verified_languages": [{"language": "en", "model_id": "m"}]},
    ],
    "has_more": False, "total_count": 2, "next_page_token": None,
}


class AgentsApi:
    """ElevenLabs' conversational-AI agents and tools API (v1/convai) on a FakeServer: create,
    get, patch and delete agents; create and delete workspace tools. Keeps what was sent."""

    def __init__(self, server):
        from tests.fakes.server import Reply

        self.server, self.Reply = server, Reply
        self.agents: dict[str, dict] = {}
        self.tools: dict[str, dict] = {}
        self._n = 0
        server.route("POST", "/v1/convai/agents/create", self._create_agent)
        server.route("POST", "/v1/convai/tools", self._create_tool)

    def _next(self, kind: str) -> str:
        self._n += 1
        return f"{kind}_{self._n:04d}"

    def _create_agent(self, request):
        agent_id = self._next("agent")
        self.agents[agent_id] = request.json()
        path = f"/v1/convai/agents/{agent_id}"
        self.server.route("GET", path, lambda _r, a=agent_id: self._agent(a))
        self.server.route("PATCH", path, lambda r, a=agent_id: self._patch(a, r))
        self.server.route("DELETE", path, lambda _r, a=agent_id: self._delete(self.agents, a))
        return self.Reply(json={"agent_id": agent_id})

    def _agent(self, agent_id: str):
        if agent_id not in self.agents:
            return self.Reply(404, json={"detail": {"status": "agent_not_found", "message": "Agent not found"}})
        body = self.agents[agent_id]
        return self.Reply(json={"agent_id": agent_id, "name": body.get("name", ""), "tags": body.get("tags", []),
                                "conversation_config": body.get("conversation_config", {}),
                                "metadata": {"created_at_unix_secs": 0, "updated_at_unix_secs": 0}})

    def _patch(self, agent_id: str, request):
        if agent_id not in self.agents:
            return self._agent(agent_id)
        self.agents[agent_id].update(request.json())
        return self._agent(agent_id)

    def _create_tool(self, request):
        tool_id = self._next("tool")
        self.tools[tool_id] = request.json()["tool_config"]
        self.server.route("DELETE", f"/v1/convai/tools/{tool_id}", lambda _r, t=tool_id: self._delete(self.tools, t))
        return self.Reply(json={"id": tool_id, "tool_config": self.tools[tool_id],
                                "access_info": {"is_creator": True, "creator_name": "t", "creator_email": "t@x", "role": "admin"},
                                "usage_stats": {"avg_latency_secs": 0.0}})

    def _delete(self, store: dict, key: str):
        if store.pop(key, None) is None:
            return self.Reply(404, json={"detail": {"status": "not_found", "message": "Not found"}})
        return self.Reply(json={})

    def prompt(self, agent_id: str) -> dict:
        return self.agents[agent_id]["conversation_config"]["agent"]["prompt"]
