"""The binding rules: a front-end records facts only for its own provider and care region;
region finance reads only what concerns its region as home or care region."""

from __future__ import annotations

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
    (None: the event opens the episode). A front-end's opening or new contact must name its
    own provider and care region; a later fact must concern an episode in which the front-end
    holds a contact, and a fact about a contact must concern one of its own."""
    if not principal.has(Role.front_end):
        raise Forbidden("recording facts needs the front_end role")
    provider, region = principal.provider_id, principal.care_region
    assert provider is not None
    assert region is not None
    if isinstance(event, ev.ContactRequested):
        if not _bound(provider, event.provider_id):
            raise Forbidden(
                f"this front-end records facts for provider {provider} only", "provider_id"
            )
        if not _bound(region, event.care_region):
            raise Forbidden(
                f"this front-end records facts for care region {region} only", "care_region"
            )
        return
    if state is None:
        return  # the journey rules refuse an episode opened by anything else
    contact_id = getattr(event, "contact_id", None)
    contacts = list(state.contacts.values())
    if contact_id is not None and contact_id in state.contacts:
        contacts = [state.contacts[contact_id]]
    if not any(_bound(provider, c.provider_id) and _bound(region, c.care_region) for c in contacts):
        raise Forbidden(
            f"episode {event.episode_id} holds no contact of provider {provider} in care "
            f"region {region}",
            "contact_id" if contact_id is not None else "episode_id",
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
