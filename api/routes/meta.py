"""Health and the published JSON Schemas of the event catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import JSONResponse

from api.deps import AppSettings, Episodes
from api.errors import ErrorBody
from routing.episodes.schemas import event_schemas
from routing.identity.screen import TEXT_PATTERN

router = APIRouter(tags=["meta"])


@router.get("/health")
def health(episodes: Episodes, settings: AppSettings) -> JSONResponse:
    """200 when the event store answers, 503 when it does not."""
    try:
        episodes.ping()
    except Exception as exc:  # any store failure means not healthy
        return JSONResponse(
            {"status": "unavailable", "store": settings.store.value, "error": type(exc).__name__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "store": settings.store.value})


@router.get("/schemas/events")
def list_schemas() -> dict[str, list[str]]:
    return {"event_types": sorted(event_schemas())}


@router.get(
    "/schemas/events/{event_type}",
    responses={404: {"model": ErrorBody, "description": "No event type of that name."}},
)
def get_schema(event_type: Annotated[str, Path(pattern=TEXT_PATTERN)]) -> dict[str, Any]:
    schemas = event_schemas()
    if event_type not in schemas:
        raise HTTPException(404, f"unknown event type {event_type!r}")
    return schemas[event_type]
