"""Export page."""
from app.components import export_page as page, ui

with ui.guarded("The Export page"):
    page.render()
