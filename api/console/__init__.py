"""The web console for region finance and auditors, server-rendered by the API's own
application on its read models, roles and access trail (see docs/console.md).

``install`` mounts it under ``/console``: pages, login, and the vendored static files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import auditor, finance, login, pages
from api.console.oidc import ConsoleSettings, oidc_client
from api.console.session import Sessions
from api.console.web import LoginNeeded, Refused, login_redirect, refused_page
from routing.config import Settings

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    console = ConsoleSettings()
    key = console.console_session_key
    app.state.console_sessions = Sessions(settings, key.get_secret_value() if key else None)
    app.state.console_oidc = oidc_client(console)
    app.add_exception_handler(Refused, refused_page)  # type: ignore[arg-type]
    app.add_exception_handler(LoginNeeded, login_redirect)  # type: ignore[arg-type]
    app.include_router(login.router)
    app.include_router(finance.router)
    app.include_router(pages.router)
    app.include_router(auditor.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
