"""Routing decisions: asked before or during a contact, answered with the rule trace."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from api.auth import require
from api.errors import ERROR_RESPONSES
from api.writer import GroupCommitWriter
from routing.access import Role
from routing.decisions.advise import advise
from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.reference import load_reference_data
from routing.reference.regions import load_regions

router = APIRouter(
    prefix="/routing",
    tags=["routing decisions"],
    dependencies=[Depends(require(Role.routing_client))],
)


@router.post("/decisions", response_model=RoutingAnswer, responses=ERROR_RESPONSES)
async def routing_decision(q: RoutingQuestion, request: Request) -> Any:
    """Must a distance contact be offered, and in which modes; the patient's own region's
    digital door first (R7); is an assessment needed for the home region to pay; what the
    bill and the patient fee would be. Recorded for audit; a retry with the same
    `request_id` gets the first answer (header `Idempotent-Replayed: true`)."""
    policy = request.app.state.settings.rulebook_policy()
    answer = advise(q, policy, load_reference_data(), load_regions())
    writer: GroupCommitWriter = request.app.state.writer
    decided = await writer.decisions.submit((q, answer))
    headers = {"Idempotent-Replayed": "true"} if decided.replayed else None
    # Already a validated answer (or the stored first one): no second validation pass.
    return Response(orjson.dumps(decided.answer), media_type="application/json", headers=headers)
