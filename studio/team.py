"""Settings pieces for budgets and teams: your daily cloud budget, and (admins) everyone's caps
and the single-user studio's data."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import auth, spend
from core.errors import StudioError
from studio import state
from studio.identity import current_is_admin
from studio.text import escape_md


def _money(value: float | None) -> str:
    return "no cap" if value is None else f"${value:,.2f}"


def budget_panel(runtime) -> None:
    """Today's cloud spend against the cap; editable here only with login off (one person)."""
    st.subheader("Daily cloud budget", anchor=False)
    current = spend.budget(runtime)
    left = "" if current.left_usd is None else f" · {_money(current.left_usd)} left"
    st.caption(f"Spent today on cloud models: **${current.spent_usd:,.4f}** of {_money(current.cap_usd)}{left}. "
               "When the budget is used up, cloud answers are refused and the offline answer is offered; "
               "it resets at midnight UTC.")
    if current.reached:
        st.warning(escape_md(spend.refusal(current.cap_usd)), icon=":material/savings:")
    if auth.login_enabled():
        if current.source in ("studio", "user"):
            st.caption("An admin sets this budget.")
        return
    with st.form("settings.budget", border=False):
        typed = st.text_input("Daily budget in US dollars", value="" if current.cap_usd is None else f"{current.cap_usd:g}",
                              placeholder="blank: no cap", help="For example 2.50. Leave blank for no cap.",
                              key="settings.budget.cap")
        if st.form_submit_button("Save budget", icon=":material/save:"):
            try:
                spend.set_cap(runtime, runtime.owner_id, typed)
            except StudioError as error:
                state.flash(str(error), "error")
            else:
                state.flash("Saved the daily budget.")
            st.rerun()


def admin_panel(runtime) -> None:
    """Admins only (login on): the default cap, one cap per person, and claiming the local data."""
    if not auth.login_enabled() or not current_is_admin():
        return
    st.divider()
    st.subheader("Team (admin)", anchor=False)
    default_cap, source = spend.daily_cap(runtime, spend.STUDIO_OWNER)
    with st.form("settings.team.default", border=False):
        typed = st.text_input("Default daily budget for everyone (USD)", placeholder="blank: no cap",
                              value="" if default_cap is None else f"{default_cap:g}", key="settings.team.default_cap")
        if st.form_submit_button("Save default", icon=":material/save:"):
            _apply(lambda: spend.set_default_cap(runtime, typed), "Saved the default daily budget.")
    users = auth.list_users(runtime)
    rows = [{"Name": u.name or "", "E-mail": u.email or "", "Admin": auth.is_admin(u),
             "Spent today (USD)": round(spend.spent_today(runtime, u.id), 4),
             "Daily cap": _money(spend.daily_cap(runtime, u.id)[0]),
             "Last seen": u.last_seen} for u in users]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if users:
        labels = {u.id: u.email or u.name or u.subject for u in users}
        with st.form("settings.team.user", border=False):
            who = st.selectbox("Person", list(labels), format_func=labels.__getitem__, key="settings.team.person")
            cap = st.text_input("Their daily budget (USD)", placeholder="blank: no cap", key="settings.team.cap")
            save, clear = st.columns(2)
            if save.form_submit_button("Set their budget", icon=":material/savings:"):
                _apply(lambda: spend.set_cap(runtime, who, cap), f"Saved the budget for {labels[who]}.")
            if clear.form_submit_button("Use the default", icon=":material/restart_alt:"):
                _apply(lambda: spend.set_cap(runtime, who, None, clear=True), f"{labels[who]} now has the default budget.")
    local = auth.local_data_counts(runtime)
    if local:
        st.markdown("**Data from before sign-in was switched on**")
        st.caption("The single-user studio's clones, documents and chats belong to the local owner, whom "
                   "nobody can sign in as. Move them to your account to keep working with them.")
        if st.button("Claim the local data", icon=":material/move_down:"):
            state.open_dialog("claim-local")
            st.rerun()
    if state.dialog("claim-local") is not None:
        claim_dialog(runtime, local)


@st.dialog("Claim the local data", on_dismiss=state.close_dialog)
def claim_dialog(runtime, local: dict[str, int]) -> None:
    clones = local.get("clone", 0)
    st.markdown(f"Move the local data ({clones} clone{'s' if clones != 1 else ''} and everything in them) to your account?")
    st.caption("Clones with a name you already use get a number added. This cannot be undone from the studio.")
    go, cancel = st.columns(2)
    if go.button("Claim", type="primary", width="stretch"):
        moved = auth.claim_local_data(runtime, runtime.owner_id)
        state.close_dialog()
        state.flash(f"Moved {moved.get('clone', 0)} clone(s) to your account.")
        st.rerun()
    if cancel.button("Cancel", width="stretch"):
        state.close_dialog()
        st.rerun()


def _apply(action, done: str) -> None:
    try:
        action()
    except StudioError as error:
        state.flash(str(error), "error")
    else:
        state.flash(done)
    st.rerun()
