"""placeholder"""
import streamlit as st


def render() -> None:
    st.header("settings")
