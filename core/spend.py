"""Spend caps: a daily budget for cloud spend per owner, and one answer stream at a time per owner.

The budget is off by default. A studio-wide default comes from CLONE_STUDIO_DAILY_BUDGET_USD or
is set by an admin; an admin may give one user their own cap. With login off, the single
(local) user sets theirs on the Settings page. Today's spend is the sum of `cost_usd` of the
owner's messages and usage events since midnight UTC. When it reaches the cap, cloud calls
are refused with one sentence; offline answers are always allowed.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import func, select

from core.config import setting
from core.errors import InvalidInput, StudioError
from core.models import AppSetting, Message, UsageEvent
from core.owners import resolve

BUDGET_ENV = "CLONE_STUDIO_DAILY_BUDGET_USD"
STUDIO_OWNER = "__studio__"  # the AppSetting owner of studio-wide settings (the admin's default cap)
CAP_KEY = "spend.daily_cap_usd"
UNMETERED = {"openai_compatible"}  # a local server: nothing to pay
STREAM_STALE_S = 300.0  # a stream slot older than this is taken to be abandoned


class BudgetReached(StudioError):
    """Today's cloud budget is used up."""


class StreamBusy(StudioError):
    """Another answer for the same owner is still being written."""


@dataclass(frozen=True)
class Budget:
    cap_usd: float | None  # None: no cap
    spent_usd: float
    source: str  # "user" / "studio" / "environment" / "off"

    @property
    def reached(self) -> bool:
        return self.cap_usd is not None and self.spent_usd >= self.cap_usd

    @property
    def left_usd(self) -> float | None:
        return None if self.cap_usd is None else max(0.0, self.cap_usd - self.spent_usd)


def start_of_day(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def spent_today(runtime, owner_id: str | None = None, now: datetime | None = None) -> float:
    owner_id = resolve(runtime, owner_id)
    since = start_of_day(now)
    messages = select(func.coalesce(func.sum(Message.cost_usd), 0.0)).where(
        Message.owner_id == owner_id, Message.created_at >= since)
    usage = select(func.coalesce(func.sum(UsageEvent.cost_usd), 0.0)).where(
        UsageEvent.owner_id == owner_id, UsageEvent.created_at >= since)
    with runtime.engine.connect() as connection:
        return float(connection.execute(messages).scalar_one()) + float(connection.execute(usage).scalar_one())


def _cap_row(session, owner_id: str) -> AppSetting | None:
    from sqlmodel import select as sm_select

    return session.exec(sm_select(AppSetting).where(AppSetting.owner_id == owner_id, AppSetting.key == CAP_KEY)).first()


def _stored_cap(runtime, owner_id: str) -> float | None | str:
    """The stored cap: a number, "none" (explicitly no cap), or None (nothing stored)."""
    with runtime.base.session() as session:
        row = _cap_row(session, owner_id)
    if row is None or "usd" not in row.value:
        return None
    return "none" if row.value["usd"] is None else float(row.value["usd"])


def daily_cap(runtime, owner_id: str | None = None) -> tuple[float | None, str]:
    """(cap in USD or None, where it came from): the owner's own, else the studio's, else the environment."""
    owner_id = resolve(runtime, owner_id)
    for scope, source in ((owner_id, "user"), (STUDIO_OWNER, "studio")):
        stored = _stored_cap(runtime, scope)
        if stored == "none":
            return None, source
        if stored is not None:
            return stored, source
    raw = setting(BUDGET_ENV)
    if raw:
        try:
            return max(0.0, float(raw)), "environment"
        except ValueError:
            pass
    return None, "off"


def budget(runtime, owner_id: str | None = None) -> Budget:
    owner_id = resolve(runtime, owner_id)
    cap, source = daily_cap(runtime, owner_id)
    return Budget(cap, spent_today(runtime, owner_id), source)


def clean_cap(value) -> float | None:
    """A cap typed by a person: blank or None = no cap; else a non-negative number of dollars."""
    if value is None or str(value).strip() == "":
        return None
    try:
        cap = float(str(value).strip().lstrip("$"))
    except ValueError:
        raise InvalidInput("The daily budget must be a number of dollars, for example 2.50, or blank for none.") from None
    if cap < 0 or cap > 1_000_000:
        raise InvalidInput("The daily budget must be between 0 and 1,000,000 dollars.")
    return round(cap, 4)


def set_cap(runtime, owner_id: str, value, *, clear: bool = False) -> None:
    """Store an owner's cap (a number, or None for "no cap"); `clear` removes it (the default applies).

    Callers check who may do this: an admin, or the single user when login is off."""
    with runtime.base.session() as session:
        row = _cap_row(session, owner_id)
        if clear:
            if row is not None:
                session.delete(row)
                session.commit()
            return
        row = row or AppSetting(owner_id=owner_id, key=CAP_KEY)
        row.value = {"usd": clean_cap(value)}
        session.add(row)
        session.commit()


def set_default_cap(runtime, value) -> None:
    """The admin's studio-wide default cap (None: no cap; users with their own cap keep it)."""
    set_cap(runtime, STUDIO_OWNER, value)


def is_metered(provider: str | None) -> bool:
    """Whether a call to this LLM provider costs money (offline models and local servers do not)."""
    if not provider or provider in UNMETERED:
        return False
    from core.providers.registry import get_llm

    try:
        return not bool(get_llm(provider).offline)
    except StudioError:
        return True


def refusal(cap_usd: float) -> str:
    return (f"You have reached today's cloud budget of ${cap_usd:,.2f}, so this was not sent to the cloud; "
            "use the offline answer, or try again tomorrow.")


def check_budget(runtime, provider: str | None, owner_id: str | None = None) -> None:
    """Raise BudgetReached before a metered cloud call when the owner's daily cap is used up."""
    if is_metered(provider):
        check_cap(runtime, owner_id)


def check_cap(runtime, owner_id: str | None = None) -> None:
    """Raise BudgetReached when the owner's daily cap is used up (callers decide what is metered)."""
    owner_id = resolve(runtime, owner_id)
    cap, _ = daily_cap(runtime, owner_id)
    if cap is not None and spent_today(runtime, owner_id) >= cap:
        raise BudgetReached(refusal(cap))


# ---------------------------------------------------------------- one stream per owner

_streams: dict[str, float] = {}
_streams_lock = threading.Lock()
BUSY = "You already have an answer being written; wait for it to finish, then ask again."


def acquire_stream(owner_id: str) -> float:
    """Take the owner's one answer slot in this process (returns its token), or raise StreamBusy."""
    now = time.monotonic()
    with _streams_lock:
        started = _streams.get(owner_id)
        if started is not None and now - started < STREAM_STALE_S:
            raise StreamBusy(BUSY)
        _streams[owner_id] = now
    return now


def release_stream(owner_id: str, token: float) -> None:
    with _streams_lock:
        if _streams.get(owner_id) == token:
            del _streams[owner_id]


def streaming(owner_id: str) -> bool:
    with _streams_lock:
        started = _streams.get(owner_id)
    return started is not None and time.monotonic() - started < STREAM_STALE_S


@contextmanager
def one_stream(owner_id: str) -> Iterator[None]:
    token = acquire_stream(owner_id)
    try:
        yield
    finally:
        release_stream(owner_id, token)
