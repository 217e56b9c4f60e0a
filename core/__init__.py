"""Clone Studio's logic. Imports and runs without Streamlit."""
