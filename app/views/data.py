"""Data page."""
from app.components import data_page as page, ui

with ui.guarded("The Data page"):
    page.render()
