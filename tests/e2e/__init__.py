"""Browser tests: the real `streamlit run app.py` driven in Debian's Chromium with Playwright."""
