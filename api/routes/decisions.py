"""Routing decisions: asked before or during a contact, answered with the rule trace."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from api import examples
from api.auth import require
from api.errors import ERROR_RESPONSES
from api.fastlane import Reply
from api.writer import GroupCommitWriter
from routing.access import Principal, Role
from routing.decisions.cache import DecisionCache
from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.reference import load_reference_data
from routing.reference.regions import load_regions

ROLES = (Role.routing_client,)
router = APIRouter(
    prefix="/routing",
    tags=["routing decisions"],
    dependencies=[Depends(require(*ROLES))],
)
PATH = "/routing/decisions"
_REPLAYED = [(b"idempotent-replayed", b"true")]


async def answer(state: Any, q: RoutingQuestion) -> Reply:
    """Decides, records for audit (once per request id) and answers with the stored bytes."""
    cache: DecisionCache = state.decision_cache
    given = cache.given(q, state.policy, load_reference_data(), load_regions())
    writer: GroupCommitWriter = state.writer
    decided = await writer.decide(q, given)
    return Reply(200, decided.answer, _REPLAYED if decided.replayed else [])


async def answer_body(state: Any, body: bytes, _: Principal) -> Reply:
    """The fast lane's entry (api/fastlane.py): the body parsed by pydantic in one pass."""
    return await answer(state, RoutingQuestion.model_validate_json(body))


@router.post("/decisions", response_model=RoutingAnswer, responses=ERROR_RESPONSES)
async def routing_decision(
    q: Annotated[RoutingQuestion, Body(openapi_examples=examples.DECISION)], request: Request
) -> Any:
    """Must a distance contact be offered, and in which modes; the patient's own region's
    digital door first (R7); is an assessment needed for the home region to pay; what the
    bill and the patient fee would be. Recorded for audit; a retry with the same
    `request_id` gets the first answer (header `Idempotent-Replayed: true`)."""
    return (await answer(request.app.state, q)).response()
