"""The Streamlit side shared by pages: cached runtime, URL/session state, components."""
