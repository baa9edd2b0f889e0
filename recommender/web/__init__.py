"""The local web app behind ``sistercity serve``: pages over :mod:`recommender.app`.

Starlette (a small ASGI toolkit) routes requests, Jinja2 renders server-side templates,
uvicorn serves on 127.0.0.1. Every asset (CSS, a little JavaScript, the world outline)
ships in the package; nothing is loaded from the network. Every page has a JSON twin
(the same path with ``.json``), as in Datasette.
"""

from recommender.web.server import create_app

__all__ = ["create_app"]
