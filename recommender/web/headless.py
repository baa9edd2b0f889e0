"""The web app in a real browser, one way for every caller: the browser tests
(``tests/test_web_browser.py``) and the browser half of ``scripts/benchmark_web.py``.

Debian's Chromium (``/usr/bin/chromium``, or ``$SISTERCITY_CHROMIUM``) driven by Playwright
with the system browser (no browser download), headless, a fresh profile, nothing fetched
from the network by the browser itself; the app served by uvicorn on 127.0.0.1 in a thread.
Playwright is a test extra: it is imported by the callers, never here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SISTERCITY_CHROMIUM", "/usr/bin/chromium")
"""The browser: Debian's ``chromium`` package (``.ci/run`` installs it)."""

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no update checks, no safe-browsing lists
    "--disable-component-update",
    "--disable-sync",
)
"""Headless and quiet: the browser makes no request of its own, so every request a test
sees is the page's."""


def chromium_available() -> bool:
    """Whether the system Chromium is installed."""
    return Path(CHROMIUM).exists()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app: Any = None, *, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` (default: a new :func:`recommender.web.create_app`) with uvicorn on
    127.0.0.1 in a daemon thread; yields the base URL and stops the server on exit."""
    import uvicorn

    if app is None:
        from recommender.web import create_app

        app = create_app()
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not srv.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def browser(
    playwright: Any, *, executable: str | None = None, **context_options: Any
) -> Iterator[Any]:
    """A Playwright browser context of the system Chromium (or ``executable``) with a fresh
    profile (removed afterwards); ``context_options`` go to ``launch_persistent_context``
    (viewport, locale, accept_downloads...)."""
    profile = tempfile.mkdtemp(prefix="sistercity-chromium-")
    ctx = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=executable or CHROMIUM,
        headless=True,
        args=list(CHROMIUM_FLAGS),
        **context_options,
    )
    try:
        yield ctx
    finally:
        ctx.close()
        shutil.rmtree(profile, ignore_errors=True)


__all__ = [
    "CHROMIUM",
    "CHROMIUM_FLAGS",
    "browser",
    "chromium_available",
    "free_port",
    "serve_in_thread",
]
