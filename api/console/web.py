"""What every console page shares: who is looking (from the session), in which language, the
role and region checks of the API (api/auth.py), the access trail, and rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import access_trail
from api.console import i18n
from api.console.queries import create_indexes
from api.console.session import Sessions, csrf_ok
from api.console.words import WORDS
from api.deps import read_models
from projections.db import ReadModelDB
from routing.access import Principal, Role, may_read_region

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters |= {
    "region": i18n.region_name,
    "local_time": i18n.local_time,
    "local_second": i18n.local_second,
}


class Refused(Exception):  # noqa: N818 - an access outcome, shown as a 403 page
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginNeeded(Exception):  # noqa: N818
    pass


class View:
    """One page request: the principal, the language, and the helpers templates use."""

    def __init__(self, request: Request, principal: Principal | None) -> None:
        self.request, self.principal = request, principal
        self.lang = i18n.pick_lang(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )
        self.words = WORDS[self.lang]

    def t(self, key: str, **values: Any) -> str:
        text = self.words.get(key) or WORDS["sv"].get(key) or key
        return text.format(**values) if values else text

    def kr(self, amount: int | None) -> str:
        return i18n.kronor(amount, self.lang)

    def pct(self, value: float | None) -> str:
        return i18n.share(value, self.lang)

    def figure(self, value: float | None, unit: str) -> str:
        """An indicator's value in its unit: kronor, per cent, or a (decimal) number."""
        if value is None:
            return i18n.DASH
        if unit == "SEK":
            return self.kr(round(value))
        text = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        if self.lang == "sv":
            text = text.replace(",", i18n.NNBSP).replace(".", ",")
        return f"{text}\u00a0%" if unit == "%" else text

    def month(self, month: str) -> str:
        return i18n.month_name(month, self.lang)

    def number(self, n: int) -> str:
        return i18n.group(n, self.lang)

    def url(self, path: str, **params: Any) -> str:
        """A console link keeping the language; None-valued parameters are left out."""
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if self.request.query_params.get("lang") in i18n.LANGS:
            query.setdefault("lang", self.lang)
        return f"/console{path}" + (f"?{urlencode(query)}" if query else "")

    @property
    def switch_lang(self) -> str:
        """This page in the other language."""
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        return f"{self.request.url.path}?{urlencode({**query, 'lang': self.t('lang_other')})}"

    @property
    def csrf(self) -> str:
        data = sessions(self.request).read(self.request) or {}
        return str(data.get("csrf", ""))

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            self.request, template, {"v": self, **context}, status_code=status_code
        )


def console_db(request: Request) -> ReadModelDB:
    """The API's read-model database, with the console's region-month indexes made once."""
    db = read_models(request)
    if not getattr(request.app.state, "console_indexes_ready", False):
        with db.transaction() as cur:
            create_indexes(cur)
        request.app.state.console_indexes_ready = True
    return db


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.console_sessions
    return found


async def view(request: Request, *roles: Role, trail: str | None = None) -> View:
    """The page's view for a signed-in principal holding one of ``roles``; records the read
    in the access trail like the API's ``require(..., trail=...)``."""
    principal = sessions(request).principal(request)
    if principal is None:
        raise LoginNeeded
    current = View(request, principal)
    if trail is not None:  # recorded with the page's status once answered (TrailOutcome)
        request.state.console_trail = (request, principal, trail)
    if roles and not principal.has(*roles):
        raise Refused(current.t("refused_role", roles=", ".join(r.value for r in roles)))
    return current


class TrailOutcome:
    """Records a console read in the access trail with the status it was answered with (a
    page, a download, a refusal), as the API's ``require(..., trail=...)`` does: plain ASGI,
    so the API's own routes pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/console"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            pending = scope.get("state", {}).get("console_trail")
            if pending is not None:
                request, principal, kind = pending
                await run_in_threadpool(access_trail.record, request, principal, kind, status)


def check_region(v: View, *regions: str | None) -> None:
    assert v.principal is not None
    if not may_read_region(v.principal, *regions):
        shown = " / ".join(i18n.region_name(r) for r in regions if r)
        raise Refused(v.t("refused_region", own=i18n.region_name(v.principal.region), other=shown))


async def form(request: Request) -> dict[str, str]:
    """A POSTed urlencoded form, its CSRF token checked against the session's."""
    body = (await request.body()).decode("utf-8", "replace")
    fields = {k: vals[0] for k, vals in parse_qs(body, keep_blank_values=True).items()}
    data = sessions(request).read(request) or {}
    if not csrf_ok(data.get("csrf"), fields.get("csrf")):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")
    return fields


def refused_page(request: Request, exc: Refused) -> HTMLResponse:
    current = View(request, sessions(request).principal(request))
    return current.render("refused.html", status_code=403, message=exc.message)


def login_redirect(request: Request, exc: LoginNeeded) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)
