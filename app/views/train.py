"""Train page."""
from app.components import train_page as page, ui

with ui.guarded("The Train page"):
    page.render()
