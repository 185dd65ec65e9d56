"""The web console for region finance and auditors, server-rendered by the API's own
application on its read models, roles and access trail (see docs/console.md).

``install`` mounts it under ``/console``: pages, login, and the vendored static files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import auditor, chain_pages, credits, finance, login, pages
from api.console.chains import ChainChecks
from api.console.oidc import ConsoleSettings, oidc_client
from api.console.runs import Runs
from api.console.session import Sessions
from api.console.web import LoginNeeded, Refused, TrailOutcome, login_redirect, refused_page
from routing.config import Settings

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    console = ConsoleSettings()
    key = console.console_session_key
    app.state.console_sessions = Sessions(settings, key.get_secret_value() if key else None)
    app.state.console_oidc = oidc_client(console)
    app.state.console_runs = Runs()
    app.state.console_chain_checks = ChainChecks()
    app.add_exception_handler(Refused, refused_page)  # type: ignore[arg-type]
    app.add_exception_handler(LoginNeeded, login_redirect)  # type: ignore[arg-type]
    app.add_middleware(TrailOutcome)
    pages_ = APIRouter(include_in_schema=False)
    for part in (login, finance, credits, pages, auditor, chain_pages):
        pages_.include_router(part.router)
    # Mounted, not included: the console is not part of the bearer-token API (its OpenAPI
    # document and role matrix); a mounted router still runs inside this app (request.app,
    # its exception handlers and state are the API's).
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.mount("/console", pages_)
