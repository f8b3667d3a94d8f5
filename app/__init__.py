"""The Streamlit user interface (`streamlit run app/main.py`)."""
