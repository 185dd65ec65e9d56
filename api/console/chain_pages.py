"""The hash chain's verification for auditors: ``check_chain`` (= ``GET /audit/chain``) in
the background (api/console/chains.py), since it reads the whole log, with the check's page
showing progress and then the report; an anchor (a head noted earlier, kept outside the
database) also shows removed newest rows. Each view an ``audit`` entry in the access trail,
the progress polls not (counts only)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.console.chains import ChainCheck, ChainChecks
from api.console.web import View, view
from routing.access import Role

router = APIRouter(include_in_schema=False)


@router.get("/audit/chain", response_class=HTMLResponse)
async def chain(
    request: Request,
    position: Annotated[str | None, Query(max_length=20)] = None,
    digest: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Starts a check (with the anchor, if given) and sends the auditor to its page; a
    malformed anchor is said on the form (422) and starts nothing."""
    v = await view(request, Role.auditor, trail="audit")
    anchor, error = _anchor(v, position, digest)
    if error:
        return v.render("chain.html", check=None, report=None, error=error,
                        position=position or "", digest=digest or "", status_code=422)  # fmt: skip
    checks: ChainChecks = request.app.state.console_chain_checks
    recorder = request.app.state.episodes.recorder
    check = await run_in_threadpool(checks.start, recorder, anchor)
    return RedirectResponse(v.url(f"/audit/chain/checks/{check.id}"), status_code=303)


@router.get("/audit/chain/checks/{check_id}", response_class=HTMLResponse)
async def chain_check(request: Request, check_id: uuid.UUID) -> Response:
    """The check's progress while it reads the log (a script polls, or a meta refresh
    without one), then its report with the anchor form filled in as it was checked."""
    v = await view(request, Role.auditor, trail="audit")
    check = _check(request, check_id)
    position, digest = (str(check.anchor[0]), check.anchor[1]) if check.anchor else ("", "")
    return v.render(
        "chain.html", check=check, report=check.report, error=None, anchor=check.anchor,
        position=position, digest=digest,
    )  # fmt: skip


@router.get("/audit/chain/checks/{check_id}/progress")
async def chain_progress(request: Request, check_id: uuid.UUID) -> JSONResponse:
    """How far the check has read (for the page's script; not in the access trail)."""
    await view(request, Role.auditor)
    return JSONResponse(_check(request, check_id).progress())


def _check(request: Request, check_id: uuid.UUID) -> ChainCheck:
    found = request.app.state.console_chain_checks.get(str(check_id))
    if found is None:  # forgotten: only the newest are kept
        raise HTTPException(404, "no such check")
    check: ChainCheck = found
    return check


def _anchor(v: View, position: str | None, digest: str | None) -> tuple[Any, str | None]:
    """The form's anchor: both fields or neither; a position from 1, a 64-hex digest."""
    position, digest = (position or "").strip(), (digest or "").strip().lower()
    if not position and not digest:
        return None, None
    if not (position.isdigit() and int(position) >= 1):
        return None, v.t("anchor_bad_position")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        return None, v.t("anchor_bad_digest")
    return (int(position), digest), None
