"""``routing replay-part | replay-merge``: a replay split across pods (deploy/k8s/base/replay.yaml).

Each pod of a Kubernetes indexed Job replays every projection for its range of episode
hashes (``projections.shares``) into a part schema of its own, ``<ROUTING_REPLAY_SCHEMA>_partI``,
taking its index from ``JOB_COMPLETION_INDEX`` (which Kubernetes sets in every pod of an
Indexed Job); once the Job is complete, ``replay-merge`` merges the parts into the scratch
schema and drops them. Every pod must read the log up to the same position: ``--until``
(default: the store's last position when the pod starts; give it when the store is being
written). The merge refuses parts that reached different positions.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from routing.cli_audit import _projections, console
from routing.cli_security import resolved_settings
from routing.config import Settings

Names = Annotated[list[str] | None, typer.Argument(help="Projections (default: all).")]
Of = Annotated[int, typer.Option("--of", min=1, help="Workers (pods) the replay is split into.")]


def replay_part_cmd(
    names: Names = None,
    index: Annotated[
        int, typer.Option(min=0, envvar="JOB_COMPLETION_INDEX", help="This worker's index.")
    ] = 0,
    of: Of = 1,
    until: Annotated[int | None, typer.Option(help="Last store position to replay.")] = None,
) -> None:
    """Replays this worker's share of the episodes into its part of the scratch models."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections.parallel import part_name, replay_share

    settings = resolved_settings()
    projections = _projections(names, settings)
    if index >= of:
        console.print(f"[red]--index {index} is not below --of {of}[/]")
        raise typer.Exit(2)
    part = part_name(settings, index)
    result = replay_share(settings, [p.name for p in projections], part, index, of, until)
    console.print(
        f"part {index} of {of}: {result.applied} facts of {result.facts} applied up to store "
        f"position {result.position} in {result.seconds:.1f} s into {part}"
    )


def replay_merge_cmd(
    names: Names = None,
    of: Of = 1,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for the parts to finish.")
    ] = 0,
) -> None:
    """Merges the parts of a split replay into the scratch read models, then drops them;
    waits (up to ``--wait`` seconds) until every part is finished."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections.parallel import merge_parts, part_name, remove_part
    from projections.replay import open_scratch

    settings = resolved_settings()
    projections = _projections(names, settings)
    parts = [part_name(settings, i) for i in range(of)]
    deadline = time.monotonic() + wait
    while (reached := _reached(settings, parts)) is None or None in reached:
        if time.monotonic() >= deadline:
            console.print(f"[red]parts not finished: {reached}[/]")
            raise typer.Exit(1)
        time.sleep(5)
    if len(set(reached)) != 1:
        console.print(f"[red]the parts reached different store positions: {reached}[/]")
        raise typer.Exit(1)
    scratch = open_scratch(settings)
    try:
        merge_parts(settings, scratch, [p.name for p in projections], parts)
    finally:
        scratch.close()
    for part in parts:
        remove_part(settings, part)
    console.print(f"merged {of} parts (store position {reached[0]}) into the scratch models")


def _reached(settings: Settings, parts: list[str]) -> list[int | None] | None:
    """Each part's finishing position (None: not yet); None while a part cannot be read."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from projections import shares
    from projections.parallel import open_part

    out = []
    try:
        for part in parts:
            db = open_part(settings, part)
            try:
                out.append(shares.done_at(db))
            finally:
                db.close()
    except Exception:
        return None
    return out


def register(app: typer.Typer) -> None:
    app.command("replay-part")(replay_part_cmd)
    app.command("replay-merge")(replay_merge_cmd)
