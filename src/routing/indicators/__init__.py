"""Follow-up indicators of digital care (docs/indicators.md): entry paths, per-inhabitant
figures, shares by profession and mode, and the three-day medical assessment, each answered
with its definition. Pure: the read model and the API do the I/O."""

from routing.indicators.assessment import AssessmentClock, assessments_of, three_day_assessments
from routing.indicators.figures import Figure, Period, Tallies, national_figures, region_figures
from routing.indicators.paths import EntryPath, entry_path, profession_group

__all__ = [
    "AssessmentClock",
    "EntryPath",
    "Figure",
    "Period",
    "Tallies",
    "assessments_of",
    "entry_path",
    "national_figures",
    "profession_group",
    "region_figures",
    "three_day_assessments",
]
