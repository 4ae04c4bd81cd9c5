"""The Streamlit dashboard; it reads the server's REST API only."""
