"""Tokenizing command text and binding it to declared options."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.parsing import (
    OptionSpec,
    OptionType,
    ParseError,
    Token,
    bind,
    convert,
    parse_command_text,
    tokenize,
)

T = OptionType
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
USAGE = "/challenge submit <challenge> <title> [link]"

SUBMIT = (
    OptionSpec("challenge", T.STRING, "Challenge name", max_length=100),
    OptionSpec("title", T.STRING, "Title of your entry", max_length=20),
    OptionSpec("link", T.STRING, "Link to your work", required=False, max_length=500),
)


def run(specs: tuple[OptionSpec, ...], text: str) -> dict[str, object]:
    return parse_command_text(text, specs, USAGE, NY, NOW)


def one(spec: OptionSpec, text: str) -> object:
    return run((spec,), text)[spec.name]


def quote(word: str) -> str:
    """`word` as one double-quoted token, escaping every quote mark and backslash."""
    escaped = "".join("\\" + c if c in '"“”„\'‘’\\' else c for c in word)
    return f'"{escaped}"'


def fails(specs: tuple[OptionSpec, ...], text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        run(specs, text)
    return info.value


# --- tokenize ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tokens"), [
    ('/challenge submit dreamscapes "Night garden" https://x.y',
     ["/challenge", "submit", "dreamscapes", "Night garden", "https://x.y"]),
    ("  a   b\tc\n", ["a", "b", "c"]),
    ("", []),
    ("   ", []),
    ("“Night garden” x", ["Night garden", "x"]),  # phone quotes
    ("”Night garden” x", ["Night garden", "x"]),  # a phone that closes both ways
    ("'Night garden' x", ["Night garden", "x"]),
    ("‘Night garden’ x", ["Night garden", "x"]),
    ('title:"Night garden"', ["title:Night garden"]),
    ("title:'Night garden'", ["title:Night garden"]),
    ('say"hi there"now', ["sayhi therenow"]),
    ('""', [""]),
    ('a "" b', ["a", "", "b"]),
    (r'"a \"quoted\" word"', ['a "quoted" word']),
    (r"\"alone", ['"alone']),
    (r'"back\\slash"', ["back\\slash"]),
    (r"C:\Users\me", [r"C:\Users\me"]),  # backslashes before other characters stay
    ("Don't stop", ["Don't", "stop"]),  # apostrophes need no quoting
    ("Don’t stop", ["Don’t", "stop"]),
    ("'90s vibes", ["'90s", "vibes"]),  # an unclosed single quote is an apostrophe
    ("rock 'n' roll", ["rock", "n", "roll"]),
    ("'it's fine' ok", ["it's fine", "ok"]),
    ("\"it's\" fine", ["it's", "fine"]),
    ("'say \"hi\"'", ['say "hi"']),
    ("a\u00a0b", ["a", "b"]),  # non-breaking space from phones
])
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize("text", ['"Night garden', 'x title:"a', "“open", '"a\\"'])
def test_unclosed_double_quote(text: str) -> None:
    with pytest.raises(ParseError, match=r"^Unclosed quote") as info:
        tokenize(text)
    assert info.value.option is None


def test_tokens_remember_their_unquoted_prefix() -> None:
    plain, quoted, named = tokenize('a:b "c:d" e:"f g"')
    assert isinstance(plain, Token) and plain.bare == 3
    assert isinstance(quoted, Token) and quoted.bare == 0
    assert isinstance(named, Token) and named.bare == 2


# --- bind: positional and named ------------------------------------------------------------

def test_positional_fill_in_order() -> None:
    assert run(SUBMIT, 'dreamscapes "Night garden" https://x.y') == {
        "challenge": "dreamscapes", "title": "Night garden", "link": "https://x.y"}


def test_optional_options_not_given_are_none() -> None:
    assert run(SUBMIT, 'dreamscapes "Night garden"')["link"] is None


def test_named_and_positional_mix() -> None:
    got = run(SUBMIT, 'title:"Night garden" dreamscapes link=https://x.y')
    assert got == {"challenge": "dreamscapes", "title": "Night garden", "link": "https://x.y"}
    got = run(SUBMIT, "dreamscapes link:https://x.y Garden")
    assert got == {"challenge": "dreamscapes", "title": "Garden", "link": "https://x.y"}


def test_option_names_are_case_and_dash_insensitive() -> None:
    specs = (OptionSpec("sponsor_link", T.STRING, "Sponsor link"),)
    assert run(specs, "Sponsor-Link:https://x.y") == {"sponsor_link": "https://x.y"}


def test_quoted_named_value() -> None:
    assert run(SUBMIT, "challenge:dreamscapes title:'Night garden'")["title"] == "Night garden"
    assert run(SUBMIT, 'challenge:dreamscapes title:“Night garden”')["title"] == "Night garden"


def test_urls_are_values_not_options() -> None:
    got = run(SUBMIT, "dreamscapes Garden https://x.y/a:b")
    assert got["link"] == "https://x.y/a:b"
    assert run(SUBMIT, "dreamscapes Garden mailto:me@x.y")["link"] == "mailto:me@x.y"


def test_quoting_keeps_a_colon_as_text() -> None:
    assert run(SUBMIT, 'dreamscapes "Re:Zero"')["title"] == "Re:Zero"


def test_unknown_option() -> None:
    err = fails(SUBMIT, "dreamscapes tittle:Garden")
    assert "Unknown option 'tittle'" in err.message
    assert "Did you mean title?" in err.message
    assert err.usage == USAGE
    assert "Usage: " + USAGE in str(err)


def test_unknown_option_suggests_quotes() -> None:
    err = fails(SUBMIT, "dreamscapes Note:hello")
    assert "quotes" in err.message


def test_too_many_positional_values() -> None:
    err = fails(SUBMIT, "dreamscapes Night garden https://x.y")
    assert "Too many values" in err.message and "'https://x.y'" in err.message
    assert err.usage == USAGE


def test_missing_required() -> None:
    err = fails(SUBMIT, "dreamscapes")
    assert err.option == "title"
    assert err.message == "Missing title (Title of your entry)."
    err = fails(SUBMIT, "")
    assert err.message == "Missing challenge and title."
    assert err.option == "challenge" and err.usage == USAGE


def test_duplicate_option() -> None:
    err = fails(SUBMIT, "dreamscapes Garden title:Other")
    assert err.option == "title" and "given twice" in err.message
    err = fails(SUBMIT, "title:A title:B dreamscapes")
    assert err.option == "title" and "'A' and 'B'" in err.message


def test_string_max_length_and_empty() -> None:
    err = fails(SUBMIT, "dreamscapes " + "x" * 21)
    assert err.option == "title" and "too long: 21 characters, at most 20" in err.message
    err = fails(SUBMIT, 'dreamscapes ""')
    assert err.option == "title" and "can't be empty" in err.message
    # An optional string may be set to empty on purpose (e.g. to clear a setting).
    assert run(SUBMIT, 'dreamscapes Garden link:""')["link"] == ""


def test_command_without_options() -> None:
    assert run((), "") == {}
    err = fails((), "extra")
    assert "Too many values" in err.message
    err = fails((), "x:y")
    assert "takes no options" in err.message


def test_unclosed_quote_through_parse_command_text_carries_usage() -> None:
    err = fails(SUBMIT, 'dreamscapes "Night garden')
    assert err.message.startswith("Unclosed quote") and err.usage == USAGE


def test_bind_accepts_plain_strings() -> None:
    got = bind(SUBMIT, ["dreamscapes", "title:Garden"], usage=USAGE, tz=NY, now=NOW)
    assert got["title"] == "Garden"


# --- bind: types ---------------------------------------------------------------------------

PAGE = OptionSpec("page", T.INTEGER, "Page", min_value=1, max_value=100)
AMOUNT = OptionSpec("amount", T.NUMBER, "How much", min_value=0.001, max_value=1_000_000)
FLAG = OptionSpec("early_votes", T.BOOLEAN, "Early votes")
MEMBER = OptionSpec("member", T.MEMBER, "Who")
CHANNEL = OptionSpec("channel", T.CHANNEL, "Where")
START = OptionSpec("start", T.TIME, "When")
SPAN = OptionSpec("span", T.DURATION, "How long")
PERIOD = OptionSpec("period", T.CHOICE, "Period", choices=("week", "month", "all_time"))


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("42", 42), ("+7", 7), ("100", 100), ("page:3", 3), ("00012", 12),
])
def test_integer(text: str, value: int) -> None:
    got = one(PAGE, text)
    assert got == value and type(got) is int


def test_integer_thousands() -> None:
    spec = OptionSpec("value", T.INTEGER, "Points", min_value=0, max_value=100_000)
    assert one(spec, "1,000") == 1000


@pytest.mark.parametrize(("text", "message"), [
    ("0", "page must be between 1 and 100 (got 0)"),
    ("101", "between 1 and 100"),
    ("-5", "between 1 and 100"),
    ("2.5", "whole number"),
    ("two", "whole number, like 3 (got 'two')"),
    ("1e3", "whole number"),
    ("9" * 40, "whole number"),
    ("1,00", "whole number"),
    ('""', "needs a value"),
])
def test_integer_errors(text: str, message: str) -> None:
    err = fails((PAGE,), text)
    assert err.option == "page" and message in err.message and err.usage == USAGE


def test_integer_one_sided_bounds() -> None:
    low = OptionSpec("n", T.INTEGER, "n", min_value=1)
    high = OptionSpec("n", T.INTEGER, "n", max_value=10)
    assert "at least 1" in fails((low,), "0").message
    assert "at most 10" in fails((high,), "11").message
    assert one(OptionSpec("n", T.INTEGER, "n"), "-99999999999") == -99999999999


@pytest.mark.parametrize(("text", "value"), [
    ("2.5", 2.5), ("3", 3.0), (".5", 0.5), ("1e3", 1000.0), ("1E-2", 0.01), ("+4.", 4.0),
])
def test_number(text: str, value: float) -> None:
    got = one(AMOUNT, text)
    assert got == value and type(got) is float


@pytest.mark.parametrize(("text", "message"), [
    ("nan", "must be a number"), ("inf", "must be a number"), ("-inf", "must be a number"),
    ("Infinity", "must be a number"), ("1e999", "too large"), ("0", "between 0.001 and 1000000"),
    ("2,5", "must be a number"), ("abc", "must be a number"), ("1.2.3", "must be a number"),
    ("2000000", "between"),
])
def test_number_errors(text: str, message: str) -> None:
    err = fails((AMOUNT,), text)
    assert err.option == "amount" and message in err.message


@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("no", False), ("TRUE", True), ("false", False), ("on", True),
    ("off", False), ("1", True), ("0", False), ("Y", True), ("n", False),
])
def test_boolean(text: str, value: bool) -> None:
    assert one(FLAG, text) is value


def test_boolean_error() -> None:
    err = fails((FLAG,), "maybe")
    assert err.option == "early_votes" and "yes or no" in err.message


@pytest.mark.parametrize(("text", "value"), [
    ("@alice", "alice"),
    ("<@U123ABC|alice>", "U123ABC"),  # Slack with name
    ("<@U123ABC>", "U123ABC"),  # Slack
    ("<@123456789>", "123456789"),  # Discord
    ("<@!123456789>", "123456789"),  # Discord nickname mention
    ('"@Jane Doe"', "Jane Doe"),
    ("bob", "bob"),
    ("member:@carol", "carol"),
])
def test_member(text: str, value: str) -> None:
    assert one(MEMBER, text) == value


@pytest.mark.parametrize("text", ["@", "<#C123>", "#general", "<@>", "<@U1", '"two words"'])
def test_member_errors(text: str) -> None:
    err = fails((MEMBER,), text)
    assert err.option == "member" and "like @alex" in err.message


@pytest.mark.parametrize(("text", "value"), [
    ("#general", "general"),
    ("<#C123ABC|general>", "C123ABC"),  # Slack
    ("<#C123ABC>", "C123ABC"),
    ("<#987654321>", "987654321"),  # Discord
    ("entries-2026", "entries-2026"),
])
def test_channel(text: str, value: str) -> None:
    assert one(CHANNEL, text) == value


@pytest.mark.parametrize("text", ["#", "<@U123>", '"two words"', "<#C1"])
def test_channel_errors(text: str) -> None:
    err = fails((CHANNEL,), text)
    assert err.option == "channel" and "like #general" in err.message


def test_time() -> None:
    got = one(START, '"friday 18:00"')
    assert got == datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    assert one(START, 'start:"tomorrow 9:00"') == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    assert one(START, "2d") == NOW + timedelta(days=2)


def test_time_errors_name_the_option() -> None:
    err = fails((START,), "yesterday")
    assert err.option == "start" and err.message.startswith("start: I couldn't read")
    err = fails((START,), '"today 8:00"')
    assert err.option == "start" and "in the past" in err.message


def test_duration() -> None:
    assert one(SPAN, "1d12h") == timedelta(days=1, hours=12)
    assert one(SPAN, '"3 days"') == timedelta(days=3)
    err = fails((SPAN,), "0d")
    assert err.option == "span" and "longer than zero" in err.message


@pytest.mark.parametrize(("text", "value"), [
    ("week", "week"), ("MONTH", "month"), ("all_time", "all_time"), ('"all time"', "all_time"),
    ("all-time", "all_time"),
])
def test_choice(text: str, value: str) -> None:
    assert one(PERIOD, text) == value


def test_choice_error_suggests_the_closest() -> None:
    err = fails((PERIOD,), "mont")
    assert err.option == "period"
    assert "one of: week, month, all_time" in err.message
    assert "Did you mean month?" in err.message
    err = fails((PERIOD,), "zzz")
    assert "Did you mean" not in err.message


def test_convert_directly() -> None:
    assert convert(PAGE, "5", tz=NY, now=NOW) == 5
    with pytest.raises(ParseError) as info:
        convert(PAGE, "x", tz=NY, now=NOW)
    assert info.value.usage is None


# --- declarations --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"name": "Bad Name", "type": T.STRING},
    {"name": "x" * 33, "type": T.STRING},
    {"name": "kind", "type": T.CHOICE},
    {"name": "kind", "type": T.STRING, "choices": ("a",)},
    {"name": "n", "type": T.INTEGER, "min_value": 5, "max_value": 1},
    {"name": "s", "type": T.STRING, "max_length": 0},
])
def test_bad_declarations_fail_early(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OptionSpec(description="d", **kwargs)  # type: ignore[arg-type]


def test_option_spec_is_frozen_and_hashable() -> None:
    spec = OptionSpec("x", T.STRING, "d")
    with pytest.raises(AttributeError):
        spec.name = "y"  # type: ignore[misc]
    assert hash(spec) == hash(OptionSpec("x", T.STRING, "d"))


def test_parse_error_fields() -> None:
    err = ParseError("Bad.", option="page", usage="/x <page>")
    assert (err.message, err.option, err.usage) == ("Bad.", "page", "/x <page>")
    assert str(err) == "Bad.\nUsage: /x <page>"
    assert str(ParseError("Bad.")) == "Bad."


# --- properties ----------------------------------------------------------------------------

ALL_TYPES = (
    OptionSpec("text", T.STRING, "Text", max_length=30),
    PAGE, AMOUNT,
    OptionSpec("flag", T.BOOLEAN, "Flag", required=False),
    OptionSpec("member", T.MEMBER, "Who", required=False),
    OptionSpec("channel", T.CHANNEL, "Where", required=False),
    OptionSpec("start", T.TIME, "When", required=False),
    OptionSpec("span", T.DURATION, "How long", required=False),
    OptionSpec("period", T.CHOICE, "Period", required=False, choices=("week", "month")),
)
PIECES = ['"', "'", "“", "”", "‘", "’", "\\", " ", ":", "=", "@", "#", "<@U1|a>", "<#C1>",
          "text", "page", "amount", "flag", "start", "span", "period", "member:", "page:",
          "x", "5", "-1", "1e999", "nan", "yes", "tomorrow", "5d", "week", "https://x"]
texts = st.one_of(st.text(max_size=80),
                  st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
                  st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(text=texts)
def test_tokenize_never_crashes(text: str) -> None:
    try:
        tokens = tokenize(text)
    except ParseError as exc:
        assert exc.message.startswith("Unclosed quote")
        return
    assert all(isinstance(t, Token) and 0 <= t.bare <= len(t) for t in tokens)


@given(words=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=15),
                      max_size=6))
def test_tokenize_round_trips_quoted_words(words: list[str]) -> None:
    assert tokenize(" ".join(quote(w) for w in words)) == words


@given(text=st.text(st.characters(blacklist_characters='"“”„\'‘\\'), max_size=60))
def test_tokenize_without_quotes_is_split(text: str) -> None:
    assert tokenize(text) == text.split()


@settings(max_examples=400, deadline=None)
@given(text=texts)
def test_bind_returns_valid_values_or_parse_error(text: str) -> None:
    try:
        got = parse_command_text(text, ALL_TYPES, USAGE, NY, NOW)
    except ParseError as exc:
        assert exc.message and exc.usage == USAGE
        return
    assert set(got) == {s.name for s in ALL_TYPES}
    assert isinstance(got["text"], str) and len(got["text"]) <= 30
    assert isinstance(got["page"], int) and 1 <= got["page"] <= 100
    assert isinstance(got["amount"], float) and math.isfinite(got["amount"])
    assert got["flag"] in (None, True, False)
    assert got["start"] is None or (isinstance(got["start"], datetime) and got["start"] > NOW)
    assert got["span"] is None or isinstance(got["span"], timedelta)
    assert got["period"] in (None, "week", "month")


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.one_of(st.text(max_size=20), st.sampled_from(PIECES)), max_size=10))
def test_bind_on_arbitrary_token_lists(tokens: list[str]) -> None:
    try:
        bind(ALL_TYPES, tokens, usage=USAGE, tz=NY, now=NOW)
    except ParseError as exc:
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_named_values_in_any_order_bind_back(data: st.DataObject) -> None:
    # Visible text: invisible characters are cleaned away (engine/text.py).
    visible = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc", "Cf"),
                            blacklist_characters="\u115f\u1160\u3164\uffa0")
    text = data.draw(st.text(visible, min_size=1, max_size=30).filter(str.strip))
    values: dict[str, object] = {
        "text": text.strip(),
        "page": data.draw(st.integers(1, 100)),
        "amount": data.draw(st.floats(0.001, 1_000_000)),
        "flag": data.draw(st.sampled_from([True, False, None])),
        "member": data.draw(st.sampled_from(["alice", "U1", None])),
        "channel": data.draw(st.sampled_from(["general", "C9", None])),
        "span": data.draw(st.sampled_from([timedelta(hours=2), timedelta(days=3), None])),
        "period": data.draw(st.sampled_from(["week", "month", None])),
        "start": None,
    }
    flag = {True: "yes", False: "off"}
    span = {timedelta(hours=2): "2h", timedelta(days=3): '"3 days"'}
    member = "<@U1>" if values["member"] == "U1" else f"@{values['member']}"
    rendered = {
        "text": quote(str(values["text"])), "page": str(values["page"]),
        "amount": repr(values["amount"]), "member": member,
        "channel": f"#{values['channel']}", "period": str(values["period"]).upper(),
        "flag": flag.get(values["flag"], ""),  # type: ignore[arg-type]
        "span": span.get(values["span"], ""),  # type: ignore[arg-type]
    }
    parts = [f"{name}:{rendered[name]}" for name, value in values.items() if value is not None]
    parts = data.draw(st.permutations(parts))
    assert parse_command_text(" ".join(parts), ALL_TYPES, USAGE, NY, NOW) == values


def test_long_input_is_linear() -> None:
    # Many unclosed apostrophes must not make tokenizing quadratic.
    tokens = tokenize("'a " * 20_000)
    assert len(tokens) == 20_000
