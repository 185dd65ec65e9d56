# Over 300 lines because it is the one typer app every command registers on.
"""The ``routing`` command line: run the stack, load demo data, publish schemas.

Each command imports the heavy parts it runs (the API, the projections, the broker) inside
its body: ``import routing.cli`` took 2.8 s, with those parts 7.9 s (2026-12-03, loaded host).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from prometheus_client import start_http_server
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from routing.access import Role
from routing.cli_security import (
    keys_app,
    resolved_env,
    resolved_settings,
    token_cmd,
    token_command,
    token_help,
)
from routing.config import Settings, StoreKind
from routing.episodes import schemas
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes
from routing.operations.runtime import tune_gc
from routing.store import open_episodes

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
schemas_app = typer.Typer(help="The JSON Schemas of the event catalogue.", no_args_is_help=True)
demo_app = typer.Typer(help="Seeded, realistic demo episodes.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models on the event topic.", no_args_is_help=True)
config_app = typer.Typer(help="The ROUTING_* configuration.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(config_app, name="config")
app.add_typer(demo_app, name="demo")
app.add_typer(projections_app, name="projections")
app.add_typer(keys_app, name="keys")
app.command("token", help=token_help())(token_cmd)
console = Console(stderr=True)


@app.callback()
def _every_command() -> None:
    # Every command is a long-lived or allocation-heavy process (API, runners, replay).
    tune_gc()


DEMO_BATCH = 200  # episodes per transaction while loading


def load_demo(
    service: CareEpisodes,
    *,
    episodes: int,
    seed: int,
    start: date,
    end: date,
    events: int | None = None,
) -> int:
    """Records ``episodes`` generated episodes, or, with ``events``, episodes until at least
    that many events (streamed: one batch in memory at a time); returns events recorded."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.demo.generator import generate_episodes, generate_events
    from routing.operations import correlation

    # One correlation id for the whole load, stored with each fact like a request's.
    correlation.set_current(correlation.Correlation(f"demo-load-seed-{seed}"))
    generated = (
        generate_episodes(seed, episodes, start=start, end=end)
        if events is None
        else generate_events(seed, events, start=start, end=end)
    )
    recorded = 0
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(
            "loading demo " + ("episodes" if events is None else "events"),
            total=episodes if events is None else events,
        )
        while chunk := list(islice(generated, DEMO_BATCH)):
            batch = [parse_event(body) for episode in chunk for body in episode]
            recorded += len(service.record_batch(batch))
            progress.advance(task, len(chunk) if events is None else len(batch))
    return recorded


@demo_app.command("load")
def demo_load(
    episodes: Annotated[int, typer.Option(min=1, help="Number of episodes.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 2026,
    days: Annotated[int, typer.Option(min=1, help="Spread over the last N days.")] = 365,
    events: Annotated[
        int | None,
        typer.Option(min=1, help="Instead of --episodes: at least this many events (1000000)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD, default today): reproducible data.")
    ] = None,
) -> None:
    """Generates and records demo episodes into the configured store."""
    settings = resolved_settings()
    service = open_episodes(settings)
    last = date.fromisoformat(end) if end else date.today()
    n = load_demo(
        service, episodes=episodes, seed=seed, start=last - timedelta(days=days), end=last,
        events=events,
    )  # fmt: skip
    console.print(f"recorded {n} events into {settings.store.value}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ROUTING_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ROUTING_PORT.")] = None,
) -> None:
    """Serves the API with the store the environment configures (ROUTING_*)."""
    settings = resolved_settings()  # refuses here, before uvicorn, without real keys
    _logging(settings)
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,  # ours (JSON) applies to uvicorn's loggers too
        timeout_graceful_shutdown=20,
    )


@app.command()
def dev(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port for the API. Default: ROUTING_PORT (8000)."),
    ] = None,
    demo_episodes: Annotated[int, typer.Option(help="Loaded when the store is empty.")] = 2000,
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live.")] = Path("var"),
) -> None:
    """Runs the whole stack on the embedded default with demo data; Ctrl-C stops it.

    SQLite store and read models, the bundled Kafka-protocol broker (Tansu, in memory), the
    relay, the ingest consumer, the projection runners and the API, in one process.
    """
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.messaging.bundled import BundledBroker, keep_off

    env = resolved_env()
    port = port or env.port
    _refuse_busy_port(env.host, port)
    keep_off(port)
    _logging(env, interactive=True)
    broker = None if env.kafka_bootstrap_servers else BundledBroker().start()
    settings = Settings(
        store=StoreKind.sqlite,
        sqlite_path=data_dir / "routing.db",
        projections_sqlite_path=data_dir / "projections.db",
        dev_keys_path=data_dir / "dev-keys.json",
        port=port,
        kafka_bootstrap_servers=env.kafka_bootstrap_servers or broker.bootstrap_servers,  # type: ignore[union-attr]
    )
    settings = resolved_settings(settings)
    try:
        service = open_episodes(settings)
        if service.event_count() == 0:
            end = date.today()
            n = load_demo(
                service, episodes=demo_episodes, seed=2026, start=end - timedelta(days=365), end=end
            )
            console.print(f"[green]demo data:[/] {n} events in {demo_episodes} episodes")
        else:
            console.print(f"store {settings.sqlite_path} holds {service.event_count()} records")
        base = f"http://{settings.host}:{port}"
        console.print(
            f"[bold]API[/] {base}  ·  OpenAPI {base}/docs  ·  health {base}/health\n"
            f"[bold]Console[/] {base}/console/ (development sign-in per role)\n"
            f"[bold]Kafka[/] {settings.kafka_bootstrap_servers} (bundled: "
            f"{'yes' if broker else 'no'})  ·  summary {base}/projections/episode-summary\n"
            f"[bold]Tokens[/] every route but /health, /docs and /schemas needs one; try\n"
            f'  curl -H "Authorization: Bearer $({token_command()} --role auditor)" '
            f"{base}/projections/episode-summary\n"
            f"  (roles: {', '.join(r.value for r in Role)}; keys in {settings.dev_keys_path}, "
            f"development only)",
            soft_wrap=True,  # a command to copy: never broken at the terminal's width
        )
        asyncio.run(_run_stack(settings, service, api=True))
    finally:
        if broker is not None:
            broker.stop()


async def _run_stack(
    settings: Settings,
    service: CareEpisodes,
    *,
    api: bool = False,
    relay: bool = True,
    ingest: bool = True,
    projections: list[str] | None = None,
    run_projections: bool = True,
) -> None:
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from api.app import create_app
    from projections.db import open_read_models
    from routing import stack
    from routing.operations.resilience import supervise

    await stack.prepare_topics(settings)
    db = open_read_models(settings)
    stop = asyncio.Event()
    workers = []
    # A store restart must not end a worker: each is started again after a backoff.
    if relay:
        workers.append(supervise("relay", stack.relay(settings, service).run, stop))
    if ingest:
        workers.append(supervise("ingest", stack.ingest(settings, service).run, stop))
    if run_projections:
        workers += [
            supervise(r.worker.key, r.run, stop) for r in stack.runners(settings, db, projections)
        ]
    server = None
    if api:
        app_ = create_app(settings, service=service, read_models=db)
        server = stack.ApiServer(
            uvicorn.Config(app_, host=settings.host, port=settings.port, log_config=None)
        )
    elif settings.metrics_port:
        server = stack.ops_server(settings, service)
    try:
        await stack.run_until_signalled(workers, stop, server)
    finally:
        db.close()


def _logging(settings: Settings, *, interactive: bool = False) -> None:
    """JSON lines for services; an interactive run (``routing dev`` on a terminal, without
    ROUTING_LOG_FORMAT) gets readable lines instead."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.operations import logs

    fmt = settings.log_format
    if interactive and "ROUTING_LOG_FORMAT" not in os.environ and sys.stderr.isatty():
        fmt = "text"
    logs.configure(fmt, settings.log_level)


def _refuse_busy_port(host: str, port: int) -> None:
    """One clear line and exit 2 when the API's port is taken, before anything starts (a
    broker, consumers) that would have to be torn down again."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            console.print(
                f"[red]port {port} on {host} is not free[/] ({exc.strerror}): "
                "choose another with --port or ROUTING_PORT",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None


def _kafka_settings() -> Settings:
    settings = resolved_settings()
    if not settings.kafka_bootstrap_servers:
        console.print("[red]ROUTING_KAFKA_BOOTSTRAP_SERVERS is not set[/]")
        raise typer.Exit(2)
    _logging(settings)
    return settings


@app.command("relay")
def relay_cmd() -> None:
    """Publishes every stored fact to the event topic (transactional outbox)."""
    settings = _kafka_settings()
    asyncio.run(_run_stack(settings, open_episodes(settings), ingest=False, run_projections=False))


@app.command("ingest")
def ingest_cmd() -> None:
    """Applies facts from the inbound topic; invalid ones go to the dead-letter topic."""
    settings = _kafka_settings()
    asyncio.run(_run_stack(settings, open_episodes(settings), relay=False, run_projections=False))


@projections_app.command("run")
def projections_run(
    names: Annotated[list[str] | None, typer.Argument(help="Default: all.")] = None,
) -> None:
    """Runs projection consumers (one consumer group per projection)."""
    settings = _kafka_settings()
    asyncio.run(
        _run_stack(settings, open_episodes(settings), relay=False, ingest=False, projections=names)
    )


@projections_app.command("list")
def projections_list() -> None:
    """Names of the projections."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from projections import PROJECTIONS

    for name in PROJECTIONS:
        typer.echo(name)


@projections_app.command("rebuild")
def projections_rebuild(name: Annotated[str, typer.Argument(help="Projection name.")]) -> None:
    """Rebuilds a read model from offset 0 into fresh tables, then swaps them in."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from projections import PROJECTIONS
    from projections.db import open_read_models
    from projections.rebuild import rebuild
    from routing.operations.resilience import persevere

    if name not in PROJECTIONS:
        console.print(f"[red]unknown projection {name!r}[/] (known: {', '.join(PROJECTIONS)})")
        raise typer.Exit(2)
    settings = _kafka_settings()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    db = open_read_models(settings)
    bootstrap = settings.kafka_bootstrap_servers
    assert bootstrap
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"rebuilding {name}", total=None)
        n = asyncio.run(
            persevere(  # a store restart starts the rebuild over (its first step is a drop)
                f"rebuild {name}",
                lambda: rebuild(
                    db, PROJECTIONS[name](settings), bootstrap, settings.events_topic,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                ),
            )
        )  # fmt: skip
    db.close()
    console.print(f"rebuilt {name} from {n} messages and swapped it in")


@app.command("broker")
def broker_cmd(port: Annotated[int, typer.Option(help="Listen port.")] = 9092) -> None:
    """Runs the bundled Kafka-protocol broker (Tansu, memory only) in the foreground."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.messaging.bundled import BundledBroker

    broker = BundledBroker(port).start()
    console.print(f"broker {broker.cluster_id} on {broker.bootstrap_servers}; Ctrl-C stops it")
    try:
        while broker.process and broker.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()


@config_app.command("check")
def config_check(
    role: Annotated[
        str, typer.Option(help="api, relay, ingest, projections, or all (routing dev).")
    ] = "all",
    offline: Annotated[bool, typer.Option(help="Only the values; do not connect.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
) -> None:
    """Reports missing or wrong settings (and unreachable store or broker) before start;
    exits 1 on any error."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.operations import check

    if role not in check.ROLES:
        console.print(f"[red]unknown role {role!r}[/] (known: {', '.join(check.ROLES)})")
        raise typer.Exit(2)
    findings = check.run(role, offline=offline)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        colour = {"error": "red", "warning": "yellow", "ok": "green"}
        for f in findings:
            console.print(
                f"[{colour[f.level]}]{f.level:<7}[/] {f.variable}: {f.message}",
                highlight=False,
                soft_wrap=True,
            )
    errors = sum(f.level == "error" for f in findings)
    if not as_json:
        console.print(
            f"{errors} error(s), {sum(f.level == 'warning' for f in findings)} warning(s)"
        )
    if errors:
        raise typer.Exit(1)


@config_app.command("docs")
def config_docs() -> None:
    """Prints the README's settings table, generated from the Settings model."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.operations import settings_doc

    typer.echo(settings_doc.block())


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Option(help="Target folder.")] = schemas.SCHEMA_DIR,
) -> None:
    """Writes one JSON Schema per event type, and the AsyncAPI document of the topics."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.messaging import asyncapi

    for path in schemas.write_schemas(directory):
        console.print(str(path))
    console.print(str(asyncapi.write()))


@schemas_app.command("check")
def schemas_check(
    directory: Annotated[Path, typer.Option(help="Folder to compare.")] = schemas.SCHEMA_DIR,
) -> None:
    """Exits 1 if the committed schemas or AsyncAPI document differ from the models."""
    # lazy: CLI start-up, a command loads only what it runs (module docstring)
    from routing.messaging import asyncapi

    bad = schemas.drifted(directory) + (["asyncapi.json"] if asyncapi.drifted() else [])
    if bad:
        console.print(
            f"[red]schemas out of date:[/] {', '.join(bad)} (run: routing schemas export)"
        )
        sys.exit(1)
    console.print("schemas up to date")


from routing.cli_audit import register as _register_audit  # noqa: E402
from routing.cli_scaleout import register as _register_scaleout  # noqa: E402

_register_audit(app)  # routing replay | verify | history | simulate
_register_scaleout(app)  # routing replay-part | replay-merge (the indexed Job's pods)

if __name__ == "__main__":
    app()
