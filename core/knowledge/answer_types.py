"""What kind of answer a question asks for, and whether a text holds one.

A question that asks "what share", "how soon", "how large" or "on what date" is answered by a
passage that holds a share, a length of time, a size or a date: the rerank gives such passages a
small lift (W_ANSWER, `asked`). The offline answerer refuses when none of its best passages holds
the date (or time), amount of money or size a question needs (`required`). A version number the question names ("Python 3.14") must
appear in a passage, its heading, title or file name for that passage to speak of it.
"""
from __future__ import annotations

import re

_COUNT = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several)"
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t|tember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
DATE = re.compile(rf"\b{_MONTH}\b\.?|\bmay\s+\d|\d\s+may\b|\b(?:1[6-9]|20)\d\d\b|\b\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}\b",
                  re.I)
SHARE = re.compile(r"\d(?:[.,]\d+)?\s?%|\b\d+(?:[.,]\d+)?\s?per\s?cent\b|\b\d+\s+(?:of|out of)\s+\d+\b|"
                   r"\b(?:half|a third|a quarter|most|majority|minority)\b", re.I)
DURATION = re.compile(rf"\b{_COUNT}[\s-]+(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b", re.I)
SIZE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:[kmgt]i?b|bytes?|(?:kilo|mega|giga|tera)bytes?)\b", re.I)
TIME = re.compile(
    r"\b\d{1,2}(?:[:.]\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\b\d{1,2}[:.]\d{2}\b|\b(?:monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|weekdays?|weekends?|daily|noon|midnight|morning|evening)\b", re.I)
MONEY = re.compile(r"[$€£₹¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:dollars?|euros?|pounds?|usd|eur|gbp|inr|rupees?)\b", re.I)
_ASKS_SIZE = re.compile(r"\b(?:how\s+(?:big|large)|largest|biggest|smallest|maximum\s+size|size\s+limit|file\s+size)\b",
                        re.I)
VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?![\w.])")  # 3.14, 5.11, 2.0 (not a year: documents rarely repeat it)

_ASKS = (
    (re.compile(r"\b(?:what|which)\s+(?:date|day|year|month)\b|\bwhen\s+(?:was|were|did)\b", re.I), DATE),
    (re.compile(r"\bwhat\s+(?:share|percentage|proportion|fraction|percent|portion)\b|\bhow\s+(?:common|many of)\b",
                re.I), SHARE),
    (re.compile(r"\bhow\s+(?:soon|long|quickly|fast)\b|\bwithin\s+how\b", re.I), DURATION),
    (_ASKS_SIZE, SIZE),
)
# What a question cannot be answered without (the answerer refuses when its best passages lack it).
_REQUIRED = (
    (re.compile(r"\b(?:what|which)\s+(?:date|day|year|month)\b|\bwhen\s+(?:was|were|did|is|will|does|do)\b", re.I),
     re.compile(f"{DATE.pattern}|{TIME.pattern}", re.I)),  # "when is it open?" is answered by a time
    (re.compile(r"\bhow much\b.*\b(?:cost|costs|price|prices|fee|fees|fund|funds|funding|budget|charge|"
                r"charges|pay|paid|salary|spend|spent)\b", re.I), MONEY),
    (_ASKS_SIZE, SIZE),
)


def asked(question: str) -> list[re.Pattern]:
    """The kinds of answer the question asks for, as patterns (none for most questions)."""
    return [kind for asks, kind in _ASKS if asks.search(question)]


def required(question: str) -> list[re.Pattern]:
    """The kinds of answer the question cannot be answered without, as patterns."""
    return [kind for asks, kind in _REQUIRED if asks.search(question)]


def holds(text: str, kinds: list[re.Pattern]) -> bool:
    return any(kind.search(text) for kind in kinds)


def unnamed_versions(question: str, text: str) -> list[str]:
    """The version numbers the question names that `text` never mentions."""
    return [v for v in VERSION.findall(question) if not re.search(rf"(?<![\w.]){re.escape(v)}(?![\w])", text)]
