"""Who is using the studio: the local owner, or (login on) the person `st.user` says, on every run.

The identity is read from `st.user` on every script run and never kept in session state; the
owner is the User row for the provider's (issuer, subject), never the e-mail.
"""
from __future__ import annotations

import streamlit as st

from core.auth import is_admin, login_config, owner_for
from core.config import LOCAL_OWNER
from core.runtime import Runtime
from studio.text import escape_md


def _claims() -> dict:
    return {key: st.user.get(key) for key in ("is_logged_in", "iss", "sub", "name", "email")}


def signed_in() -> bool:
    return bool(st.user.get("is_logged_in"))


def sign_in_screen() -> None:
    """The only thing shown to a visitor who is not signed in (then the run stops)."""
    config = login_config()
    _, middle, _ = st.columns([1, 2, 1])
    with middle, st.container(border=True):
        st.title(":material/genetics: Clone Studio", anchor=False)
        st.markdown("Sign in to see your clones. Each person sees and changes only their own.")
        if config.problem:
            st.error(escape_md(config.problem), icon=":material/error:")
        else:
            st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login, width="stretch")
    st.stop()


def require_sign_in() -> None:
    """The gate every run passes: with login on, a visitor who is not signed in sees only the sign-in screen."""
    config = login_config()
    if not config.enabled:
        return
    if config.problem or not signed_in():
        sign_in_screen()
    claims = _claims()
    if not claims["sub"] or not claims["iss"]:
        st.error("Your sign-in did not say who you are (no subject or issuer); sign out and try again.",
                 icon=":material/error:")
        st.button("Sign out", on_click=st.logout)
        st.stop()


def current_owner(runtime: Runtime) -> str:
    """The owner of this run's data: "local" with login off, else the signed-in person's User id."""
    if not login_config().enabled:
        return LOCAL_OWNER
    require_sign_in()
    claims = _claims()
    owner = owner_for(runtime, claims["iss"], claims["sub"], claims["name"], claims["email"])
    _welcome(runtime, owner)
    return owner


_welcomed: set[str] = set()  # owners this process already offered the demo clone (ids only, no data)


def _welcome(runtime: Runtime, owner: str) -> None:
    """A person's first visit gets the demo clone, as a first run does with login off (once per owner)."""
    if owner in _welcomed:
        return
    from core.demo import ensure_demo_clone

    with st.spinner("Preparing your studio…"):
        ensure_demo_clone(runtime, owner)
    _welcomed.add(owner)


def current_is_admin() -> bool:
    """Whether this run's person is an admin (always, with login off: one person runs the studio)."""
    if not login_config().enabled:
        return True
    return signed_in() and is_admin(_claims())


def account_sidebar() -> None:
    """Who is signed in, and the sign-out button (nothing with login off)."""
    if not login_config().enabled or not signed_in():
        return
    claims = _claims()
    who = claims["name"] or claims["email"] or claims["sub"]
    with st.sidebar:
        st.caption(f"Signed in as **{escape_md(str(who))}**" + (" · admin" if current_is_admin() else ""))
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="identity.sign_out")
