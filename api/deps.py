"""Request dependencies: the application service and the read models live on ``app.state``.

The two accessors are ``async`` so FastAPI does not hop to its threadpool just to fetch an
attribute; ``read_models`` opens the database on first use, so it is a plain function.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from projections import create_read_model_tables
from projections.db import ReadModelDB
from routing.config import Settings
from routing.episodes.service import CareEpisodes


async def _episodes(request: Request) -> CareEpisodes:
    service: CareEpisodes = request.app.state.episodes
    return service


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_models(request: Request) -> ReadModelDB:
    """The read-model database, opened on first use with every read model's tables created
    once (the runners may not have written yet), not on every request."""
    return read_models_of(request.app.state)


def read_models_of(state: Any) -> ReadModelDB:
    """:func:`read_models` for code holding the app's state rather than a request."""
    if state.read_models is None:
        state.read_models = state.open_read_models()
    db: ReadModelDB = state.read_models
    if not getattr(state, "read_model_tables_ready", False):
        with db.transaction() as cur:
            create_read_model_tables(cur)
        state.read_model_tables_ready = True
    return db


Episodes = Annotated[CareEpisodes, Depends(_episodes)]
AppSettings = Annotated[Settings, Depends(_settings)]
