"""Dates a question names, and the forms a tool output may write them in.

A user asks about "May 20" or "20/05/2026" while the log says ``2026-05-20``, ``May 20``,
``20/May/2026`` or ``260520``. :func:`question_dates` reads the dates of a question (ISO,
``Month day[, year]``, ``day Month [year]``, ``d/m/y`` or ``m/d/y`` -- both readings when
ambiguous); :func:`date_forms` spells one the ways logs and listings do, so a plain
substring test finds the lines of that day. Pure and cheap: a few regexes over the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Day", "date_forms", "question_dates"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"((?:19|20)\d\d)"
_ISO = re.compile(rf"(?<!\d){_YEAR}[-/.](\d{{1,2}})[-/.](\d{{1,2}})(?!\d)")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?", re.I)
_DAY_MONTH = re.compile(rf"(?<!\d){_DAY}(?:\s+of)?[\s-]+{_MONTH}\b(?:[\s,-]+{_YEAR}\b)?", re.I)
_NUMERIC = re.compile(rf"(?<![\d/.-])(\d{{1,2}})[/.](\d{{1,2}})[/.]{_YEAR}(?![\d/.-])")


@dataclass(frozen=True)
class Day:
    """A calendar day; ``year`` is ``None`` when the question leaves it out."""

    month: int
    day: int
    year: int | None = None


def _valid(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31


def _month_name(word: str) -> bool:
    """``may`` in lower case is the verb ("3 may fail"); other month words are names."""
    return word.lower() != "may" or word[0] == "M"


def question_dates(question: str) -> list[Day]:
    """The days ``question`` names, in the order found (duplicates removed)."""
    found: list[Day] = []
    for m in _ISO.finditer(question):
        found.append(Day(int(m.group(2)), int(m.group(3)), int(m.group(1))))
    for m in _MONTH_DAY.finditer(question):
        if _month_name(m.group(1)):
            found.append(Day(_MONTHS.index(m.group(1)[:3].lower()) + 1, int(m.group(2)),
                             int(m.group(3)) if m.group(3) else None))
    for m in _DAY_MONTH.finditer(question):
        if _month_name(m.group(2)):
            found.append(Day(_MONTHS.index(m.group(2)[:3].lower()) + 1, int(m.group(1)),
                             int(m.group(3)) if m.group(3) else None))
    for m in _NUMERIC.finditer(question):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        found.append(Day(b, a, year))  # 20/05/2026: day first, as most of the world writes it
        found.append(Day(a, b, year))  # 05/20/2026: month first
    return list(dict.fromkeys(d for d in found if _valid(d.month, d.day)))


def date_forms(day: Day) -> tuple[str, ...]:
    """How logs and listings write ``day``: ISO, syslog (``May 20``, ``May  7``), access logs
    (``20/May/2026``), slashed and dotted numerals, compact ``yymmdd``. Without a year only
    the forms that carry none (or carry it after the day) are given."""
    mon = _MONTHS[day.month - 1].capitalize()
    d, mm, dd = day.day, f"{day.month:02d}", f"{day.day:02d}"
    forms = [f"{mon} {d:>2} ", f"{mon} {dd} ", f"{dd}/{mon}/", f"{d} {mon} ", f"{dd}-{mon}-"]
    if day.year is not None:
        y = day.year
        forms += [f"{y}-{mm}-{dd}", f"{y}/{mm}/{dd}", f"{dd}/{mm}/{y}", f"{mm}/{dd}/{y}", f"{dd}.{mm}.{y}",
                  f"{y}{mm}{dd}", f"{y % 100:02d}{mm}{dd} "]
    else:
        forms += [f"-{mm}-{dd}T", f"-{mm}-{dd} ", f"/{mm}/{dd} "]
    return tuple(dict.fromkeys(forms))
