"""Settings page."""
from app.components import settings_page as page, ui

with ui.guarded("The Settings page"):
    page.render()
