"""Who may do what: roles, the bindings a token carries, and the rules that check them.

Pure: the API verifies tokens and turns their claims into a ``Principal``; these rules say
whether that principal may record a fact or read a region's figures.
"""

from routing.access import ownership
from routing.access.principal import ANY, Principal, Role, principal_from_claims
from routing.access.rules import Forbidden, check_recording, may_read_region, readable_regions

__all__ = [
    "ANY",
    "Forbidden",
    "Principal",
    "Role",
    "check_recording",
    "may_read_region",
    "ownership",
    "principal_from_claims",
    "readable_regions",
]
