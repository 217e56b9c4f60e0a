"""Settings from the environment and `.streamlit/secrets.toml`, resolved in one place."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LOCAL_OWNER = "local"
DEFAULT_HOME = ".clone_studio"
DEFAULT_MAX_UPLOAD_MB = 50
STREAMLIT_CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


@lru_cache(maxsize=1)
def _secrets() -> dict:
    path = Path(os.environ.get("CLONE_STUDIO_SECRETS", ".streamlit/secrets.toml"))
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def setting(name: str, default: str | None = None) -> str | None:
    """An environment variable, else a top-level key of secrets.toml, else `default`."""
    value = os.environ.get(name)
    if value:
        return value
    value = _secrets().get(name)
    return str(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    lancedb_uri: str
    max_upload_mb: int

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def streamlit_upload_limit_mb() -> int:
    """`server.maxUploadSize` from .streamlit/config.toml: core refuses what Streamlit would."""
    try:
        server = tomllib.loads(STREAMLIT_CONFIG.read_text()).get("server", {})
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_MAX_UPLOAD_MB
    return int(server.get("maxUploadSize", DEFAULT_MAX_UPLOAD_MB))


def load_settings() -> Settings:
    home = Path(setting("CLONE_STUDIO_HOME", DEFAULT_HOME)).expanduser().resolve()
    return Settings(
        home=home,
        database_url=setting("DATABASE_URL") or f"sqlite:///{home / 'studio.db'}",
        lancedb_uri=setting("LANCEDB_URI") or str(home / "lancedb"),
        max_upload_mb=int(setting("STREAMLIT_SERVER_MAX_UPLOAD_SIZE") or streamlit_upload_limit_mb()),
    )
