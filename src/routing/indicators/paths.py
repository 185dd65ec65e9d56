"""A contact's entry path into care (Socialstyrelsen's comparison of entry paths: private
digital, regional digital, regional physical) and the profession groups Västra
Götalandsregionen reports by.

Why derived from reference data and the contact's mode only: the three paths are the
combinations of *who runs the provider* (providers.json) and *whether patient and staff met
at a distance* (R1). The fourth combination, a physical visit at a private provider (a
private vårdcentral under vårdval), is named ``private_physical`` rather than folded into one
of the three; a provider not in the reference data gives ``unknown``, never a guess.
"""

from __future__ import annotations

from enum import StrEnum

from routing.episodes.vocabulary import ContactMode, Profession
from routing.reference.providers import Ownership


class EntryPath(StrEnum):
    private_digital = "private_digital"
    regional_digital = "regional_digital"
    regional_physical = "regional_physical"
    private_physical = "private_physical"
    unknown = "unknown"


def entry_path(ownership: Ownership | None, mode: ContactMode) -> EntryPath:
    """Ownership by mode class: digital means any distance mode (chat, video, phone, async
    message), the same line the price lists draw (R1, R11)."""
    if ownership is None:
        return EntryPath.unknown
    digital = mode.is_distance
    if ownership is Ownership.private:
        return EntryPath.private_digital if digital else EntryPath.private_physical
    return EntryPath.regional_digital if digital else EntryPath.regional_physical


PROFESSION_GROUPS: dict[str, tuple[Profession, ...]] = {
    "doctor": (Profession.doctor,),
    "physiotherapist": (Profession.physiotherapist,),
    "psychologist_or_psychotherapist": (Profession.psychologist, Profession.psychotherapist),
    "nurse": (Profession.nurse,),
    "other": (Profession.counsellor, Profession.assistant_nurse, Profession.other_licensed),
}
"""The five groups Västra Götalandsregionen reports out-of-region digital contacts by
(läkare; fysioterapeut; psykolog eller psykoterapeut; sjuksköterska; övriga, e.g. kurator
och undersköterska)."""

_GROUP_OF = {p.value: group for group, ps in PROFESSION_GROUPS.items() for p in ps}


def profession_group(profession: str | None) -> str:
    return _GROUP_OF.get(profession or "", "unknown")
