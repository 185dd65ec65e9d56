"""The binding rules: a front-end records only the facts it owns (its provider and care
region, its contacts, the episodes it holds: routing.access.ownership); region finance reads
only what concerns its region as home or care region."""

from __future__ import annotations

from routing.access import ownership
from routing.access.principal import ANY, Principal, Role
from routing.episodes import events as ev
from routing.episodes.journey import EpisodeState


class Forbidden(Exception):  # noqa: N818 - an access outcome
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _bound(value: str | None, wanted: str) -> bool:
    return value in (ANY, wanted)


def check_recording(
    principal: Principal, event: ev.EpisodeEvent, state: EpisodeState | None
) -> None:
    """Raises Forbidden unless the principal may record ``event`` on the episode ``state``
    (None: the event opens the episode), by the ownership rules of C10
    (routing.access.ownership): an opening or new contact names the front-end's own provider
    and care region, and a new contact in an existing episode comes from its holder or
    through an accepted referral; any other fact must be one the front-end owns."""
    if not principal.has(Role.front_end):
        raise Forbidden("recording facts needs the front_end role")
    provider, region = principal.provider_id, principal.care_region
    if isinstance(event, ev.ContactRequested):
        if not _bound(provider, event.provider_id):
            raise Forbidden(
                f"this front-end records facts for provider {provider} only", "provider_id"
            )
        if not _bound(region, event.care_region):
            raise Forbidden(
                f"this front-end records facts for care region {region} only", "care_region"
            )
        if state is not None and not ownership.may_join(principal, state, event.care_region):
            raise Forbidden(_not_holder(state, "opens contacts in it"), "episode_id")
        return
    if state is None:
        return  # the journey rules refuse an episode opened by anything else
    data = event.model_dump(include={"contact_id", "referral_id", "treatment_id"})
    if not ownership.owns_fact(principal, state, event.type, data):
        if data.get("contact_id") is not None:
            raise Forbidden(
                f"contact {data['contact_id']} of episode {event.episode_id} belongs to "
                f"another provider; a front-end records facts of its own contacts only",
                "contact_id",
            )
        field = "referral_id" if data.get("referral_id") is not None else "episode_id"
        raise Forbidden(_not_holder(state, f"records {event.type}"), field)


def _not_holder(state: EpisodeState, what: str) -> str:
    first = ownership.holder(state)
    return (
        f"episode {state.episode_id} belongs to provider {first.provider_id} (care region "
        f"{first.care_region}): only it {what}; another provider joins only through a "
        "referral to its region that was accepted"
    )


def may_read_region(principal: Principal, *regions: str | None) -> bool:
    """An auditor reads everything; region finance what has its region among ``regions``."""
    if principal.has(Role.auditor):
        return True
    if not principal.has(Role.finance):
        return False
    return principal.region == ANY or principal.region in regions


def readable_regions(principal: Principal) -> str | None:
    """The one region finance may read, or None for everything (auditor, wildcard)."""
    if principal.has(Role.auditor) or principal.region == ANY:
        return None
    return principal.region
