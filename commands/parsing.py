"""Slash-command text, platform-neutral: split it into tokens and bind them to options.

Slack (and the console) hand us one string, e.g.
``/challenge submit dreamscapes "Night garden" https://x.y``. `tokenize` splits it the
way a member expects; `bind` matches the tokens to declared `OptionSpec`s and converts
each value to its type. Discord delivers typed options already and skips this module
except for the declarations.

Binding rules:

* ``name:value`` or ``name=value`` sets an option by name (case-insensitive, ``-`` and
  ``_`` alike); the value may be quoted: ``title:"Night garden"``.
* Other tokens are positional: each fills the first option, in declared order, that has
  no value yet. An option given twice (by name, or by position and then by name) is an
  error rather than a silent overwrite.
* A token whose ``word:`` prefix is not an option is an error ("Unknown option"),
  except URLs (``https://...``, ``mailto:...``) and quoted tokens: ``"Re:Zero"`` is text.
* The result has a key for every declared option; options not given are None.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo

from commands.timeparse import TimeParseError, parse_duration, parse_time
from engine.ids import INT64_MAX
from engine.text import clean_text

__all__ = [
    "OptionSpec",
    "OptionType",
    "ParseError",
    "Token",
    "bind",
    "closest",
    "convert",
    "parse_command_text",
    "shorten",
    "tokenize",
]


class ParseError(Exception):
    """Command text we cannot use. `message` tells the member what to fix.

    `option` names the option at fault (None when it is about the whole command);
    `usage` is the command's usage line, shown under the message by the caller.
    """

    def __init__(self, message: str, *, option: str | None = None,
                 usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message}\nUsage: {self.usage}" if self.usage else self.message


class OptionType(Enum):
    """What an option's value is; decides conversion here and the Discord option type."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    MEMBER = "member"
    CHANNEL = "channel"
    TIME = "time"
    DURATION = "duration"
    CHOICE = "choice"


# Discord's rule for option names (lowercase, 1-32 characters); the strictest platform wins.
_OPTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One declared option of a command."""

    name: str
    type: OptionType
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        # Declaration mistakes fail at import time, not when a member hits them.
        if not _OPTION_NAME.fullmatch(self.name):
            raise ValueError(f"option name {self.name!r}: use lowercase letters, digits, _")
        if self.type is OptionType.CHOICE and not self.choices:
            raise ValueError(f"option {self.name!r}: a CHOICE needs choices")
        if self.choices and self.type is not OptionType.CHOICE:
            raise ValueError(f"option {self.name!r}: choices only apply to CHOICE")
        if (self.min_value is not None and self.max_value is not None
                and self.min_value > self.max_value):
            raise ValueError(f"option {self.name!r}: min_value > max_value")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"option {self.name!r}: max_length must be at least 1")


# --- tokenizing ----------------------------------------------------------------------------

class Token(str):
    """A token; `bare` is how many leading characters were typed unquoted and unescaped.

    `bind` only reads ``name:value`` when the ``name:`` part is bare, so quoting a token
    ("Re:Zero") keeps it as text. Being a str, a Token works anywhere a str does.
    """

    bare: int

    def __new__(cls, text: str, bare: int | None = None) -> Token:
        token = super().__new__(cls, text)
        token.bare = len(text) if bare is None else bare
        return token


# Phones turn " into “ or ”, and some keyboards produce „; any of them opens, any closes.
_DOUBLE = frozenset('"“”„')
_SINGLE_OPEN = frozenset("'‘")
_SINGLE_CLOSE = frozenset("'’")
_QUOTES = _DOUBLE | _SINGLE_OPEN | _SINGLE_CLOSE
_ESCAPABLE = _QUOTES | {"\\"}


def _single_closers(text: str) -> list[int]:
    """For each index i, the first j >= i closing a single quote (-1 if none).

    A closer is ' or ’ followed by whitespace or the end and not backslash-escaped. Precomputed
    so that many unclosed apostrophes cost linear time, not quadratic.
    """
    n = len(text)
    escaped = [False] * n
    run = 0
    for i, c in enumerate(text):
        escaped[i] = run % 2 == 1
        run = run + 1 if c == "\\" else 0
    out = [-1] * (n + 1)
    for i in range(n - 1, -1, -1):
        is_closer = (text[i] in _SINGLE_CLOSE and not escaped[i]
                     and (i + 1 == n or text[i + 1].isspace()))
        out[i] = i if is_closer else out[i + 1]
    return out


def _unescape(chunk: str) -> str:
    """Inside quotes a backslash escapes a quote or a backslash; other backslashes stay."""
    out: list[str] = []
    i = 0
    while i < len(chunk):
        if chunk[i] == "\\" and i + 1 < len(chunk) and chunk[i + 1] in _ESCAPABLE:
            out.append(chunk[i + 1])
            i += 2
        else:
            out.append(chunk[i])
            i += 1
    return "".join(out)


def _snippet(text: str, start: int) -> str:
    shown = text[start:start + 30]
    return shown + ("…" if len(text) - start > 30 else "")


def tokenize(text: str) -> list[str]:
    """Split command text into tokens (each a `Token`).

    Whitespace separates; "double", “curly” and 'single' quotes group words and may join
    text around them (``title:"Night garden"`` is one token); a backslash escapes a quote.
    An unclosed double quote raises ParseError. A single quote only opens at the start of
    a token (or right after ``name:``) and is kept as an apostrophe when nothing closes it,
    so ``Don't`` and ``'90s`` need no quoting.
    """
    closers = _single_closers(text)
    tokens: list[str] = []
    buf: list[str] = []
    in_token = False
    bare = 0  # length of the unquoted, unescaped prefix of the current token
    bare_open = True  # still in that prefix
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            if in_token:
                tokens.append(Token("".join(buf), bare))
                buf, in_token, bare, bare_open = [], False, 0, True
            i += 1
            continue
        if c == "\\" and i + 1 < n and text[i + 1] in _ESCAPABLE:
            buf.append(text[i + 1])
            in_token, bare_open = True, False
            i += 2
            continue
        if c in _DOUBLE:
            j = i + 1
            while j < n and text[j] not in _DOUBLE:
                j += 2 if text[j] == "\\" and j + 1 < n and text[j + 1] in _ESCAPABLE else 1
            if j >= n:
                raise ParseError(
                    f"Unclosed quote: {_snippet(text, i)} needs a closing \". "
                    "To type a quote mark itself, put a \\ before it.")
            buf.append(_unescape(text[i + 1:j]))
            in_token, bare_open = True, False
            i = j + 1
            continue
        # A single quote opens only where a value starts, so apostrophes stay literal.
        opens_here = not in_token or (bare_open and bool(buf) and buf[-1] in ":=")
        if c in _SINGLE_OPEN and opens_here and closers[i + 1] != -1:
            j = closers[i + 1]
            buf.append(_unescape(text[i + 1:j]))
            in_token, bare_open = True, False
            i = j + 1
            continue
        buf.append(c)
        in_token = True
        if bare_open:
            bare += 1
        i += 1
    if in_token:
        tokens.append(Token("".join(buf), bare))
    return tokens


# --- converting ----------------------------------------------------------------------------

_TRUE = frozenset(("yes", "y", "true", "on", "1"))
_FALSE = frozenset(("no", "n", "false", "off", "0"))
# ASCII digits only: other scripts' digits get a clear refusal (see _not_a_number).
_INTEGER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,30})", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:e[+-]?\d{1,4})?",
                     re.IGNORECASE | re.ASCII)
# <@U123|name>, <@U123>, <@123>, <@!123>; <#C123|name>, <#123>
_MENTION = re.compile(r"<@!?([A-Za-z0-9]+)(?:\|[^<>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#([A-Za-z0-9]+)(?:\|[^<>]*)?>")
_PLAIN_NAME = re.compile(r"[\w.\-']{1,100}")
_URL_SCHEMES = frozenset(("http", "https", "ftp", "mailto", "tel", "steam", "spotify"))


def _fmt_number(value: float) -> str:
    return f"{value:g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))


def _check_range(spec: OptionSpec, value: float, usage: str | None) -> None:
    low, high = spec.min_value, spec.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"between {_fmt_number(low)} and {_fmt_number(high)}"
        elif low is not None:
            bounds = f"at least {_fmt_number(low)}"
        else:
            assert high is not None
            bounds = f"at most {_fmt_number(high)}"
        raise ParseError(f"{spec.name} must be {bounds} (got {_fmt_number(value)}).",
                         option=spec.name, usage=usage)


def closest(word: str, options: Sequence[str]) -> str | None:
    """The option `word` was most likely meant to be (a typo's fix), if any is close."""
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def _norm_choice(text: str) -> str:
    return re.sub(r"[\s\-_]+", "_", text.strip().lower())


def convert(spec: OptionSpec, raw: str, *, tz: ZoneInfo, now: datetime,
            usage: str | None = None) -> object:
    """`raw` (the text typed for `spec`) as the option's value; ParseError if unusable."""

    def fail(message: str) -> ParseError:
        return ParseError(message, option=spec.name, usage=usage)

    kind = spec.type
    text = clean_text(raw, multiline=True)
    if kind is OptionType.STRING:
        # Optional strings may be empty on purpose ("role:''" clears a setting).
        if not text and spec.required:
            raise fail(f"{spec.name} can't be empty.")
        if spec.max_length is not None and len(text) > spec.max_length:
            raise fail(f"{spec.name} is too long: {len(text)} characters, "
                       f"at most {spec.max_length}.")
        return text
    if not text:
        raise fail(f"{spec.name} needs a value.")
    if kind is OptionType.INTEGER:
        if not _INTEGER.fullmatch(text):
            raise fail(_not_a_number(spec.name, text, "a whole number, like 3"))
        number = int(text.replace(",", ""))
        _check_range(spec, number, usage)
        if abs(number) > INT64_MAX:  # options without bounds: what the database holds
            raise fail(f"{spec.name} is too large.")
        return number
    if kind is OptionType.NUMBER:
        value = float(text) if _NUMBER.fullmatch(text) else math.nan
        if math.isnan(value):
            raise fail(_not_a_number(spec.name, text, "a number, like 2.5"))
        if math.isinf(value):
            raise fail(f"{spec.name} is too large.")
        _check_range(spec, value, usage)
        return value
    if kind is OptionType.BOOLEAN:
        word = text.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise fail(f"{spec.name} must be yes or no (got '{shorten(text)}').")
    if kind is OptionType.MEMBER:
        m = _MENTION.fullmatch(text)
        if m:
            return m[1]
        name = text.removeprefix("@").strip()
        # "@Jane Doe" (quoted) may hold spaces; a bare word must look like a user name.
        decorated = "<" in name or ">" in name or name.startswith("#")
        shaped = text.startswith("@") or _PLAIN_NAME.fullmatch(name) is not None
        if name and not decorated and len(name) <= 100 and shaped:
            return name
        raise fail(f"{spec.name} must be a member, like @alex (got '{shorten(text)}').")
    if kind is OptionType.CHANNEL:
        m = _CHANNEL_MENTION.fullmatch(text)
        if m:
            return m[1]
        name = text.removeprefix("#")
        if _PLAIN_NAME.fullmatch(name):
            return name
        raise fail(f"{spec.name} must be a channel, like #general (got '{shorten(text)}').")
    if kind is OptionType.TIME:
        try:
            return parse_time(text, tz=tz, now=now)
        except TimeParseError as exc:
            raise fail(f"{spec.name}: {exc.message}") from None
    if kind is OptionType.DURATION:
        try:
            return parse_duration(text)
        except TimeParseError as exc:
            raise fail(f"{spec.name}: {exc.message}") from None
    if kind is OptionType.CHOICE:
        by_norm = {_norm_choice(c): c for c in spec.choices}
        choice = by_norm.get(_norm_choice(text))
        if choice is not None:
            return choice
        hint = closest(_norm_choice(text), list(by_norm))
        did_you_mean = f" Did you mean {by_norm[hint]}?" if hint else ""
        raise fail(f"{spec.name} must be one of: {', '.join(spec.choices)} "
                   f"(got '{shorten(text)}').{did_you_mean}")
    raise AssertionError(f"unhandled option type {kind}")


def _not_a_number(name: str, text: str, shape: str) -> str:
    if any(c.isdigit() and not c.isascii() for c in text):
        return f"{name} must be written with the digits 0-9 (got '{shorten(text)}')."
    return f"{name} must be {shape} (got '{shorten(text)}')."


def shorten(text: str, limit: int = 40) -> str:
    """`text` as quoted back in a message: at most `limit` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


# --- binding -------------------------------------------------------------------------------

_NAMED = re.compile(r"([A-Za-z][A-Za-z0-9_\-]*)([:=])")


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def _named(token: str, by_key: dict[str, OptionSpec], usage: str) -> tuple[OptionSpec, str] | None:
    """(spec, value) if `token` is ``name:value`` for a declared option, None if it is text."""
    m = _NAMED.match(token)
    if m is None or m.end() > getattr(token, "bare", len(token)):
        return None  # no name, or its ':' was quoted or escaped: plain text
    key, value = _key(m[1]), token[m.end():]
    spec = by_key.get(key)
    if spec is not None:
        return spec, value
    if m[2] == ":" and (value.startswith("//") or key in _URL_SCHEMES):
        return None  # a link, not an option
    names = [s.name for s in by_key.values()]
    hint = closest(key, names)
    known = f" Options: {', '.join(names)}." if names else " This command takes no options."
    did_you_mean = f" Did you mean {hint}?" if hint else ""
    raise ParseError(
        f"Unknown option '{m[1]}'.{did_you_mean}{known} To use a colon in text, put the text "
        "in quotes.", option=None, usage=usage)


def bind(specs: Sequence[OptionSpec], tokens: Sequence[str], *, usage: str, tz: ZoneInfo,
         now: datetime) -> dict[str, object]:
    """Match `tokens` to `specs` and convert each value; see the module docstring for rules.

    Returns {option name: value} with every declared option (None when not given).
    Raises ParseError naming the option and carrying `usage`.
    """
    by_key = {_key(s.name): s for s in specs}
    raw: dict[str, str] = {}
    extra: list[str] = []
    for token in tokens:
        named = _named(token, by_key, usage)
        if named is not None:
            spec, value = named
            if spec.name in raw:
                raise ParseError(
                    f"{spec.name} was given twice ('{shorten(raw[spec.name])}' and "
                    f"'{shorten(value)}').", option=spec.name, usage=usage)
            raw[spec.name] = value
            continue
        spec = next((s for s in specs if s.name not in raw), None)
        if spec is None:
            extra.append(str(token))
        else:
            raw[spec.name] = str(token)
    if extra:
        shown = ", ".join(f"'{shorten(t, 20)}'" for t in extra[:5]) + (
            ", …" if len(extra) > 5 else "")
        raise ParseError(
            f"Too many values: {shown} left over. Put text with spaces in quotes, like "
            "\"Night garden\".", option=None, usage=usage)
    values: dict[str, object] = {}
    for spec in specs:
        if spec.name in raw:
            values[spec.name] = convert(spec, raw[spec.name], tz=tz, now=now, usage=usage)
        else:
            values[spec.name] = None
    missing = [s for s in specs if s.required and s.name not in raw]
    if missing:
        names = [s.name for s in missing]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        what = f" ({missing[0].description})" if len(missing) == 1 else ""
        raise ParseError(f"Missing {listed}{what}.", option=missing[0].name, usage=usage)
    return values


def parse_command_text(text: str, specs: Sequence[OptionSpec], usage: str, tz: ZoneInfo,
                       now: datetime) -> dict[str, object]:
    """`tokenize` then `bind`; an unclosed quote's error carries `usage` too."""
    try:
        tokens = tokenize(text)
    except ParseError as exc:
        raise ParseError(exc.message, option=exc.option, usage=usage) from None
    return bind(specs, tokens, usage=usage, tz=tz, now=now)
