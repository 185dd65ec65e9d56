"""Routing decisions: asked before or during a contact, answered with the rule trace."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from api import examples
from api.core import AppState, Reply, serving
from api.errors import ERROR_RESPONSES
from api.writer import GroupCommitWriter
from routing.access import Role
from routing.decisions.cache import DecisionCache
from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.reference import load_reference_data
from routing.reference.regions import load_regions

ROLES = (Role.routing_client,)
router = APIRouter(prefix="/routing", tags=["routing decisions"], route_class=serving(*ROLES))
_REPLAYED = [(b"idempotent-replayed", b"true")]


async def answer(state: Any, q: RoutingQuestion) -> Reply:
    """Decides, records for audit (once per request id) and answers with the stored bytes."""
    cache: DecisionCache = state.decision_cache
    given = cache.given(q, state.policy, load_reference_data(), load_regions())
    writer: GroupCommitWriter = state.writer
    decided = await writer.decide(q, given)
    return Reply(200, decided.answer, _REPLAYED if decided.replayed else [])


@router.post("/decisions", response_model=RoutingAnswer, responses=ERROR_RESPONSES)
async def routing_decision(
    q: Annotated[RoutingQuestion, Body(openapi_examples=examples.DECISION)], state: AppState
) -> Reply:
    """Must a distance contact be offered, and in which modes; the patient's own region's
    digital door first (R7); is an assessment needed for the home region to pay; what the
    bill and the patient fee would be. Recorded for audit; a retry with the same
    `request_id` gets the first answer (header `Idempotent-Replayed: true`)."""
    return await answer(state, q)
