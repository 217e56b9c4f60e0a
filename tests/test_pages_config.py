"""Streamlit's configuration agrees with the core."""
from __future__ import annotations

import tomllib
from pathlib import Path

from core.config import DEFAULT_MAX_UPLOAD_MB, streamlit_upload_limit_mb

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


def test_upload_limit_matches_the_core_default():
    server = tomllib.loads(CONFIG.read_text())["server"]
    assert server["maxUploadSize"] == DEFAULT_MAX_UPLOAD_MB == streamlit_upload_limit_mb()


def test_xsrf_protection_is_on():
    assert tomllib.loads(CONFIG.read_text())["server"]["enableXsrfProtection"] is True
