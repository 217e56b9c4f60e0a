"""The real st.App (streamlit_app.app) under Starlette's TestClient, once per test module.

Streamlit allows one Runtime per process and a stopped one cannot start again, so a module
shares one client; the fixture points the studio at a fresh data directory (and database on
PostgreSQL) for that module and lets Streamlit start again afterwards.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import streamlit as st

from tests.conftest import _fresh_database


@dataclass
class ApiApp:
    client: object
    runtime: object
    env: dict

    def token(self, name: str, owner_id: str = "local") -> dict:
        from core.api.tokens import create_token

        return {"Authorization": f"Bearer {create_token(self.runtime, name, owner_id).token}"}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    from starlette.testclient import TestClient
    from streamlit.runtime import Runtime

    env = {"CLONE_STUDIO_HOME": str(tmp_path_factory.mktemp("api") / "home")}
    drop = None
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        env["DATABASE_URL"], drop = _fresh_database(os.environ["DATABASE_URL"])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("REDIS_URL", "CLONE_STUDIO_API_RATE_LIMIT", "CLONE_STUDIO_API_MAX_BODY"):
            patch.delenv(name, raising=False)
        st.cache_resource.clear()
        import streamlit_app

        try:
            with TestClient(streamlit_app.app) as client:
                yield ApiApp(client, streamlit_app.api.get_runtime(), {**os.environ})
        finally:
            st.cache_resource.clear()
            Runtime._instance = None  # a stopped Runtime cannot restart; let a later module make its own
    if drop:
        drop()
