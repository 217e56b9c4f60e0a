"""Clone Studio's UI entry: page configuration and navigation. Each page lives in app_pages/; add one with one line.

streamlit_app.py serves this script (with /api and /healthz) through st.App; run `streamlit run streamlit_app.py`."""
import streamlit as st

from studio.identity import account_sidebar, require_sign_in

st.set_page_config(page_title="Clone Studio", page_icon="🧬", layout="wide")
require_sign_in()  # with login on, a visitor who is not signed in sees only the sign-in screen
account_sidebar()

PAGES = {
    "Studio": [
        st.Page("app_pages/clones.py", title="Clones", icon=":material/groups:", default=True),
        st.Page("app_pages/knowledge.py", title="Knowledge", icon=":material/library_books:"),
        st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:"),
        st.Page("app_pages/call.py", title="Call", icon=":material/call:"),
        st.Page("app_pages/voice.py", title="Voice", icon=":material/record_voice_over:"),
    ],
    "Build": [
        st.Page("app_pages/new_clone.py", title="New clone", icon=":material/add_circle:"),
        st.Page("app_pages/prompts.py", title="Prompts", icon=":material/tune:"),
        st.Page("app_pages/quality.py", title="Quality", icon=":material/fact_check:"),
    ],
    "Watch": [
        st.Page("app_pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
    ],
    "Configure": [
        st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}

st.navigation(PAGES).run()

from studio.runtime import warm_offline_models  # noqa: E402  (after the first page has drawn)

warm_offline_models()
