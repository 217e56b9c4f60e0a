"""ICE servers for calls: none by default, so a call never reaches a public STUN or TURN server.

Remote callers (not on this machine or its network) need a STUN/TURN server: set
CLONE_STUDIO_ICE_SERVERS (environment or secrets.toml) to a JSON list such as
[{"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "p"}], or save one
on the Settings page (the credential is stored encrypted). The environment wins.
"""
from __future__ import annotations

import json

from core.config import LOCAL_OWNER, setting
from core.errors import InvalidInput

ENV = "CLONE_STUDIO_ICE_SERVERS"
PREFERENCE = "call.ice_servers"
SCHEMES = ("stun:", "turn:", "turns:")
BAD = ("The ICE servers must be a JSON list like "
       '[{"urls": ["turn:turn.example.com:3478"], "username": "user", "credential": "secret"}].')


def parse(text: str | None) -> list[dict]:
    """A JSON list of ICE servers, checked; blank means none."""
    if not text or not str(text).strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput(BAD) from None
    if not isinstance(data, list):
        raise InvalidInput(BAD)
    servers = []
    for item in data:
        if not isinstance(item, dict) or "urls" not in item:
            raise InvalidInput(BAD)
        urls = [item["urls"]] if isinstance(item["urls"], str) else item["urls"]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u.startswith(SCHEMES) for u in urls):
            raise InvalidInput("Each ICE server URL must start with stun:, turn: or turns:.")
        server = {"urls": urls}
        for key in ("username", "credential"):
            if item.get(key) not in (None, ""):
                server[key] = str(item[key])
        servers.append(server)
    return servers


def source(runtime, owner: str = LOCAL_OWNER) -> str:
    """"environment", "settings" or "none"."""
    if setting(ENV):
        return "environment"
    from core.preferences import get_preference

    return "settings" if get_preference(runtime, PREFERENCE, owner).get("servers") else "none"


def ice_servers(runtime, owner: str = LOCAL_OWNER) -> list[dict]:
    if text := setting(ENV):
        return parse(text)
    from core.keys import fernet
    from core.preferences import get_preference

    servers = []
    for item in get_preference(runtime, PREFERENCE, owner).get("servers", []):
        server = {k: v for k, v in item.items() if k in ("urls", "username")}
        if item.get("credential_encrypted"):
            server["credential"] = fernet(runtime).decrypt(item["credential_encrypted"].encode()).decode()
        servers.append(server)
    return servers


def rtc_configuration(runtime, owner: str = LOCAL_OWNER) -> dict:
    """What both ends of a call get: {"iceServers": []} unless servers are configured."""
    return {"iceServers": ice_servers(runtime, owner)}


def save(runtime, text: str, owner: str = LOCAL_OWNER) -> list[dict]:
    """Store the servers typed on the Settings page (blank clears them); credentials encrypted."""
    from core.keys import fernet
    from core.preferences import set_preference

    servers = parse(text)
    stored = []
    for server in servers:
        item = {k: v for k, v in server.items() if k != "credential"}
        if server.get("credential"):
            item["credential_encrypted"] = fernet(runtime).encrypt(server["credential"].encode()).decode()
        stored.append(item)
    set_preference(runtime, PREFERENCE, {"servers": stored}, owner)
    return servers


def describe(servers: list[dict]) -> list[str]:
    """One line per server for the page, the credential masked."""
    from core.keys import mask

    lines = []
    for server in servers:
        line = ", ".join(server["urls"])
        if server.get("username"):
            line += f" · user {server['username']}"
        if server.get("credential"):
            line += f" · credential {mask(server['credential'])}"
        lines.append(line)
    return lines
