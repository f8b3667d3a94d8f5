"""`python -m app [streamlit options]`: serve the app, as `streamlit run app/main.py [options]` does, and
read what the first page needs while the server starts (app.components.warm): the first browser finds
the most recent run's scores, queue, manifest and first CAM panels ready."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

MAIN = Path(__file__).resolve().with_name("main.py")


def main(argv: list[str] | None = None) -> int:
    root = str(MAIN.parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from app.components import warm
    threading.Thread(target=warm.when_ready, name="fer-warm-start", daemon=True).start()
    from streamlit.web import cli
    sys.argv = ["streamlit", "run", str(MAIN), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
