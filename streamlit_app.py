"""Clone Studio: page configuration and navigation. Each page lives in app_pages/; add one with one line."""
import streamlit as st

st.set_page_config(page_title="Clone Studio", page_icon="🧬", layout="wide")

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
    ],
    "Configure": [
        st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}

st.navigation(PAGES).run()
