"""The one shared, thread-safe runtime per server process."""
from __future__ import annotations

import streamlit as st

from core.runtime import Runtime, open_runtime


def _close(runtime: Runtime) -> None:
    runtime.close()


@st.cache_resource(show_spinner="Opening the studio…", on_release=_close)
def get_runtime() -> Runtime:
    """Settings, database, chunk store and ingestion worker; seeds the demo clone on first run
    (with login on, each person gets theirs at their first sign-in instead)."""
    from core.auth import login_enabled

    return open_runtime(seed_demo=not login_enabled())


def owner_runtime():
    """The shared runtime acting for this run's owner (the signed-in person, or "local"): pages
    use it so that every read and write in core sees only that owner's rows."""
    from studio.identity import current_owner

    runtime = get_runtime()
    return runtime.scoped(current_owner(runtime))


@st.cache_resource(show_spinner=False)
def warm_offline_models():
    """Once per process: load the offline models in a background thread (see core.warmup)."""
    from core.warmup import start_background

    return start_background()


def first_use(name: str, what: str, otherwise: str) -> str:
    """A spinner's text: "Loading <what>, first time only…" while that offline model is not in memory."""
    from core.warmup import loaded

    return f"Loading {what}, first time only…" if not loaded(name) else otherwise
