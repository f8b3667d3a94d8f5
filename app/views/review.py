"""Review page."""
from app.components import review_page as page, ui

with ui.guarded("The Review page"):
    page.render()
