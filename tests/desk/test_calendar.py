"""Support hours and business-day arithmetic (desk.calendar).

Holiday facts used below are asserted against the installed ``holidays``
package first, so a changed package version fails loudly at the premise
instead of producing a confusing arithmetic failure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.calendar import BusinessCalendar, SupportHours

MSK = ZoneInfo("Europe/Moscow")
HOURS = SupportHours.parse("07:00-23:00", "Europe/Moscow")
# Module-level rather than a fixture: hypothesis refuses function-scoped
# fixtures, and sharing one instance also shares the business-day cache.
CAL = BusinessCalendar(HOURS)
RU_HOLIDAYS = holidays.country_holidays("RU", years=range(2024, 2030))
HAS_TRANSFER_WORKDAYS = bool(getattr(RU_HOLIDAYS, "weekend_workdays", None))

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


# -- SupportHours.parse ------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("07:00-23:00", time(7), time(23)),
        (" 7:05 - 22:30 ", time(7, 5), time(22, 30)),
        ("00:00-23:59", time(0), time(23, 59)),
    ],
)
def test_parse_good_specs(spec: str, start: time, end: time) -> None:
    hours = SupportHours.parse(spec, "Europe/Moscow")
    assert hours == SupportHours(start=start, end=end, tz=MSK)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "HH:MM-HH:MM"),
        ("07:00", "HH:MM-HH:MM"),
        ("7-23", "HH:MM-HH:MM"),
        ("07:00-23:00-01:00", "HH:MM-HH:MM"),
        ("07.00-23.00", "HH:MM-HH:MM"),
        ("25:00-26:00", "invalid time"),
        ("07:60-23:00", "invalid time"),
        ("07:00-24:00", "invalid time"),
        ("23:00-07:00", "end must be after start"),
        ("07:00-07:00", "end must be after start"),
    ],
)
def test_parse_rejects_bad_spec(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SupportHours.parse(spec, "Europe/Moscow")


@pytest.mark.parametrize("tz_name", ["", "Mars/Olympus_Mons", "/etc/localtime", "../etc"])
def test_parse_rejects_unknown_zone(tz_name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        SupportHours.parse("07:00-23:00", tz_name)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="must be after start"):
        SupportHours(start=time(23), end=time(7), tz=MSK)


def test_unknown_country_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no holiday calendar"):
        BusinessCalendar(HOURS, country="XX")


# -- naive input -------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 10, 15, 12, 0)
    aware = msk(2025, 10, 15, 12)
    calls: list[Callable[[], object]] = [
        lambda: CAL.is_support_time(naive),
        lambda: CAL.next_support_start(naive),
        lambda: CAL.add_support_minutes(naive, 10),
        lambda: CAL.support_minutes_between(naive, aware),
        lambda: CAL.support_minutes_between(aware, naive),
        lambda: CAL.add_business_days(naive, 5),
        lambda: CAL.business_days_between(naive, aware),
        lambda: CAL.business_days_between(aware, naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_invalid_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="minutes"):
        CAL.add_support_minutes(msk(2025, 10, 15, 12), -1)
    with pytest.raises(ValueError, match="days"):
        CAL.add_business_days(msk(2025, 10, 15, 12), 0)


# -- support time ------------------------------------------------------------


def test_window_boundaries() -> None:
    assert CAL.is_support_time(msk(2025, 10, 15, 7, 0))
    assert not CAL.is_support_time(msk(2025, 10, 15, 6, 59) + timedelta(seconds=59))
    assert CAL.is_support_time(msk(2025, 10, 15, 22, 59))
    assert not CAL.is_support_time(msk(2025, 10, 15, 23, 0))
    assert not CAL.is_support_time(msk(2025, 10, 15, 3, 0))


def test_input_zone_does_not_matter() -> None:
    # 04:00 UTC is 07:00 in Moscow (UTC+3 all year).
    assert CAL.is_support_time(datetime(2025, 10, 15, 4, 0, tzinfo=UTC))
    assert not CAL.is_support_time(datetime(2025, 10, 15, 3, 59, tzinfo=UTC))
    vladivostok = ZoneInfo("Asia/Vladivostok")  # UTC+10: 14:00 there is 07:00 in Moscow
    assert CAL.is_support_time(datetime(2025, 10, 15, 14, 0, tzinfo=vladivostok))


def test_weekends_are_support_time_unless_business_days_only() -> None:
    saturday_noon = msk(2025, 10, 18, 12)
    assert CAL.is_support_time(saturday_noon)
    assert not CAL.is_support_time(saturday_noon, business_days_only=True)


def test_late_evening_rolls_to_next_morning() -> None:
    result = CAL.add_support_minutes(msk(2025, 10, 15, 22, 50), 30)
    assert result == msk(2025, 10, 16, 7, 20)
    assert result.tzinfo is UTC


def test_early_morning_waits_for_opening() -> None:
    assert CAL.add_support_minutes(msk(2025, 10, 15, 6, 0), 10) == msk(2025, 10, 15, 7, 10)


def test_budget_ending_exactly_at_closing_stays_at_closing() -> None:
    # The documented rule: the due moment is 23:00, not 07:00 next morning.
    assert CAL.add_support_minutes(msk(2025, 10, 15, 22, 0), 60) == msk(2025, 10, 15, 23, 0)
    assert CAL.add_support_minutes(msk(2025, 10, 15, 6, 0), 16 * 60) == msk(2025, 10, 15, 23)


def test_zero_minutes_is_next_support_start() -> None:
    assert CAL.add_support_minutes(msk(2025, 10, 15, 12, 0), 0) == msk(2025, 10, 15, 12, 0)
    assert CAL.add_support_minutes(msk(2025, 10, 15, 23, 0), 0) == msk(2025, 10, 16, 7, 0)
    assert CAL.next_support_start(msk(2025, 10, 15, 23, 0)) == msk(2025, 10, 16, 7, 0)
    assert CAL.next_support_start(msk(2025, 10, 16, 0, 30)) == msk(2025, 10, 16, 7, 0)
    assert CAL.next_support_start(msk(2025, 10, 18, 8), business_days_only=True) == msk(
        2025, 10, 20, 7
    )


def test_large_budget_skips_whole_days() -> None:
    # 10 000 min = 10 full 16-hour windows (9 600 min) + 400 min (6 h 40 min).
    monday = msk(2025, 10, 13, 7, 0)
    assert CAL.add_support_minutes(monday, 10_000) == msk(2025, 10, 23, 13, 40)
    assert CAL.support_minutes_between(monday, msk(2025, 10, 23, 13, 40)) == 10_000


def test_friday_before_public_holiday() -> None:
    """Filed 22:50 on Fri 2027-06-11, the eve of Russia Day.

    Per the installed ``holidays``: Russia Day, Sat 2027-06-12, is observed on
    Mon 2027-06-14, so the first business day after that Friday is Tue
    2027-06-15 -- a plain weekend skip would wrongly land on Monday.
    """
    assert date(2027, 6, 12) in RU_HOLIDAYS
    assert date(2027, 6, 14) in RU_HOLIDAYS
    assert CAL.is_business_day(date(2027, 6, 11))
    assert not CAL.is_business_day(date(2027, 6, 14))
    assert CAL.is_business_day(date(2027, 6, 15))

    filed = msk(2027, 6, 11, 22, 50)
    assert CAL.add_support_minutes(filed, 60) == msk(2027, 6, 12, 7, 50)
    assert CAL.add_support_minutes(filed, 60, business_days_only=True) == msk(2027, 6, 15, 7, 50)


def test_weekend_crossing_with_business_days_only() -> None:
    friday_late = msk(2025, 10, 17, 22, 30)  # an ordinary Friday
    assert CAL.add_support_minutes(friday_late, 120) == msk(2025, 10, 18, 8, 30)
    assert CAL.add_support_minutes(friday_late, 120, business_days_only=True) == msk(
        2025, 10, 20, 8, 30
    )
    saturday = msk(2025, 10, 18, 12)
    assert CAL.add_support_minutes(saturday, 15, business_days_only=True) == msk(
        2025, 10, 20, 7, 15
    )
    assert (
        CAL.support_minutes_between(friday_late, msk(2025, 10, 20, 8, 30), business_days_only=True)
        == 120
    )


def test_new_year_holidays_crossing() -> None:
    """Filed Tue 2025-12-30 22:30: Dec 31 (moved day off), Jan 1-8 and Fri Jan 9 2026
    (moved day off) are holidays, Jan 10-11 the weekend, so the business-day
    clock resumes Mon 2026-01-12."""
    for day in [date(2025, 12, 31), *(date(2026, 1, d) for d in range(1, 10))]:
        assert day in RU_HOLIDAYS, day
    filed = msk(2025, 12, 30, 22, 30)
    assert CAL.add_support_minutes(filed, 60) == msk(2025, 12, 31, 7, 30)
    assert CAL.add_support_minutes(filed, 60, business_days_only=True) == msk(2026, 1, 12, 7, 30)
    assert (
        CAL.support_minutes_between(filed, msk(2026, 1, 12, 7, 30), business_days_only=True) == 60
    )
    assert CAL.support_minutes_between(filed, msk(2026, 1, 12, 7, 30)) == 30 + 12 * 16 * 60 + 30


def test_support_minutes_between_floors_and_handles_reversed_bounds() -> None:
    a = msk(2025, 10, 15, 12, 0) + timedelta(seconds=30)
    assert CAL.support_minutes_between(a, a + timedelta(seconds=59)) == 0
    assert CAL.support_minutes_between(a, a + timedelta(seconds=60)) == 1
    assert CAL.support_minutes_between(a, a) == 0
    assert CAL.support_minutes_between(a, a - timedelta(hours=1)) == 0
    assert CAL.support_minutes_between(msk(2025, 10, 15, 22), msk(2025, 10, 16, 8)) == 120


# -- business days -----------------------------------------------------------


def test_is_business_day() -> None:
    assert CAL.is_business_day(date(2025, 10, 15))  # Wednesday
    assert not CAL.is_business_day(date(2025, 10, 18))  # Saturday
    assert not CAL.is_business_day(date(2026, 1, 5))  # New Year holidays, a Monday
    assert not CAL.is_business_day(date(2025, 12, 31))  # day off moved from Sun 5 Jan 2025
    with pytest.raises(TypeError):
        CAL.is_business_day(msk(2025, 10, 15, 12))


@pytest.mark.skipif(not HAS_TRANSFER_WORKDAYS, reason="holidays lacks weekend_workdays")
def test_transferred_working_saturday_is_a_business_day() -> None:
    """Sat 2025-11-01 was a working day (swapped for Mon 2025-11-03 off)."""
    assert date(2025, 11, 1) in RU_HOLIDAYS.weekend_workdays
    assert CAL.is_business_day(date(2025, 11, 1))
    assert not CAL.is_business_day(date(2025, 11, 3))
    friday = msk(2025, 10, 31, 15)
    assert CAL.add_business_days(friday, 1) == msk(2025, 11, 1, 15)
    assert CAL.add_business_days(friday, 2) == msk(2025, 11, 5, 15)
    assert CAL.add_support_minutes(msk(2025, 10, 31, 22, 50), 20, business_days_only=True) == msk(
        2025, 11, 1, 7, 10
    )


def test_auto_close_after_five_business_days_across_weekend() -> None:
    resolved = msk(2025, 10, 17, 15)  # Friday
    closes = CAL.add_business_days(resolved, 5)
    assert closes == msk(2025, 10, 24, 15)
    assert closes.tzinfo is UTC
    assert CAL.business_days_between(resolved, closes) == 5


def test_auto_close_from_weekend() -> None:
    assert CAL.add_business_days(msk(2025, 10, 18, 10), 5) == msk(2025, 10, 24, 10)  # Saturday
    assert CAL.add_business_days(msk(2025, 10, 19, 10), 5) == msk(2025, 10, 24, 10)  # Sunday
    # Fri 21:30 UTC is already Sat 00:30 in Moscow: the local date decides.
    late_friday_utc = datetime(2025, 10, 17, 21, 30, tzinfo=UTC)
    assert CAL.add_business_days(late_friday_utc, 5) == msk(2025, 10, 24, 0, 30)


def test_auto_close_across_public_holiday() -> None:
    # Russia Day 2027 is observed on Mon 14 June (see the Friday test above).
    assert CAL.add_business_days(msk(2027, 6, 11, 15), 5) == msk(2027, 6, 21, 15)


def test_auto_close_across_new_year_holidays() -> None:
    # Business days after Fri 2025-12-26: Dec 29, Dec 30, then Jan 12, 13, 14.
    assert CAL.add_business_days(msk(2025, 12, 26, 12), 5) == msk(2026, 1, 14, 12)


def test_business_days_between() -> None:
    friday = msk(2025, 10, 17, 15)
    assert CAL.business_days_between(friday, friday) == 0
    assert CAL.business_days_between(friday, msk(2025, 10, 19, 23)) == 0  # weekend only
    assert CAL.business_days_between(friday, msk(2025, 10, 20, 0, 1)) == 1
    assert CAL.business_days_between(msk(2025, 10, 18, 10), msk(2025, 10, 24, 9)) == 5
    assert CAL.business_days_between(msk(2025, 10, 24), friday) == 0
    assert CAL.business_days_between(msk(2025, 12, 30), msk(2026, 1, 12)) == 1


# -- properties --------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([UTC, MSK, ZoneInfo("America/New_York")]),
)
budgets = st.integers(min_value=0, max_value=20_000)


def _is_window_end(cal: BusinessCalendar, moment: datetime, business_days_only: bool) -> bool:
    local = moment.astimezone(cal.hours.tz)
    just_before = moment - timedelta(microseconds=1)
    return local.time() == cal.hours.end and cal.is_support_time(
        just_before, business_days_only=business_days_only
    )


@PROPERTY_SETTINGS
@given(start=moments, minutes=budgets, business_days_only=st.booleans())
def test_between_inverts_add(start: datetime, minutes: int, business_days_only: bool) -> None:
    due = CAL.add_support_minutes(start, minutes, business_days_only=business_days_only)
    assert due.tzinfo is UTC
    assert CAL.support_minutes_between(start, due, business_days_only=business_days_only) == minutes


@PROPERTY_SETTINGS
@given(start=moments, minutes=budgets, business_days_only=st.booleans())
def test_due_moment_is_support_time_or_a_window_end(
    start: datetime, minutes: int, business_days_only: bool
) -> None:
    due = CAL.add_support_minutes(start, minutes, business_days_only=business_days_only)
    if CAL.is_support_time(due, business_days_only=business_days_only):
        return
    # Only a budget that runs out exactly at closing may land outside.
    assert minutes > 0
    assert _is_window_end(CAL, due, business_days_only)


@PROPERTY_SETTINGS
@given(start=moments, m1=budgets, m2=budgets, business_days_only=st.booleans())
def test_add_is_monotonic(start: datetime, m1: int, m2: int, business_days_only: bool) -> None:
    low, high = sorted((m1, m2))
    assert CAL.add_support_minutes(
        start, low, business_days_only=business_days_only
    ) <= CAL.add_support_minutes(start, high, business_days_only=business_days_only)


@PROPERTY_SETTINGS
@given(moment=moments, business_days_only=st.booleans())
def test_next_support_start_skips_only_closed_time(
    moment: datetime, business_days_only: bool
) -> None:
    nxt = CAL.next_support_start(moment, business_days_only=business_days_only)
    assert nxt >= moment
    assert CAL.is_support_time(nxt, business_days_only=business_days_only)
    assert CAL.support_minutes_between(moment, nxt, business_days_only=business_days_only) == 0


@PROPERTY_SETTINGS
@given(moment=moments, days=st.integers(min_value=1, max_value=30))
def test_add_business_days_lands_on_business_day(moment: datetime, days: int) -> None:
    closes = CAL.add_business_days(moment, days)
    local_closes = closes.astimezone(MSK)
    assert CAL.is_business_day(local_closes.date())
    assert local_closes.time() == moment.astimezone(MSK).time()
    assert CAL.business_days_between(moment, closes) == days


BERLIN_CAL = BusinessCalendar(SupportHours.parse("08:00-20:00", "Europe/Berlin"), country="DE")


@PROPERTY_SETTINGS
@given(start=moments, minutes=budgets, business_days_only=st.booleans())
def test_between_inverts_add_in_a_zone_with_dst(
    start: datetime, minutes: int, business_days_only: bool
) -> None:
    due = BERLIN_CAL.add_support_minutes(start, minutes, business_days_only=business_days_only)
    assert (
        BERLIN_CAL.support_minutes_between(start, due, business_days_only=business_days_only)
        == minutes
    )
    assert BERLIN_CAL.is_support_time(due, business_days_only=business_days_only) or _is_window_end(
        BERLIN_CAL, due, business_days_only
    )
