"""The rule registry: every rule a trace may name, with its status and the sources it cites.

Liability, necessity, routing decisions, the care guarantee and the invoice lines built from
liability decisions all explain themselves with trace steps. Each step is made here, by
``Rule.step``, so a step can name only a registered rule and cite only a source registered for
that rule (or, for rules whose figures are dated reference data, the reference row's own
source). The statuses are those of docs/domain.md: what the law says, what the regions agreed
(Riksavtalet), what Ds 2023:27 / SOU 2021:59 only propose, what a region decided for itself,
and the project's own choices where the sources are silent (C1-C10). tests/unit/test_rules.py
checks that every rule a trace names is here and that every source here is cited in the docs.

The citation texts are written into traces, decision records and read models byte for byte;
changing one changes what ``routing verify`` recomputes, so they change only when wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How binding a rule is (docs/domain.md §Rules and §Choices)."""

    law = "LAW"
    riksavtal = "RIKSAVTAL"
    proposal = "PROPOSAL"
    regional = "REGIONAL"
    definition = "DEFINITION"  # a term as Socialstyrelsen defines it (R1)
    choice = "CHOICE"  # the project's own choice, C1-C10 (or a reading of a rule named so)


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a decision's explanation: which rule, what it found, on which source.

    A plain dataclass, not a model: rule code writes a dozen per decision from strings it
    built itself, and pydantic's validation of each cost a third of a routing decision.
    Models that hold steps still validate them when read from JSON.
    """

    rule: str
    """A rule id of the registry (R8, C4, HSF 6 kap. 1 § 3, limit...)."""
    finding: str
    source: str
    """Where the rule comes from, e.g. 'Ds 2023:27' or 'docs/domain.md C2'."""


class UnregisteredSourceError(ValueError):
    """A trace tried to cite a source its rule does not register."""


# --- Sources: the citation texts traces write (names from docs/domain.md §Sources) ---------
RIKSAVTAL = "Riksavtalet för utomlänsvård; HSL 8 kap. 3 §"
DS = "Ds 2023:27 (proposal, not confirmed enacted); Stockholms stad PM KS 2023/977"
DS_OFFER = "Ds 2023:27 (proposal); Socialstyrelsen remissvar Ds 2023:27"
R1_TERM = "docs/domain.md R1; Socialstyrelsens termbank"
R2_VGR = "docs/domain.md R2; VGR Hur fungerar digitala vårdbesök?"
R3_ADVICE = "SOU 2021:59; Inera credit reason 9"
PRICE = "docs/domain.md R11 (the care region's out-of-region price list)"
INPATIENT = (
    "Riksavtalet för utomlänsvård (its recommendation on planned inpatient care, "
    "SOU 2021:59 §3.3.2)"
)
NO_REQUIREMENT = "no referral requirement recorded"
"""Not a document: R8's step when the reference data hold no referral rule for the region
(the absence is the finding's ground). Kept byte for byte because decision records hold it."""
FEES_DATED = "docs/domain.md R15 (dated fee schedules)"
PRINCIPLES = "Socialstyrelsens övergripande principer för digitala vårdkontakter"
SOCIALSTYRELSEN = "Socialstyrelsen remissvar Ds 2023:27"
STOCKHOLM_PM = "Stockholms stad PM KS 2023/977"
PATIENT_CHOICE = f"{SOCIALSTYRELSEN}; {STOCKHOLM_PM}"
LICENSED = (
    "Socialstyrelsen god och nära vård 2019 (licensed staff judge); Socialstyrelsen remissvar "
    "Ds 2023:27; Stockholms stad PM KS 2023/977 (the patient may choose)"
)
PHONE = "Socialstyrelsen remissvar Ds 2023:27 (telephone for those who cannot use digital)"
OFFER_REGIONAL = "docs/domain.md §4.2"
HSL_1 = "HSL (2017:30) 9 kap. 1 §; 8 kap. 3 §"
HSF_1 = "HSF (2017:80) 6 kap. 1 §"
HSF_1_2, HSF_1_3, HSF_1_4 = f"{HSF_1} 2", f"{HSF_1} 3", f"{HSF_1} 4"
HSF_2 = "HSF (2017:80) 6 kap. 2 §"
AGAIN = "SOU 2021:59 §6.7.1 (1177: the guarantee counts again from the day the patient asked)"
WARN = "HSL (2017:30) 9 kap. 2 §; SOU 2021:59 §6.11.1"
ANSWER = (
    "SOU 2021:59 §6.11.2 (proposal: a time offered or notice that the limit cannot be met "
    "within 14 days of the referral or the contact)"
)


# --- R10: Inera's reasons for credit, which invoice lines and decisions carry ---------------
CREDIT_WRONG_HOME_REGION = 1  # the patient's home region was recorded wrongly
CREDIT_WRONG_PRICE = 2  # the amount invoiced was wrong
CREDIT_NO_REFERRAL = 5  # no valid referral or betalningsförbindelse
CREDIT_LATE = 6  # invoiced more than six months after the care
CREDIT_NOT_BILLABLE = 9  # item not billable (e.g. telephone advice)
CREDIT_REASONS = (
    CREDIT_WRONG_HOME_REGION, CREDIT_WRONG_PRICE, CREDIT_NO_REFERRAL, CREDIT_LATE,
    CREDIT_NOT_BILLABLE,
)  # fmt: skip
"""R10's credit reasons this project writes (Riksavtalet för utomlänsvård; Inera)."""


def choice(n: int) -> str:
    """The citation of project choice Cn."""
    return f"docs/domain.md C{n}"


def domain(rule_id: str) -> str:
    """The citation of a rule of docs/domain.md by its id."""
    return f"docs/domain.md {rule_id}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule traces may name: its status and the sources its steps may cite (first: default).

    ``data`` marks rules whose figures are dated reference data (prices, fees, referral
    requirements, guarantee limits and agreements): their steps cite the reference row's own
    source, which the reference files validate and docs/domain.md §Reference data describes."""

    id: str
    status: tuple[Status, ...]
    sources: tuple[str, ...] = ()
    data: bool = False

    def step(self, finding: str, source: str | None = None) -> TraceStep:
        """A trace step of this rule; ``source`` must be one the rule registers (or, for a
        ``data`` rule, a reference row's source)."""
        if source is None:
            return TraceStep(self.id, finding, self.sources[0])
        if self.data or source in self.sources:
            return TraceStep(self.id, finding, source)
        raise UnregisteredSourceError(f"rule {self.id} does not cite {source!r}")


_LAW, _RA, _PROP = (Status.law,), (Status.riksavtal,), (Status.proposal,)
_CHOICE, _REG = (Status.choice,), (Status.regional,)
_OFFER_STATUS = (Status.proposal, Status.regional)  # R4-R7: proposal from the date, regional before

# --- Liability, necessity and routing decisions (docs/domain.md R1-R22, C1-C10) ------------
R1 = Rule("R1", (Status.definition,), (R1_TERM,))
R2 = Rule("R2", _RA, (R2_VGR, R1_TERM))
R3 = Rule("R3", _RA, (R3_ADVICE, domain("R16")))
R4 = Rule("R4", _OFFER_STATUS, (DS_OFFER, SOCIALSTYRELSEN, DS, OFFER_REGIONAL))
R5 = Rule("R5", _OFFER_STATUS, (PRINCIPLES,))
R6 = Rule("R6", _OFFER_STATUS, (LICENSED, PHONE, SOCIALSTYRELSEN, PATIENT_CHOICE))
R7 = Rule("R7", _OFFER_STATUS, (STOCKHOLM_PM,))
R8 = Rule("R8", (Status.riksavtal, Status.law), (RIKSAVTAL, NO_REQUIREMENT), data=True)
R9 = Rule("R9", _PROP, (DS,))
R10 = Rule("R10", _RA, ("Riksavtalet för utomlänsvård; Inera (reasonForCredit)",))
R11 = Rule("R11", _RA, (PRICE,), data=True)
R12 = Rule("R12", _REG, (), data=True)
R13 = Rule("R13", (Status.law, Status.riksavtal), (RIKSAVTAL, FEES_DATED), data=True)
R14 = Rule("R14", _PROP, (DS,), data=True)
R16 = Rule("R16", _LAW, (domain("R16"),))
R21 = Rule("R21", _REG, (INPATIENT,), data=True)
C1 = Rule("C1", _CHOICE, (choice(1),))
C2 = Rule("C2", _CHOICE, (choice(2),))
C3 = Rule("C3", _CHOICE, (choice(3),))
C4 = Rule("C4", _CHOICE, (DS,))
C6 = Rule("C6", _CHOICE, (choice(6),))

# --- The care guarantee (docs/domain.md R16-R20: HSL 9 kap., HSF 6 kap.) -------------------
HSL_9_1 = Rule("HSL 9 kap. 1 §", _LAW, (HSL_1,))
HSF_6_1_2 = Rule("HSF 6 kap. 1 § 2", _LAW, (HSF_1_2,))
HSF_6_1_3 = Rule("HSF 6 kap. 1 § 3", _LAW, (HSF_1_3,))
HSF_6_1_4 = Rule("HSF 6 kap. 1 § 4", _LAW, (HSF_1_4,))
HSF_6_2_1 = Rule("HSF 6 kap. 2 § 1", _LAW, (HSF_2,))
HSF_6_2_3 = Rule("HSF 6 kap. 2 § 3", _LAW, (HSF_2,))
SFS_2018_553 = Rule("SFS 2018:553", _LAW, (HSF_1_2,))
AGREEMENT = Rule("agreement", _REG, (), data=True)
EXTENSION = Rule("extension", _REG, (), data=True)
PURPOSE = Rule("purpose", _CHOICE, (domain("R16"),))
ASKED_AGAIN = Rule("asked again", _LAW, (AGAIN,))
LIMIT = Rule("limit", (Status.law, Status.regional), (), data=True)
DAY_COUNT = Rule("day count", _LAW, (domain("R16"),))
TARGET = Rule("target", _REG, (), data=True)
OPEN = Rule("open", _LAW, (domain("R16"),))
MET = Rule("met", _LAW, (), data=True)
BREACHED = Rule("breached", _LAW, (HSF_2,), data=True)
EXCLUDED = Rule("excluded", _LAW, (HSF_2, domain("R16")))
EARLY_WARNING = Rule("early warning", _LAW, (WARN,))
ANSWER_14_DAYS = Rule("sou-2021-59-besked", _PROP, (ANSWER,), data=True)

RULES: dict[str, Rule] = {r.id: r for r in globals().copy().values() if isinstance(r, Rule)}
"""Every registered rule by id (what a trace step's ``rule`` may be)."""


def rule(rule_id: str) -> Rule:
    """The registered rule ``rule_id`` (KeyError names it when it is not registered)."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"rule {rule_id!r} is not in the registry (routing.kernel.rules)") from None
