"""Patient identity at the edge (C8): personnummer and samordningsnummer are validated and
replaced by a keyed pseudonym before anything is stored, published or logged.

Pure: no I/O, no settings. The edge (HTTP app, inbound Kafka consumer) holds the key.
"""

from routing.identity.personnummer import (
    IdentityNumber,
    InvalidIdentityNumber,
    looks_like_identity_number,
    parse_identity_number,
)
from routing.identity.pseudonym import (
    Pseudonymiser,
    current_pseudonymiser,
    pseudonymising,
    redact_identity_numbers,
)

__all__ = [
    "IdentityNumber",
    "InvalidIdentityNumber",
    "Pseudonymiser",
    "current_pseudonymiser",
    "looks_like_identity_number",
    "parse_identity_number",
    "pseudonymising",
    "redact_identity_numbers",
]
