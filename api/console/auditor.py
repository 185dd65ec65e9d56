"""Auditor pages: an episode as it occurred versus as it was known at a chosen time (late
facts marked) and what was learnt since; the access trail; and the what-if simulation (the
hash chain's check: api/console/chain_pages.py). The same service functions as
``/audit/...`` and ``/access-trail``; auditors only; each view an ``audit`` entry in the
access trail."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from api import access_trail
from api.console import i18n
from api.console.runs import Run, Runs
from api.console.web import View, view
from api.deps import read_models_of
from api.routes.positions import tracker
from routing.access import Role
from routing.audit import service as audit
from routing.audit.models import SimulationIn, learnt_out, view_out
from routing.kernel.calendar import STOCKHOLM
from routing.reference.regions import load_regions

router = APIRouter(include_in_schema=False)
CHANGES_SHOWN = 200
DAY = r"^(\d{4}-\d{2}-\d{2})?$"  # an empty form field is no value, not an error


LOCAL = r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)?$"  # datetime-local, seconds optional


def _moment(local: str | None) -> datetime:
    """A ``datetime-local`` form value, read as Swedish time; now when empty."""
    if not local:
        return datetime.now(STOCKHOLM).replace(microsecond=0)
    return datetime.fromisoformat(local).replace(tzinfo=STOCKHOLM)


def _field(moment: datetime) -> str:
    """A moment as a ``datetime-local`` value, seconds kept when there are any."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


@router.get("/audit", response_class=HTMLResponse)
async def episode(
    request: Request,
    episode_id: Annotated[uuid.UUID | None, Query()] = None,
    at: Annotated[str | None, Query(pattern=LOCAL)] = None,
    until_: Annotated[str | None, Query(alias="until", pattern=LOCAL)] = None,
) -> Response:
    """The episode as known and as occurred at ``at``, and what was learnt between ``at``
    and ``until`` (now when empty): the API's ``/audit/episodes/{id}/learnt?since=&until=``."""
    v = await view(request, Role.auditor, trail="audit")
    timeline, error = None, None
    try:  # the pattern lets 2025-13-40T25:00 through; the calendar does not
        moment = _moment(at)
        until = _moment(until_) if until_ else datetime.now(STOCKHOLM)
    except ValueError:
        moment = until = datetime.now(STOCKHOLM).replace(microsecond=0)
        error = v.t("no_such_time")
    if error is None and until < moment:
        error = v.t("until_before_at")
    elif episode_id is not None:
        timeline = await run_in_threadpool(_timeline, request, episode_id, moment, until)
    trail = await run_in_threadpool(access_trail.entries, request, None, None, None, 30, 0)
    return v.render(
        "audit.html", episode_id=episode_id or "", at=_field(moment),
        until=until_ or "", until_shown=until, error=error,
        timeline=timeline, trail=trail, status_code=422 if error else 200,
    )  # fmt: skip


def _timeline(
    request: Request, episode_id: uuid.UUID, at: datetime, until: datetime
) -> dict[str, Any] | None:
    episodes, policy = request.app.state.episodes, request.app.state.settings.rulebook_policy()
    try:
        known = view_out(episode_id, audit.episode_known_at(episodes, episode_id, at, policy))
        occurred = view_out(episode_id, audit.episode_occurred_by(episodes, episode_id, at, policy))
        learnt = learnt_out(
            episode_id, audit.episode_learnt(episodes, episode_id, at, until), at, until
        )
    except LookupError:
        return None
    known_ids = {f.event_id for f in known.facts}
    return {"known": known, "occurred": occurred, "learnt": learnt, "known_ids": known_ids}


@router.get("/what-if", response_class=HTMLResponse)
async def what_if(
    request: Request,
    start_: Annotated[str | None, Query(alias="start", pattern=DAY)] = None,
    end_: Annotated[str | None, Query(alias="end", pattern=DAY)] = None,
    home_region: Annotated[list[str] | None, Query()] = None,
    ds_2023_27: Annotated[str | None, Query(pattern="^(on|off)$")] = None,
    effective_: Annotated[str | None, Query(alias="effective", pattern=DAY)] = None,
) -> Response:
    """A policy simulation from a GET form: started in the background (api/console/runs.py),
    then its page (progress while it reads the log, the result when done)."""
    v = await view(request, Role.auditor, trail="audit")
    start, end, effective = (
        date.fromisoformat(d) if d else None for d in (start_, end_, effective_)
    )
    error = None
    if start and end:
        try:
            body = SimulationIn(
                home_regions=home_region or [], start=start, end=end,
                ds_2023_27_enabled=ds_2023_27 != "off", ds_2023_27_effective=effective,
            )  # fmt: skip
        except ValidationError as exc:
            error = "; ".join(str(e["msg"]) for e in exc.errors())
        else:
            run = await run_in_threadpool(_start, request, v, body)
            return RedirectResponse(v.url(f"/what-if/runs/{run.id}"), status_code=303)
    return _what_if_page(v, None, error, home_region or [], start, end, ds_2023_27, effective)


def _start(request: Request, v: View, body: SimulationIn) -> Run:
    assert v.principal is not None
    runs: Runs = request.app.state.console_runs
    baseline = request.app.state.settings.rulebook_policy()
    state = request.app.state
    return runs.start(state.episodes, baseline, body, v.principal.subject, CHANGES_SHOWN,
                      (read_models_of(state), tracker(state)))  # fmt: skip


def _run(request: Request, v: View, run_id: uuid.UUID) -> Run:
    assert v.principal is not None
    run = request.app.state.console_runs.get(str(run_id), v.principal.subject)
    if run is None:  # another auditor's, or forgotten (only the newest are kept)
        raise HTTPException(404, v.t("no_such_run"))
    found: Run = run
    return found


@router.get("/what-if/runs/{run_id}", response_class=HTMLResponse)
async def what_if_run(request: Request, run_id: uuid.UUID) -> Response:
    """The run's progress while it reads the log (refreshed by a small script, or by a
    meta refresh without one), then its result with the form filled in as it was run."""
    v = await view(request, Role.auditor, trail="audit")
    run = _run(request, v, run_id)
    if not run.done or run.error:
        return v.render("whatif_progress.html", run=run, status_code=200)
    b = run.body
    return _what_if_page(
        v, run.result, None, b.home_regions, b.start, b.end,
        "on" if b.ds_2023_27_enabled else "off", b.ds_2023_27_effective,
    )  # fmt: skip


@router.get("/what-if/runs/{run_id}/progress")
async def what_if_progress(request: Request, run_id: uuid.UUID) -> JSONResponse:
    """How far the run has read (for the page's script; not a read of audit data, so not
    in the access trail: a poll a second would bury the trail)."""
    v = await view(request, Role.auditor)
    return JSONResponse(_run(request, v, run_id).progress())


def _what_if_page(
    v: View, result: Any, error: str | None, chosen: list[str], start: date | None,
    end: date | None, ds: str | None, effective: date | None,
) -> Response:  # fmt: skip
    chart = None
    if result is not None:
        rows = [r for r in result.regions if r.paid or r.would_pay]
        chart = json.dumps({
            "labels": [i18n.region_name(r.home_region) for r in rows],
            "series": [{"label": v.t("paid"), "data": [r.paid for r in rows]},
                       {"label": v.t("would_pay"), "data": [r.would_pay for r in rows]}],
        })  # fmt: skip
    return v.render(
        "whatif.html", result=result, error=error, chosen=chosen, start=start, end=end,
        ds=ds or "on", effective=effective, chart=chart, regions=load_regions().regions,
    )  # fmt: skip
