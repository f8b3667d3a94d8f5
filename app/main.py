"""Entry point: `streamlit run app/main.py`. Builds the page list and runs the selected page."""
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # works from a fresh checkout without `pip install -e .`
    sys.path.insert(0, str(_ROOT))

import eac_core  # noqa: E402,F401  (sets the OpenMP wait policy before torch loads)
import streamlit as st  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")

def _page_icon():
    """The favicon, drawn here: a material-icon name (":material/face:") makes the browser fetch it from
    fonts.gstatic.com, and nothing the app loads may leave the machine (issue 11 item 12)."""
    from PIL import Image, ImageDraw
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, 60, 60), fill=(255, 75, 75, 255))
    d.ellipse((20, 22, 27, 29), fill="white")
    d.ellipse((37, 22, 44, 29), fill="white")
    d.arc((18, 26, 46, 48), 20, 160, fill="white", width=4)
    return img


st.set_page_config(page_title="FER label audit", page_icon=_page_icon(), layout="wide")
_address = st.get_option("server.address")
if _address not in LOOPBACK:   # .streamlit/config.toml says 127.0.0.1: someone asked for this
    _hosts = ", ".join(st.get_option("server.allowedHosts") or []) or "any"
    st.sidebar.warning(f"Listening on {_address or 'every network interface'}: other computers on the "
                       "network can open this app and its data. Start it without --server.address (or "
                       "with --server.address 127.0.0.1) to keep it on this computer. Host names accepted "
                       f"(--server.allowedHosts): {_hosts}.",
                       icon=":material/public:")
from app.components.ui import PAGE_TABLE  # noqa: E402  (the one page list)

st.navigation([st.Page(file, title=title, icon=icon, default=i == 0)
               for i, (file, title, icon) in enumerate(PAGE_TABLE.values())]).run()
