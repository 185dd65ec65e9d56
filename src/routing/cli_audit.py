# Over 300 lines because the four audit commands share options, keys and output.
"""``routing replay | verify | history | simulate``: the auditor's command line.

Registered on the main ``routing`` app by ``register``. A command module of the CLI layer,
beside ``cli_security``, not inside ``routing.audit``: the commands drive the projections'
replay, and the projections read the store through ``routing.audit.reading``, so audit holding
them made the two packages import each other.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from routing.audit import service as audit
from routing.audit.models import SimulationIn, learnt_out, simulation_out, view_out
from routing.cli_security import resolved_settings
from routing.config import Settings, StoreKind
from routing.episodes.service import EpisodeNotFound
from routing.persistence.chained import check_chain
from routing.store import open_episodes

console = Console(stderr=True)
out = Console()


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console,
    )  # fmt: skip


def _projections(names: list[str] | None, settings: Settings) -> list[Any]:
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections import PROJECTIONS

    unknown = [n for n in names or [] if n not in PROJECTIONS]
    if unknown:
        console.print(f"[red]unknown projection {', '.join(unknown)}[/] (known: "
                      f"{', '.join(PROJECTIONS)})")  # fmt: skip
        raise typer.Exit(2)
    return [PROJECTIONS[n](settings) for n in names or PROJECTIONS]


Workers = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Worker processes, each replaying every projection for a range of episodes "
        "(default: one a core; 1 with the in-memory store).",
    ),
]


def _replay(
    settings: Settings, names: list[str] | None, workers: int | None = None
) -> tuple[Any, list[Any], Any]:
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections.parallel import default_workers, replay_parallel
    from projections.replay import open_scratch, replay

    projections = _projections(names, settings)
    n = 1 if settings.store is StoreKind.memory else (workers or default_workers(settings))
    n = min(n, len(projections))
    with _progress() as bar:
        task = bar.add_task(
            f"replaying {', '.join(p.name for p in projections)} from the store"
            + (f" ({n} workers)" if n > 1 else ""),
            total=None,
        )

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            if n > 1:
                scratch, result = replay_parallel(
                    settings, [p.name for p in projections], workers=n, progress=progress
                )
            else:
                service = open_episodes(settings)
                scratch = open_scratch(settings)
                result = replay(service, scratch, projections, progress=progress)
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
        except RuntimeError as exc:  # a worker failed: its traceback says why
            console.print(f"[red]replay failed:[/] {exc}")
            raise typer.Exit(1) from None
    console.print(
        f"replayed {result.facts} facts (store position {result.position}) in "
        f"{result.seconds:.1f} s ({result.rate:,.0f} facts/s) into {_where(settings)}"
    )
    return scratch, projections, result


def _where(settings: Settings) -> str:
    if settings.store is StoreKind.postgres:
        return f"schema {settings.replay_schema}"
    if settings.store is StoreKind.memory:
        return "memory"
    return str(settings.replay_sqlite_path)


def replay_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all).")] = None,
    workers: Workers = None,
) -> None:
    """Rebuilds projections from the event store (not Kafka) into the scratch read models
    (ROUTING_REPLAY_SQLITE_PATH, or ROUTING_REPLAY_SCHEMA on PostgreSQL)."""
    scratch, _, _ = _replay(resolved_settings(), names, workers)
    scratch.close()


def verify_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all).")] = None,
    chain: Annotated[
        bool, typer.Option("--chain", help="Check the event log's hash chain instead.")
    ] = False,
    anchor: Annotated[
        str | None,
        typer.Option(help="With --chain: POSITION:DIGEST of a head noted earlier (truncation)."),
    ] = None,
    max_differences: Annotated[int, typer.Option(min=0, help="Rows listed per run.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    workers: Workers = None,
) -> None:
    """Compares live projections with a replay from the store (digest per projection, the
    differing rows); exits 1 when they differ. With --chain: checks the event log's hash
    chain for edited, inserted or deleted rows; exits 1 when it is broken."""
    settings = resolved_settings()
    if chain:
        _verify_chain(settings, as_json, _anchor(anchor) if anchor else None)
        return
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections.compare import compare
    from projections.db import open_read_models

    scratch, projections, result = _replay(settings, names, workers)
    live = open_read_models(settings)
    try:
        comparisons = [
            compare(live, scratch, p, max_differences=max_differences) for p in projections
        ]
    finally:
        live.close()
        scratch.close()
    if as_json:
        out.print_json(json.dumps({
            "store_position": result.position,
            "projections": [
                {"projection": c.projection, "equal": c.equal, "live_digest": c.live_digest,
                 "replay_digest": c.replay_digest, "rows": c.rows,
                 "differences": c.total_differences,
                 "listed": [{"table": d.table, "only_in": d.only_in, "row": list(d.row)}
                            for d in c.differences]}
                for c in comparisons
            ],
        }, default=str))  # fmt: skip
    else:
        table = Table("projection", "live digest", "replay digest", "rows live/replay", "")
        for c in comparisons:
            rows = sum(a for a, _ in c.rows.values()), sum(b for _, b in c.rows.values())
            table.add_row(
                c.projection, c.live_digest[:16], c.replay_digest[:16], f"{rows[0]}/{rows[1]}",
                "[green]equal[/]" if c.equal else f"[red]{c.total_differences} differ[/]",
            )  # fmt: skip
        out.print(table)
        for c in comparisons:
            for d in c.differences:
                out.print(f"{c.projection}.{d.table} only in {d.only_in}: {d.row}")
    if not all(c.equal for c in comparisons):
        sys.exit(1)


def _anchor(text: str) -> tuple[int, str]:
    position, _, digest = text.partition(":")
    if not position.isdigit() or len(digest) != 64:
        console.print(
            "[red]--anchor must be POSITION:DIGEST (the 64 hex digits printed as head)[/]"
        )
        raise typer.Exit(2)
    return int(position), digest.lower()


def _verify_chain(settings: Settings, as_json: bool, anchor: tuple[int, str] | None) -> None:
    service = open_episodes(settings)
    report = check_chain(service.recorder, anchor=anchor)
    findings = report.findings or []
    head = report.head
    if as_json:
        out.print_json(json.dumps({
            "intact": report.intact, "rows": report.checked, "links": report.links,
            "head": {"position": head.position, "digest": head.digest} if head else None,
            "findings": [vars(f) for f in findings],
        }))  # fmt: skip
    else:
        for f in findings:
            out.print(f"[red]{f.kind}[/] at position {f.position}: {f.detail}")
        state = "[green]intact[/]" if report.intact else f"[red]broken ({len(findings)})[/]"
        out.print(
            f"hash chain {state}: {report.checked} stored rows, {report.links} links; head "
            + (f"{head.position} {head.digest}" if head else "none (empty store)")
        )
    if not report.intact:
        sys.exit(1)


def history_cmd(
    episode: Annotated[UUID, typer.Argument(help="Episode id.")],
    known_at: Annotated[
        datetime | None, typer.Option(help="As the store knew it then (recorded_at <= T).")
    ] = None,
    occurred_by: Annotated[
        datetime | None, typer.Option(help="As it was in reality then (occurred_at <= T).")
    ] = None,
    learnt_since: Annotated[
        datetime | None, typer.Option(help="What was learnt after this knowledge time...")
    ] = None,
    learnt_until: Annotated[datetime | None, typer.Option(help="...up to this one.")] = None,
) -> None:
    """An episode as it was known, or as it was in reality, at a given time; or what was
    learnt between two knowledge times (late facts marked). Prints JSON."""
    settings = resolved_settings()
    service = open_episodes(settings)
    chosen = [x is not None for x in (known_at, occurred_by, learnt_since or learnt_until)]
    if sum(chosen) != 1:
        console.print("[red]give exactly one of --known-at, --occurred-by, "
                      "--learnt-since/--learnt-until[/]")  # fmt: skip
        raise typer.Exit(2)
    try:
        if known_at is not None:
            body: Any = view_out(
                episode,
                audit.episode_known_at(
                    service, episode, _aware(known_at, "--known-at"), settings.rulebook_policy()
                ),
            )
        elif occurred_by is not None:
            moment = _aware(occurred_by, "--occurred-by")
            view = audit.episode_occurred_by(service, episode, moment, settings.rulebook_policy())
            body = view_out(episode, view)
        else:
            if learnt_since is None or learnt_until is None:
                console.print("[red]--learnt-since and --learnt-until go together[/]")
                raise typer.Exit(2)
            since = _aware(learnt_since, "--learnt-since")
            until = _aware(learnt_until, "--learnt-until")
            body = learnt_out(
                episode, audit.episode_learnt(service, episode, since, until), since, until
            )
    except EpisodeNotFound:
        console.print(f"[red]no episode {episode}[/]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    out.print_json(body.model_dump_json())  # fmt: skip


def _aware(moment: datetime, option: str) -> datetime:
    if moment.tzinfo is None:
        console.print(f"[red]{option} needs a time zone (e.g. 2026-03-02T09:00:00+01:00)[/]")
        raise typer.Exit(2)
    return moment


def simulate_cmd(
    start: Annotated[
        str, typer.Option("--start", "--from", help="First contact date, YYYY-MM-DD (API: start).")
    ],
    end: Annotated[
        str, typer.Option("--end", "--to", help="Last contact date, YYYY-MM-DD (API: end).")
    ],
    home_region: Annotated[
        list[str] | None, typer.Option(help="County code; repeat for several (default: all).")
    ] = None,
    ds_2023_27: Annotated[
        bool, typer.Option("--ds-2023-27/--no-ds-2023-27", help="Alternative: apply it or not.")
    ] = True,
    effective: Annotated[
        str | None, typer.Option(help="Alternative effective date of Ds 2023:27, YYYY-MM-DD.")
    ] = None,
    changes: Annotated[int, typer.Option(min=0, help="Changed contacts listed.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    from_log: Annotated[
        bool,
        typer.Option(
            "--from-log", help="Replay the event log even when the read model could answer."
        ),
    ] = False,
) -> None:
    """Recomputes liability for the chosen home regions and period under another rulebook
    policy (live projections untouched): from the liability read model's decision inputs
    when it has caught up with the store, else (or with --from-log) from the event log; per
    home region what it paid versus what it would have paid, and which contacts change."""
    settings = resolved_settings()
    try:
        request = SimulationIn(
            home_regions=home_region or [], start=date.fromisoformat(start),
            end=date.fromisoformat(end), ds_2023_27_enabled=ds_2023_27,
            ds_2023_27_effective=date.fromisoformat(effective) if effective else None,
        )  # fmt: skip
        scope = request.scope()
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    baseline = settings.rulebook_policy()
    body = _what_if(settings, (baseline, request.alternative(baseline)), scope, from_log, changes)
    if as_json:
        out.print_json(body.model_dump_json())
        return
    table = Table("home region", "contacts", "paid SEK", "would pay SEK", "difference", "changed",
                  title=f"{body.baseline} -> {body.alternative}, {start}..{end}")  # fmt: skip
    for r in body.regions:
        table.add_row(r.home_region, str(r.contacts), f"{r.paid:,}", f"{r.would_pay:,}",
                      f"{r.difference:+,}", str(r.changed))  # fmt: skip
    out.print(table)
    for c in body.changes:
        out.print(
            f"{c.episode_id}/{c.contact_id} home {c.home_region} care {c.care_region} "
            f"{c.contact_date}: {c.before.status} {c.before.amount} -> "
            f"{c.after.status} {c.after.amount}"
        )
    why = f" ({body.path_reason})" if body.path_reason else ""
    console.print(f"{body.facts} facts, {body.changed_total} contacts change; "
                  f"answered from the {body.path}{why}")  # fmt: skip


def _what_if(
    settings: Settings, policies: tuple[Any, Any], scope: Any, from_log: bool, changes: int
) -> Any:
    """The what-if with a progress bar: the read model's path unless it cannot answer as the
    log would (projections/whatif.py)."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections import PROJECTIONS, whatif
    from projections.db import open_read_models
    from projections.positions import ProjectionPositions

    service = open_episodes(settings)
    db = None if from_log else open_read_models(settings)
    positions = ProjectionPositions(
        service, db, {"liability": PROJECTIONS["liability"](settings).interesting},
        topic=settings.events_topic, partitions=settings.events_partitions,
    ) if db is not None else None  # fmt: skip
    with _progress() as bar:
        task = bar.add_task("what-if", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        answer = whatif.simulate(service, db, positions, policies, scope, progress)
    if db is not None:
        db.close()
    return simulation_out(answer.simulation, changes, answer.path, answer.reason)


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_cmd)
    app.command("verify")(verify_cmd)
    app.command("history")(history_cmd)
    app.command("simulate")(simulate_cmd)
