"""Login switched on for a test: OIDC settings pointing at a loopback address nobody serves
(AppTest and core never call the provider; the journey starts a real one)."""
from __future__ import annotations

import pytest

ISSUER = "http://127.0.0.1:9"
OIDC = {
    "CLONE_STUDIO_OIDC_METADATA_URL": f"{ISSUER}/.well-known/openid-configuration",
    "CLONE_STUDIO_OIDC_CLIENT_ID": "studio",
    "CLONE_STUDIO_OIDC_CLIENT_SECRET": "dev-secret",
    "CLONE_STUDIO_OIDC_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback",
}


@pytest.fixture
def oidc(monkeypatch):
    """Login on; alice@example.com and admin@example.com are admins."""
    for name, value in OIDC.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLONE_STUDIO_ADMINS", "alice@example.com, admin@example.com")
