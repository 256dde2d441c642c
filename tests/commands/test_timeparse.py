"""Time phrases and durations: table-driven with a fixed `now`, plus property tests."""

from __future__ import annotations

import time as wallclock
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.timeparse import (
    MAX_AHEAD,
    MAX_DURATION,
    TimeParseError,
    humanize_delta,
    parse_duration,
    parse_time,
)

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
# Friday 2026-03-06 10:00 in each zone. New York springs forward on Sunday 2026-03-08
# (02:00 -> 03:00) and falls back on Sunday 2026-11-01 (02:00 -> 01:00); Tokyo has no DST.
NOW_NY = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
NOW_TOKYO = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)
ZONES = [ZoneInfo(z) for z in ("America/New_York", "Asia/Tokyo", "Europe/London", "UTC",
                               "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata")]


def local(text: str, tz: ZoneInfo) -> datetime:
    """An expected wall-clock time in `tz`, as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


# (phrase, expected wall-clock time in New York); now is Friday 10:00 EST.
NEW_YORK_CASES = [
    ("2026-12-01", "2026-12-01 00:00"),  # a date alone is that day's 00:00
    ("2026-12-01 18:00", "2026-12-01 18:00"),
    ("2026-12-01T18:00", "2026-12-01 18:00"),
    ("2026-12-01 6pm", "2026-12-01 18:00"),
    ("2026-3-7 9:05", "2026-03-07 09:05"),
    ("tomorrow", "2026-03-07 00:00"),
    ("tomorrow 9:00", "2026-03-07 09:00"),
    ("Tomorrow at 9am", "2026-03-07 09:00"),
    ("today 18:00", "2026-03-06 18:00"),
    ("friday", "2026-03-13 00:00"),  # today's 00:00 is gone: next week's
    ("friday 18:00", "2026-03-06 18:00"),  # later today
    ("fri 6pm", "2026-03-06 18:00"),
    ("6pm fri", "2026-03-06 18:00"),
    ("friday 9:00", "2026-03-13 09:00"),  # already passed today: next week
    ("friday 10:00", "2026-03-13 10:00"),  # exactly now is not the future
    ("FRI 6 P.M.", "2026-03-06 18:00"),
    ("saturday", "2026-03-07 00:00"),
    ("thursday 12:30", "2026-03-12 12:30"),
    ("on monday at noon", "2026-03-09 12:00"),  # after the DST change: EDT
    ("noon", "2026-03-06 12:00"),
    ("midnight", "2026-03-07 00:00"),
    ("9am", "2026-03-07 09:00"),  # already past today
    ("10:30", "2026-03-06 10:30"),
    ("12am", "2026-03-07 00:00"),
    ("12pm", "2026-03-06 12:00"),
    ("dec 1", "2026-12-01 00:00"),
    ("1 December 18:00", "2026-12-01 18:00"),
    ("december 1st, 2027", "2027-12-01 00:00"),
    ("march 6", "2027-03-06 00:00"),  # today's 00:00 is past: next year
    ("feb 29", "2028-02-29 00:00"),  # next year that has one
    # DST gap: 02:30 does not exist on 2026-03-08 and is shifted forward to 03:30.
    ("2026-03-08 02:30", "2026-03-08 03:30"),
    ("sun 2:30am", "2026-03-08 03:30"),
    ("sunday 3:00", "2026-03-08 03:00"),
]


@pytest.mark.parametrize(("phrase", "expected"), NEW_YORK_CASES)
def test_new_york_phrases(phrase: str, expected: str) -> None:
    got = parse_time(phrase, tz=NY, now=NOW_NY)
    assert got.tzinfo is UTC
    assert got == local(expected, NY)


TOKYO_CASES = [
    ("2026-12-01", "2026-12-01 00:00"),
    ("2026-12-01 18:00", "2026-12-01 18:00"),
    ("tomorrow 9:00", "2026-03-07 09:00"),
    ("today 18:00", "2026-03-06 18:00"),
    ("friday", "2026-03-13 00:00"),
    ("friday 18:00", "2026-03-06 18:00"),
    ("fri 6pm", "2026-03-06 18:00"),
    ("sun 2:30am", "2026-03-08 02:30"),  # no DST in Tokyo
    ("noon", "2026-03-06 12:00"),
    ("midnight", "2026-03-07 00:00"),
]


@pytest.mark.parametrize(("phrase", "expected"), TOKYO_CASES)
def test_tokyo_phrases(phrase: str, expected: str) -> None:
    assert parse_time(phrase, tz=TOKYO, now=NOW_TOKYO) == local(expected, TOKYO)


def test_the_same_phrase_means_the_local_wall_time_of_each_zone() -> None:
    ny = parse_time("2026-12-01 18:00", tz=NY, now=NOW_NY)
    tokyo = parse_time("2026-12-01 18:00", tz=TOKYO, now=NOW_NY)
    assert ny - tokyo == timedelta(hours=14)


@pytest.mark.parametrize(("phrase", "expected"), [
    ("in 3 days", timedelta(days=3)),
    ("in 2h", timedelta(hours=2)),
    ("in 90 minutes", timedelta(minutes=90)),
    ("in an hour", timedelta(hours=1)),
    ("5d", timedelta(days=5)),
    ("2 weeks", timedelta(weeks=2)),
    ("1d12h", timedelta(days=1, hours=12)),
])
def test_relative_phrases_are_elapsed_time(phrase: str, expected: timedelta) -> None:
    # Across the DST change "in 3 days" is 72 hours: Monday 11:00 EDT, not 10:00.
    assert parse_time(phrase, tz=NY, now=NOW_NY) == NOW_NY + expected


@pytest.mark.parametrize(("phrase", "expected_utc"), [
    ("2026-12-01T18:00+02:00", datetime(2026, 12, 1, 16, 0, tzinfo=UTC)),
    ("2026-12-01 18:00 -0500", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
    ("2026-12-01T18:00Z", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
    ("2026-12-01 18:00 UTC", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
    ("2026-12-01T18:00:30+09", datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)),
])
def test_an_offset_makes_the_time_absolute(phrase: str, expected_utc: datetime) -> None:
    assert parse_time(phrase, tz=NY, now=NOW_NY) == expected_utc
    assert parse_time(phrase, tz=TOKYO, now=NOW_NY) == expected_utc


def test_fall_back_ambiguous_time_is_the_first_occurrence() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; we take the EDT one (05:30 UTC).
    got = parse_time("2026-11-01 01:30", tz=NY, now=NOW_NY)
    assert got == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_time_alone_on_the_evening_before_a_dst_gap() -> None:
    now = local("2026-03-07 23:00", NY)  # Saturday evening
    assert parse_time("2:30am", tz=NY, now=now) == local("2026-03-08 03:30", NY)
    assert parse_time("2:30am", tz=NY, now=now) - now == timedelta(hours=3, minutes=30)


def test_past_times_are_refused_with_how_long_ago() -> None:
    with pytest.raises(TimeParseError, match=r"in the past \(it was 2 hours ago\)"):
        parse_time("today 8:00", tz=NY, now=NOW_NY)
    with pytest.raises(TimeParseError, match="in the past"):
        parse_time("2020-01-01", tz=NY, now=NOW_NY)
    with pytest.raises(TimeParseError, match="in the past"):
        parse_time("today", tz=NY, now=NOW_NY)


def test_past_times_allowed_when_asked() -> None:
    got = parse_time("today 8:00", tz=NY, now=NOW_NY, future_only=False)
    assert got == local("2026-03-06 08:00", NY)


@pytest.mark.parametrize("phrase", [
    "", "   ", "asdf", "a", "1", "next tuesday-ish", "friday 25:00", "13pm", "0am",
    "2026-02-30", "2026-13-01", "feb 30", "31 april", "tomorrow tomorrow", "in", "in soon",
    "now", "2026-12-01 18:00 +25:00", "x" * 500, "9999-12-31 23:59", "0001-01-01",
])
def test_garbage_is_a_time_parse_error(phrase: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time(phrase, tz=NY, now=NOW_NY)
    assert info.value.message


def test_unreadable_message_lists_the_accepted_forms() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time("whenever", tz=NY, now=NOW_NY)
    assert "tomorrow 9:00" in info.value.message and "friday 18:00" in info.value.message
    assert "in 3 days" in info.value.message


def test_too_far_ahead() -> None:
    with pytest.raises(TimeParseError, match="too far ahead"):
        parse_time("2099-01-01", tz=NY, now=NOW_NY)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_time("tomorrow", tz=NY, now=datetime(2026, 3, 6, 15, 0))


# --- durations -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("5d", timedelta(days=5)),
    ("2h", timedelta(hours=2)),
    ("90m", timedelta(minutes=90)),
    ("1w", timedelta(weeks=1)),
    ("1d12h", timedelta(days=1, hours=12)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1h 30m", timedelta(hours=1, minutes=30)),
    ("3 days", timedelta(days=3)),
    ("2 weeks", timedelta(weeks=2)),
    ("45 minutes", timedelta(minutes=45)),
    ("1 day and 12 hours", timedelta(days=1, hours=12)),
    ("1 day, 2 hrs", timedelta(days=1, hours=2)),
    ("1.5h", timedelta(minutes=90)),
    ("an hour", timedelta(hours=1)),
    ("a day", timedelta(days=1)),
    ("2D", timedelta(days=2)),
    ("+3d", timedelta(days=3)),
    ("366d", timedelta(days=366)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "Give a duration"),
    ("0d", "longer than zero"),
    ("0h0m", "longer than zero"),
    ("-5d", "longer than zero"),
    ("367d", "too long"),
    ("53w", "too long"),
    ("999999999999d", "too long"),
    ("30s", "minutes"),
    ("2 months", "days or weeks"),
    ("1y", "days or weeks"),
    ("5", "Add a unit"),
    ("5 parsecs", "Unknown unit"),
    ("1h 2h", "same unit twice"),
    ("soon", "couldn't read"),
    ("ad", "couldn't read"),
])
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(TimeParseError, match=message):
        parse_duration(text)


def test_time_parse_error_is_a_value_error() -> None:
    assert issubclass(TimeParseError, ValueError)


# --- humanize ------------------------------------------------------------------------------

@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(hours=2), "2 hours"),
    (timedelta(days=3, hours=4, minutes=10), "3 days 4 hours"),
    (timedelta(minutes=45), "45 minutes"),
    (timedelta(minutes=1), "1 minute"),
    (timedelta(hours=1, minutes=1), "1 hour 1 minute"),
    (timedelta(days=1), "1 day"),
    (timedelta(days=2, minutes=5), "2 days"),
    (timedelta(seconds=59), "less than a minute"),
    (timedelta(0), "less than a minute"),
    (timedelta(hours=-2), "2 hours"),
])
def test_humanize_delta(delta: timedelta, text: str) -> None:
    assert humanize_delta(delta) == text


# --- properties ----------------------------------------------------------------------------

nows = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(UTC))
zones = st.sampled_from(ZONES)
WORDS = ["in", "at", "on", "tomorrow", "today", "friday", "fri", "mon", "noon", "midnight",
         "dec", "1", "31", "2026-03-08", "2026-11-01", "02:30", "01:30", "6pm", "12am", "13",
         "5d", "2h", "90m", "an", "hour", "days", "and", ",", "+", "-", "2026-12-01T18:00",
         "Z", "+02:00", "feb", "29", "2099", "0001", "9999-12-31", "23:59", "p.m.", "1.5"]
phrases = st.one_of(st.text(max_size=60),
                    st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(text=phrases, tz=zones, now=nows, future_only=st.booleans())
def test_parse_time_returns_utc_or_time_parse_error(text: str, tz: ZoneInfo, now: datetime,
                                                     future_only: bool) -> None:
    try:
        got = parse_time(text, tz=tz, now=now, future_only=future_only)
    except TimeParseError as exc:
        assert exc.message
        return
    assert got.tzinfo is UTC
    if future_only:
        assert got > now


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=40), st.lists(st.sampled_from(WORDS), max_size=4)
                      .map("".join)))
def test_parse_duration_returns_a_sane_span_or_time_parse_error(text: str) -> None:
    try:
        got = parse_duration(text)
    except TimeParseError as exc:
        assert exc.message
        return
    assert timedelta(minutes=1) <= got <= MAX_DURATION


@given(w=st.integers(0, 52), d=st.integers(0, 400), h=st.integers(0, 100),
       m=st.integers(0, 10_000))
def test_compact_durations_add_up(w: int, d: int, h: int, m: int) -> None:
    text = "".join(f"{n}{u}" for n, u in ((w, "w"), (d, "d"), (h, "h"), (m, "m")) if n)
    expected = timedelta(weeks=w, days=d, hours=h, minutes=m)
    if timedelta(minutes=1) <= expected <= MAX_DURATION:
        assert parse_duration(text) == expected
    else:
        with pytest.raises(TimeParseError):
            parse_duration(text)


DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@given(now=nows, tz=zones, weekday=st.integers(0, 6), hour=st.integers(0, 23),
       minute=st.integers(0, 59), short=st.booleans())
def test_weekday_is_the_next_such_day_strictly_ahead(now: datetime, tz: ZoneInfo, weekday: int,
                                                     hour: int, minute: int,
                                                     short: bool) -> None:
    name = DAY_NAMES[weekday][:3] if short else DAY_NAMES[weekday]
    got = parse_time(f"{name} {hour}:{minute:02d}", tz=tz, now=now)
    assert now < got <= now + timedelta(days=7, hours=3)
    wall = got.astimezone(tz)
    assert wall.weekday() == weekday
    # Equal unless the wall time fell in a DST gap and was shifted forward.
    assert (wall.hour, wall.minute) >= (hour, minute)


@given(now=nows, tz=zones, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_time_alone_is_within_a_day(now: datetime, tz: ZoneInfo, hour: int, minute: int) -> None:
    got = parse_time(f"{hour:02d}:{minute:02d}", tz=tz, now=now)
    assert now < got <= now + timedelta(hours=27)


@given(when=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2080, 1, 1)),
       tz=zones, now=nows)
def test_iso_round_trip(when: datetime, tz: ZoneInfo, now: datetime) -> None:
    when = when.replace(second=0, microsecond=0)
    aware = when.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != when:
        return  # inside a DST gap: covered by the table tests
    text = when.strftime("%Y-%m-%d %H:%M")
    expected = aware.astimezone(UTC)
    if expected - now > MAX_AHEAD:
        with pytest.raises(TimeParseError, match="too far ahead"):
            parse_time(text, tz=tz, now=now, future_only=False)
    else:
        assert parse_time(text, tz=tz, now=now, future_only=False) == expected


@given(delta=st.timedeltas(min_value=timedelta(days=-10**6), max_value=timedelta(days=10**6)))
def test_humanize_never_fails(delta: timedelta) -> None:
    text = humanize_delta(delta)
    assert text and len(text.split()) <= 4


def test_parsing_is_quick() -> None:
    start = wallclock.perf_counter()
    for _ in range(200):
        for phrase, _expected in NEW_YORK_CASES:
            parse_time(phrase, tz=NY, now=NOW_NY)
    assert wallclock.perf_counter() - start < 5.0  # ~6,600 phrases; milliseconds in practice
