"""Request dependencies: the application service lives on ``app.state`` for the app's lifetime.

They are ``async`` so FastAPI does not hop to its threadpool just to fetch an attribute.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from routing.config import Settings
from routing.episodes.service import CareEpisodes


async def _episodes(request: Request) -> CareEpisodes:
    service: CareEpisodes = request.app.state.episodes
    return service


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Episodes = Annotated[CareEpisodes, Depends(_episodes)]
AppSettings = Annotated[Settings, Depends(_settings)]
