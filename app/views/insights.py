"""Insights page."""
from app.components import insights_page as page, ui

with ui.guarded("The Insights page"):
    page.render()
