"""``sistercity serve``: the local web app (:mod:`recommender.web`) on 127.0.0.1."""

from __future__ import annotations

import click

from recommender.cli.options import UserError, command, handle_errors


@command()
@click.option("--port", default=8000, show_default=True, type=int, help="Port on 127.0.0.1.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 so only this computer can open the app.",
)
@click.option("--open/--no-open", "open_browser", default=False, help="Open a browser tab.")
@handle_errors
def serve(port: int, host: str, open_browser: bool) -> None:
    """The local web app: search a city, move weights, see the map, download files.

    Opens on http://127.0.0.1:8000/ ; no internet connection is needed.
    """
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535; got {port}")
    import socket

    with socket.socket() as probe:  # a taken port is one line, not a server log
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port"
            ) from None
    from recommender.web.server import serve as run

    click.echo(f"sistercity web app on http://{host}:{port}/  (Ctrl+C to stop)", err=True)
    run(host=host, port=port, open_browser=open_browser)
