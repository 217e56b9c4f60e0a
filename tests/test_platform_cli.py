"""`python -m core users …` in-process: list, budgets, claiming the local data."""
from __future__ import annotations

import json


from core import auth, spend
from core.cli import main
from core.clones import create_clone, list_clones
from core.runtime import open_runtime
from tests.login import ISSUER, oidc  # noqa: F401

def test_users_list_budget_and_claim_local(oidc, settings, capsys):
    runtime = open_runtime(settings, seed_demo=False)
    try:
        create_clone(runtime, "Old helper")
        admin = auth.owner_for(runtime, ISSUER, "admin-sub", "Admin", "admin@example.com")
    finally:
        runtime.close()
    assert main(["users", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["email"] == "admin@example.com" and row["admin"] and row["daily_cap_usd"] is None
    assert main(["users", "budget", "--usd", "2"]) == 0
    assert "Studio-wide daily cloud budget: $2.00" in capsys.readouterr().out
    assert main(["users", "budget", "admin@example.com", "--usd", "0.5"]) == 0
    assert "Daily cloud budget: $0.50 (user)" in capsys.readouterr().out
    assert main(["users", "budget", "nobody@example.com", "--usd", "1"]) == 1
    assert "has signed in yet" in capsys.readouterr().err
    assert main(["users", "claim-local", "admin@example.com"]) == 0
    assert "1 clone" in capsys.readouterr().out
    runtime = open_runtime(settings, seed_demo=False)
    try:
        with runtime.scoped(admin).session() as session:
            assert [c.name for c in list_clones(session)] == ["Old helper"]
        assert spend.daily_cap(runtime, admin) == (0.5, "user")
    finally:
        runtime.close()


def test_budget_with_login_off_is_the_local_persons(settings, capsys):
    assert main(["users", "budget", "--usd", "1.5"]) == 0
    assert "Daily cloud budget: $1.50 (user); spent today: $0.0000" in capsys.readouterr().out
    assert main(["users", "budget", "--usd", "lots"]) == 1
    assert "must be a number" in capsys.readouterr().err
