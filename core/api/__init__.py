"""The studio's HTTP service API: tokens, routes, the voice-agent knowledge tool, its cache and limits.

Nothing here imports Streamlit; streamlit_app.py mounts `routes.api_routes(...)` under /api.
"""
