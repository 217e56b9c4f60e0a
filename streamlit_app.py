"""Clone Studio: page configuration and navigation. Each page lives in pages/; add one with one line."""
import streamlit as st

st.set_page_config(page_title="Clone Studio", page_icon="🧬", layout="wide")

PAGES = {
    "Studio": [
        st.Page("pages/clones.py", title="Clones", icon=":material/groups:", default=True),
        st.Page("pages/knowledge.py", title="Knowledge", icon=":material/library_books:"),
        st.Page("pages/chat.py", title="Chat", icon=":material/chat:"),
    ],
}

st.navigation(PAGES).run()
