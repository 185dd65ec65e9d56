"""Signing in and out: the identity provider (OIDC, production) or, in development only, a
button per role and region issuing a session for made-up claims."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console import oidc
from api.console.session import PRELOGIN, csrf_ok
from api.console.web import View, form, sessions
from routing.config import Environment
from routing.reference.regions import load_regions

router = APIRouter(include_in_schema=False)
Next = Annotated[str | None, Query(alias="next")]
CLAIMS = ("sub", "roles", "region", "provider_id", "care_region")


def _next(target: str | None) -> str:
    """Only a console path: never an open redirect."""
    if target and target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return "/console/"


def dev_login_enabled(request: Request) -> bool:
    return bool(request.app.state.settings.env is Environment.development)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next_: Next = None) -> Response:
    v, token = View(request, None), secrets.token_urlsafe(24)
    response = v.render(
        "login.html",
        regions=load_regions().regions,
        dev=dev_login_enabled(request),
        idp=request.app.state.console_oidc is not None,
        next=_next(next_),
        csrf=token,
    )
    sessions(request).prelogin(request, response, {"csrf": token})
    return response


@router.post("/login/dev")
async def dev_login(request: Request) -> Response:
    """Development only: a session for the chosen role (and region, for finance)."""
    if not dev_login_enabled(request):
        raise HTTPException(404, "the development login is off outside development")
    raw = (await request.body()).decode("utf-8", "replace")
    fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    kept = sessions(request).read(request, PRELOGIN) or {}
    if not csrf_ok(kept.get("csrf"), fields.get("csrf")):
        raise HTTPException(403, "CSRF token missing or wrong: reload the login page")
    role, region = fields.get("role"), fields.get("region")
    if role == "auditor":
        claims = {"sub": "dev-auditor", "roles": ["auditor"]}
    elif role == "finance" and region in load_regions().counties:
        claims = {"sub": f"dev-finance-{region}", "roles": ["finance"], "region": region}
    else:
        raise HTTPException(422, "choose role auditor, or finance with a region")
    response = RedirectResponse(_next(fields.get("next")), status_code=303)
    sessions(request).start(request, response, claims)
    return response


@router.get("/login/oidc")
async def oidc_start(request: Request, next_: Next = None) -> Response:
    client = request.app.state.console_oidc
    if client is None:
        raise HTTPException(404, "no identity provider configured (ROUTING_OIDC_ISSUER)")
    found = await oidc.authorization(client, str(request.url_for("oidc_callback")))
    response = RedirectResponse(found["url"], status_code=302)
    kept = {k: found.get(k) for k in ("state", "nonce", "code_verifier")}
    sessions(request).prelogin(request, response, kept | {"next": _next(next_)})
    return response


@router.get("/login/callback", name="oidc_callback")
async def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    client = request.app.state.console_oidc
    kept = sessions(request).read(request, PRELOGIN) or {}
    if client is None or not code or not csrf_ok(kept.get("state"), state):
        raise HTTPException(400, "the sign-in did not come back as started: try again")
    found = await oidc.claims_of(client, str(request.url_for("oidc_callback")), code, kept)
    claims = {k: found[k] for k in CLAIMS if k in found}
    response = RedirectResponse(_next(kept.get("next")), status_code=303)
    sessions(request).start(request, response, claims)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form(request)
    response = RedirectResponse("/console/login", status_code=303)
    sessions(request).end(response)
    return response
