"""``ohsc serve``: the HTTP API and review UI; ``ohsc purge``: apply retention now."""

from __future__ import annotations

import os

import click

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import print_json
from ohsc.errors import ConfigError


@click.command("serve")
@click.option("--host", help="Address to listen on (default OHSC_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default OHSC_PORT, 8080).")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Server processes (default OHSC_SERVER_WORKERS, 1)."
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request line.")
@pass_app
def serve(app: App, host: str | None, port: int | None, workers: int | None, access_log: bool) -> None:
    """Serve the API (/v1, docs at /docs) and the review UI (/review).

    Every route but /health/live and /health/ready needs a login or an API key: create them
    with `ohsc user create` and `ohsc apikey create`.
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the service extra is part of 'all'
        raise ConfigError("the server needs the service extra: pip install 'ohsc[service]'") from exc
    settings = app.settings
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.server_workers
    app.store.migrate()  # once, here, before any worker starts
    app.store.dispose()
    err.print(f"OHSC on http://{host}:{port}  (review UI /review, API /v1, docs /docs); Ctrl-C stops")
    log_level = settings.log_level.lower()
    if workers > 1:
        os.environ["OHSC_AUTO_MIGRATE"] = "false"
        uvicorn.run(
            "ohsc.web.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            log_level=log_level,
            server_header=False,
        )
        return
    from ohsc.web.app import create_app

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
    )


@click.command("purge")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def purge(app: App, as_json: bool) -> None:
    """Delete what retention settings no longer keep (review media, unmatched records, sessions)."""
    from ohsc.content.media import open_blob_store
    from ohsc.submissions.retention import purge as run_purge

    report = run_purge(app.store, app.settings, open_blob_store(app.settings))
    if as_json:
        print_json(report.to_dict())
        return
    out.print(
        f"deleted {report.media_deleted} media, {report.records_deleted} records, "
        f"{report.sessions_deleted} expired sessions"
    )
