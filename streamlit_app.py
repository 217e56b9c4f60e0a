"""Clone Studio's one server: the pages (app_main.py), the service API under /api and /healthz.

`streamlit run streamlit_app.py` finds `app` below and serves it (uvicorn, one process);
.streamlit/config.toml keeps applying. Every use of st.App stays in this file.
/api is a Mount with a JSON 404 catch-all: without it an unknown GET would fall through to
the page with status 200. XSRF protection does not cover these routes; they need a token.
"""
from contextlib import asynccontextmanager

import streamlit as st
from starlette.routing import Mount, Route

from core.api.routes import ALL_METHODS, Api
from core.api.server import nodelay_listeners
from core.auth import streamlit_secrets
from studio.runtime import get_runtime

api = Api(get_runtime)


@asynccontextmanager
async def lifespan(_app):
    nodelay_listeners()  # `streamlit run` binds its socket without TCP_NODELAY: ~40 ms per small response
    await api.start()
    try:
        yield {"api": api}
    finally:
        await api.stop()


app = st.App(
    "app_main.py",
    routes=[
        Mount("/api", routes=api.routes()),  # ends with a JSON 404 catch-all
        Route("/api", api.not_found, methods=ALL_METHODS),
        Route("/healthz", api.healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
    secrets=streamlit_secrets(),  # login: the [auth] section built from CLONE_STUDIO_OIDC_* (None: off or secrets.toml)
)
