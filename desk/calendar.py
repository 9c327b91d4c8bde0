"""Support hours and business days, as the regulation defines them.

Two clocks live here:

* the SLA clock, which only runs inside the daily support window (07:00-23:00
  Moscow time by default) -- every day, or, for tariffs whose SLA stops on
  weekends and holidays, only on business days (``business_days_only=True``);
* the auto-close clock, which counts Russian business days.

Conventions shared by every function:

* every ``datetime`` argument must be timezone-aware (a naive one raises
  ``ValueError``) -- a naive moment would silently be read in whatever zone
  the server happens to run in;
* every returned ``datetime`` is in UTC, so callers can store and compare
  them without caring which zone the support hours are defined in;
* support time is the half-open interval ``[start, end)`` of each local day:
  07:00 is inside, 23:00 is outside;
* when an SLA budget runs out exactly at the end of a window the due moment
  is that end (e.g. 23:00), not the start of the next window: the budget was
  consumed by then, and pushing the deadline to 07:00 would grant the desk a
  night it did not earn.

Business days are Monday-Friday minus public holidays from the ``holidays``
package.  Russia moves days off by decree, turning some Saturdays into working
days; the installed ``holidays`` exposes them as ``weekend_workdays`` and they
are honoured.  With older ``holidays`` releases lacking that attribute those
Saturdays count as days off (the days off they were swapped for are still
known as holidays), so the auto-close would fire up to one day late.  The
package can only know decrees that had been published when it was released,
so keep it up to date: the government publishes next year's transfers in the
autumn.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["BusinessCalendar", "SupportHours"]

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)

# A loop looking for the next countable day must end even if a calendar is
# broken (e.g. a country whose every day is a holiday); no real calendar has
# a year without working days.
_MAX_SEARCH_DAYS = 366 * 2

_SPEC_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_clock(hours: str, minutes: str, spec: str) -> time:
    hour, minute = int(hours), int(minutes)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"invalid time {hours}:{minutes} in support hours {spec!r}")
    return time(hour, minute)


@dataclass(frozen=True)
class SupportHours:
    """The daily support window ``[start, end)`` in local wall-clock time of ``tz``."""

    start: time
    end: time
    tz: ZoneInfo

    def __post_init__(self) -> None:
        # Validated here rather than only in parse() so that a hand-built
        # instance cannot produce windows that overlap or run backwards.
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("support hours start/end must be naive local times; use tz")
        if self.end <= self.start:
            raise ValueError(
                f"support hours end {self.end:%H:%M} must be after start {self.start:%H:%M}"
            )

    @classmethod
    def parse(cls, spec: str, tz_name: str) -> SupportHours:
        """Build from ``"HH:MM-HH:MM"`` and an IANA zone name, e.g. ``"Europe/Moscow"``.

        A window must lie within one day, so ``"24:00"`` and overnight windows
        such as ``"22:00-06:00"`` are rejected.
        """
        match = _SPEC_RE.match(spec)
        if match is None:
            raise ValueError(f"support hours must look like 'HH:MM-HH:MM', got {spec!r}")
        start = _parse_clock(match[1], match[2], spec)
        end = _parse_clock(match[3], match[4], spec)
        if end <= start:
            raise ValueError(
                f"support hours {spec!r}: end must be after start (windows cannot cross midnight)"
            )
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            # ZoneInfo also raises ValueError (malformed keys, non-TZif files)
            # and OSError (unreadable files); all mean the same thing to
            # whoever wrote the setting.
            raise ValueError(f"unknown time zone {tz_name!r}") from exc
        return cls(start=start, end=end, tz=tz)


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class BusinessCalendar:
    """Support-time and business-day arithmetic for one support window and country."""

    def __init__(self, hours: SupportHours, country: str = "RU") -> None:
        self._hours = hours
        self._country = country
        try:
            # No years given: the package fills years in lazily as dates are
            # looked up, so the calendar works for any date without setup.
            self._holidays = holidays.country_holidays(country)
        except NotImplementedError as exc:
            raise ValueError(f"no holiday calendar for country {country!r}") from exc
        # Business-day checks run once per day per SLA computation; the
        # answer for a date never changes, so remember it.
        self._business_day_cache: dict[date, bool] = {}

    @property
    def hours(self) -> SupportHours:
        return self._hours

    @property
    def country(self) -> str:
        return self._country

    # -- business days -----------------------------------------------------

    def is_business_day(self, day: date) -> bool:
        """Monday-Friday that is not a public holiday, plus decreed working Saturdays."""
        if isinstance(day, datetime):
            # A datetime's date depends on the zone it is viewed in; guessing
            # it here would shift deadlines by a day near midnight.
            raise TypeError("is_business_day() takes a local date, not a datetime")
        cached = self._business_day_cache.get(day)
        if cached is None:
            cached = self._compute_business_day(day)
            self._business_day_cache[day] = cached
        return cached

    def _compute_business_day(self, day: date) -> bool:
        # The membership test comes first: it makes the package populate the
        # year, which is also what fills weekend_workdays for that year.
        is_holiday = day in self._holidays
        workdays: Collection[date] = getattr(self._holidays, "weekend_workdays", ())
        if day in workdays:
            return True
        return day.weekday() < 5 and not is_holiday

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The same local wall-clock time on the ``days``-th business day after ``moment``'s date.

        The days are counted strictly after the local date of ``moment``, so a
        request resolved on a Saturday closes on the fifth business day that
        follows, at the Saturday's time of day.
        """
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        local = self._to_local(moment, "moment")
        day = local.date()
        counted = 0
        while counted < days:
            day += _ONE_DAY
            if self.is_business_day(day):
                counted += 1
        # replace() keeps the wall-clock time and lets the zone pick the
        # offset valid on the target day, which matters across DST changes.
        target = local.replace(year=day.year, month=day.month, day=day.day)
        return target.astimezone(UTC)

    def business_days_between(self, a: datetime, b: datetime) -> int:
        """Number of business days ``d`` with ``local date(a) < d <= local date(b)``."""
        first = self._to_local(a, "a").date()
        last = self._to_local(b, "b").date()
        count = 0
        day = first + _ONE_DAY
        while day <= last:
            if self.is_business_day(day):
                count += 1
            day += _ONE_DAY
        return count

    # -- support time ------------------------------------------------------

    def is_support_time(self, moment: datetime, *, business_days_only: bool = False) -> bool:
        utc = _require_aware(moment, "moment")
        day = self._local_date(utc)
        if not self._counts(day, business_days_only):
            return False
        window_start, window_end = self._window(day)
        return window_start <= utc < window_end

    def next_support_start(self, moment: datetime, *, business_days_only: bool = False) -> datetime:
        """``moment`` itself if it is support time, else the start of the next window."""
        utc = _require_aware(moment, "moment")
        day = self._local_date(utc)
        for _ in range(_MAX_SEARCH_DAYS):
            if self._counts(day, business_days_only):
                window_start, window_end = self._window(day)
                if utc < window_end:
                    return max(utc, window_start)
            day += _ONE_DAY
        raise RuntimeError(
            f"no support window within {_MAX_SEARCH_DAYS} days of {utc.isoformat()}; "
            f"is the {self._country} holiday calendar sane?"
        )

    def add_support_minutes(
        self, start: datetime, minutes: int, *, business_days_only: bool = False
    ) -> datetime:
        """The moment by which ``minutes`` minutes of support time have passed since ``start``.

        Time outside the window (and, with ``business_days_only``, on days that
        are not business days) does not count.  ``minutes == 0`` gives
        ``next_support_start(start)``.  A budget that runs out exactly at the
        end of a window yields that end (23:00), not the next morning.
        """
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        current = self.next_support_start(start, business_days_only=business_days_only)
        remaining = timedelta(minutes=minutes)
        # One iteration per window, so the cost grows with days, not minutes.
        while True:
            _, window_end = self._window(self._local_date(current))
            available = window_end - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_support_start(window_end, business_days_only=business_days_only)

    def support_minutes_between(
        self, a: datetime, b: datetime, *, business_days_only: bool = False
    ) -> int:
        """Whole minutes of support time in ``[a, b)``, rounded down; 0 if ``b <= a``."""
        start = _require_aware(a, "a")
        stop = _require_aware(b, "b")
        if stop <= start:
            return 0
        total = timedelta(0)
        day = self._local_date(start)
        last = self._local_date(stop)
        while day <= last:
            if self._counts(day, business_days_only):
                window_start, window_end = self._window(day)
                overlap = min(stop, window_end) - max(start, window_start)
                if overlap > timedelta(0):
                    total += overlap
            day += _ONE_DAY
        # Summing exact timedeltas and flooring once keeps this the exact
        # inverse of add_support_minutes even for starts with seconds.
        return total // _ONE_MINUTE

    # -- helpers -----------------------------------------------------------

    def _counts(self, day: date, business_days_only: bool) -> bool:
        return not business_days_only or self.is_business_day(day)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        tz = self._hours.tz
        window_start = datetime.combine(day, self._hours.start, tzinfo=tz)
        window_end = datetime.combine(day, self._hours.end, tzinfo=tz)
        return window_start.astimezone(UTC), window_end.astimezone(UTC)

    def _local_date(self, utc: datetime) -> date:
        return utc.astimezone(self._hours.tz).date()

    def _to_local(self, moment: datetime, name: str) -> datetime:
        return _require_aware(moment, name).astimezone(self._hours.tz)
