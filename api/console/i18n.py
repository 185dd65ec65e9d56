"""Swedish first, English too: the console's words, and amounts, months and times the way a
Swedish finance officer writes them ("1 234 567 kr", "oktober 2025", Europe/Stockholm).

A small formatter rather than Babel: the console shows whole kronor (the read models hold
integer SEK) and month names, which is a dozen lines; Babel's CLDR data would be a 30 MB
dependency for that. Grouping uses U+202F NARROW NO-BREAK SPACE (Språkrådet's "tunt
mellanslag", and what CLDR gives for Swedish in recent versions), minus is U+2212.
"""

from __future__ import annotations

from datetime import datetime

from routing.kernel.calendar import STOCKHOLM
from routing.reference.regions import UnknownRegion, load_regions

LANGS = ("sv", "en")
NNBSP, MINUS, DASH = "\u202f", "\u2212", "\u2013"

MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def pick_lang(query: str | None, accept: str | None) -> str:
    """``?lang=`` wins; then the first of sv/en in Accept-Language; Swedish otherwise."""
    if query in LANGS:
        return query
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag
    return "sv"


def group(n: int, lang: str) -> str:
    digits = f"{abs(n):,}".replace(",", NNBSP if lang == "sv" else ",")
    return (MINUS if n < 0 else "") + digits


def kronor(amount: int | None, lang: str) -> str:
    """Whole Swedish kronor: sv "1 234 567 kr" (narrow no-break spaces), en "SEK 1,234,567"."""
    if amount is None:
        return DASH
    if lang == "sv":
        return f"{group(amount, lang)}\u00a0kr"
    return f"SEK\u00a0{group(amount, lang)}"


def share(value: float | None, lang: str) -> str:
    """A share as per cent with one decimal: sv "93,5 %", en "93.5%"."""
    if value is None:
        return DASH
    text = f"{value * 100:.1f}"
    return f"{text.replace('.', ',')}\u00a0%" if lang == "sv" else f"{text}%"


def month_name(month: str, lang: str) -> str:
    """'2025-10' -> 'oktober 2025' / 'October 2025'."""
    year, number = month.split("-")
    return f"{MONTHS[lang][int(number) - 1]} {year}"


def local_second(iso: str | None) -> str:
    """As ``local_time`` to the second: a window chosen to the second is shown as chosen."""
    return local_time(iso, "%Y-%m-%d %H:%M:%S")


def local_time(iso: str | None, shape: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO timestamp shown in Swedish time, 'YYYY-MM-DD HH:MM' (both languages)."""
    if not iso:
        return DASH
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return iso
    return moment.astimezone(STOCKHOLM).strftime(shape)


def region_name(code: str | None) -> str:
    """'14' -> 'Västra Götalandsregionen (14)'; asylum seekers and unknown codes as given."""
    if not code:
        return DASH
    try:
        return f"{load_regions().by_county(code).name} ({code})"
    except (UnknownRegion, KeyError):
        return code


def previous_months(month: str, count: int) -> list[str]:
    """``count`` months ending with ``month``, oldest first."""
    year, number = (int(x) for x in month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]
