"""Service-API tokens in core and on the command line: shown once, stored only as a hash,
named per owner, revocable, with "last used"."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from core.api import tokens
from core.api.tokens import authenticate, create_token, list_tokens, revoke_token, token_hash
from core.cli import main
from core.errors import InvalidInput, NotFound


def test_only_the_hash_is_stored_and_the_token_authenticates_its_owner(runtime):
    made = create_token(runtime, "phone agent", "alice")
    assert made.token.startswith("cs_") and len(made.token) > 40
    with runtime.engine.connect() as connection:
        stored = [tuple(row) for row in connection.execute(text("SELECT * FROM api_token"))]
    assert made.token not in repr(stored) and token_hash(made.token) in repr(stored)
    caller = authenticate(runtime, made.token)
    assert (caller.owner_id, caller.name) == ("alice", "phone agent")
    assert authenticate(runtime, made.token[:-1] + ("A" if made.token[-1] != "A" else "B")) is None
    assert authenticate(runtime, None) is None and authenticate(runtime, "") is None


def test_names_are_unique_per_owner_and_reusable_after_revoking(runtime):
    create_token(runtime, "ci", "alice")
    create_token(runtime, "ci", "bob")  # another owner may use the same name
    with pytest.raises(InvalidInput, match="already have a token called 'ci'"):
        create_token(runtime, "ci", "alice")
    with pytest.raises(InvalidInput, match="name"):
        create_token(runtime, "   ", "alice")
    old = create_token(runtime, "rotating", "alice")
    revoke_token(runtime, "rotating", "alice")
    new = create_token(runtime, "rotating", "alice")
    assert authenticate(runtime, old.token) is None and authenticate(runtime, new.token).name == "rotating"


def test_owners_list_and_revoke_only_their_own_tokens(runtime):
    alices = create_token(runtime, "shared name", "alice")
    create_token(runtime, "shared name", "bob")
    assert [t.name for t in list_tokens(runtime, "bob")] == ["shared name"]
    with pytest.raises(NotFound):
        revoke_token(runtime, "nothing", "bob")
    revoke_token(runtime, "shared name", "bob")
    assert authenticate(runtime, alices.token) is not None  # bob's revoke left alice's token alone
    assert list_tokens(runtime, "bob") == [] and len(list_tokens(runtime, "bob", include_revoked=True)) == 1


def test_last_used_is_recorded_at_most_once_a_minute(runtime, monkeypatch):
    made = create_token(runtime, "agent")
    assert list_tokens(runtime)[0].last_used_at is None
    authenticate(runtime, made.token)
    first = list_tokens(runtime)[0].last_used_at
    assert first is not None
    authenticate(runtime, made.token)
    assert list_tokens(runtime)[0].last_used_at == first  # not rewritten on every request
    monkeypatch.setattr(tokens, "LAST_USED_EVERY_S", 0.0)
    authenticate(runtime, made.token)
    assert list_tokens(runtime)[0].last_used_at >= first


def test_cli_prints_the_token_once_then_lists_it_masked_and_revokes_it(settings, capsys):
    assert main(["tokens", "create", "--name", "nightly job", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["name"] == "nightly job" and made["token"].startswith("cs_")
    assert main(["tokens", "list"]) == 0
    listed = capsys.readouterr().out
    assert "nightly job" in listed and made["token"] not in listed and made["token"][-4:] in listed
    assert "last used never" in listed
    assert main(["tokens", "revoke", "nightly job"]) == 0
    assert "Revoked 'nightly job'" in capsys.readouterr().out
    assert main(["tokens", "revoke", "nightly job"]) == 1
    assert "no active token called 'nightly job'" in capsys.readouterr().err
    assert main(["tokens", "list", "--all", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["revoked_at"] and "token" in row and row["token"] != made["token"]
