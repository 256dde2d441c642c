"""The console platform: members typing, reacting and moving the clock, in one terminal.

It is the quickest way to try Laurels (no tokens) and the backbone of scenario tests:
the same script always prints the same transcript.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.console.render import render_card
from bot.delivery import DeliveryWorker
from bot.platform import PostWindow
from bot.reactions import Reaction, ReactionDispatch, refusal_card
from commands.timeparse import TimeParseError, parse_duration
from commands.tree import execute_text
from engine.clock import AdjustableClock, ensure_utc
from engine.due import DueRunner
from engine.ids import as_id
from engine.messages import Button, Card
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from engine.text import clean_text
from engine.votes import VoteResult

__all__ = ["COMMUNITY", "MAX_CLOCK_JUMP", "ConsolePlatform", "ScriptError", "failure_note"]

COMMUNITY = CommunityRef("console", "local", "Console")
DEFAULT_CHANNEL = "general"

_SAY = re.compile(r"^@([\w.-]+):\s*(.*)$")
_REACT = re.compile(r"^@([\w.-]+)\s+([+-])(\S+)\s+#(\d+)\s*$")
_ROLE = re.compile(r"^@([\w.-]+)\s+is\s+(moderator|bot|member)\s*$")
_PRESS = re.compile(r"^@([\w.-]+)\s+press(?:es)?\s+\[?(.+?)\]?\s+#(\d+)\s*$")
# How far one clock line may move the clock: further is a typo (9999-12-31), and time far
# ahead leaves the engine's own date arithmetic no room.
MAX_CLOCK_JUMP = timedelta(days=5 * 365)


class ScriptError(Exception):
    """A script line that failed: an `expect` that did not hold, or a line not understood."""


def failure_note(exc: Exception) -> str:
    """How a line that raised (a bug, not bad input) is reported: short, on one line."""
    said = " ".join(str(exc).split())
    said = said if len(said) <= 200 else said[:200] + "…"
    return f"that line failed ({type(exc).__name__}{': ' + said if said else ''})"


@dataclass
class Posted:
    number: int
    channel: str  # "#name", or "@name" for a message one member alone sees
    text: str
    card: Card | None = None


@dataclass
class ConsolePlatform:
    """Drives the engine from console lines and prints what the bot says."""

    engine: Engine
    clock: AdjustableClock
    name = "console"
    out: Callable[[str], None] = print
    moderators: set[str] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)
    messages: dict[int, Posted] = field(default_factory=dict)
    last_output: list[str] = field(default_factory=list)
    # Runs what falls due when the clock moves (the engine's own runner by default).
    runner: DueRunner | None = None
    # What each nonce posted: the console is one process, so remembering is enough to
    # make a post idempotent (a repeated nonce returns the first message).
    by_nonce: dict[str, MessageRef] = field(default_factory=dict)
    _next: int = 1

    def __post_init__(self) -> None:
        if self.runner is None:
            self.runner = self.engine.due
        self.reactions = ReactionDispatch(self.engine)

    async def start(self) -> None:
        await self.engine.ensure_community(
            COMMUNITY, announce_channel="announcements", entries_channel="entries")
        assert self.runner is not None
        await self.runner.sweep()

    def member(self, name: str) -> MemberRef:
        return MemberRef(COMMUNITY, name, name, is_bot=name in self.bots,
                         is_admin=name in self.moderators)

    async def handle(self, line: str) -> None:
        """Run one script line; raises ScriptError for a failed expectation, a line not
        understood or a refused clock move. Anything else it raises is a bug."""
        line = clean_text(line, multiline=True)  # what a terminal cannot show goes first
        if not line or line.startswith("#"):
            return
        if line.startswith("expect "):
            self._expect(line[len("expect "):].strip())
            return
        self.last_output = []
        if line.startswith("clock "):
            await self._clock(line[len("clock "):].strip())
        elif m := _ROLE.match(line):
            self._role(m.group(1), m.group(2))
        elif m := _PRESS.match(line):
            await self._press(m.group(1), m.group(2), m.group(3))
        elif m := _REACT.match(line):
            await self._react(m.group(1), m.group(2) == "+", m.group(3), m.group(4))
        elif m := _SAY.match(line):
            await self._say(m.group(1), m.group(2))
        else:
            shown = line if len(line) <= 60 else line[:60] + "…"
            raise ScriptError(
                f"I don't understand '{shown}'. Lines look like '@alice: /challenge list', "
                "'@bob +👍 #3', '@alice press Share #4', '@mod is moderator', 'clock +2d' or "
                "'expect <text>'.")
        await self.deliver()

    def _expect(self, text: str) -> None:
        if not any(text in line for line in self.last_output):
            raise ScriptError(f"expected output containing {text!r}")

    def _role(self, name: str, role: str) -> None:
        self.moderators.discard(name)
        self.bots.discard(name)
        if role == "moderator":
            self.moderators.add(name)
        elif role == "bot":
            self.bots.add(name)
        self._print(f"* @{name} is now a {role}")

    async def _clock(self, arg: str) -> None:
        now = self.clock.now()
        try:
            if arg.startswith("+"):
                target = now + parse_duration(arg[1:])
            else:
                target = ensure_utc(datetime.fromisoformat(arg))
        except (TimeParseError, ValueError, OverflowError) as exc:
            raise ScriptError(f"bad clock line: {exc}") from exc
        if target < now:
            raise ScriptError(f"The clock only moves forward: it is {now:%Y-%m-%d %H:%M} UTC.")
        if target - now > MAX_CLOCK_JUMP:
            raise ScriptError(
                f"The clock moves at most {MAX_CLOCK_JUMP.days} days (about five years) "
                f"in one line; {target:%Y-%m-%d} is further. Move it in steps.")
        self._print(f"* clock is now {target.strftime('%Y-%m-%d %H:%M')} UTC")
        assert self.runner is not None
        await self.runner.run_until(self.clock, target, after_each=self.deliver)

    async def _say(self, name: str, text: str) -> None:
        if not text.startswith("/"):
            return  # plain chat: the bot listens to commands and reactions only
        reply = await execute_text(self.engine, self.member(name), text, DEFAULT_CHANNEL)
        if reply.ephemeral:
            self._post_private(name, reply.card)
        else:
            self._post(DEFAULT_CHANNEL, reply.card)

    async def _react(self, name: str, add: bool, emoji: str, digits: str) -> None:
        number = as_id(digits)  # None: digits of another script, or more than any count
        posted = self.messages.get(number) if number is not None else None
        if posted is None:
            shown = digits if len(digits) <= 20 else digits[:20] + "…"
            self._post_private(name, Card(text=f"⚠️ There is no message #{shown}."))
            return
        ref = MessageRef(posted.channel, str(posted.number))
        await self.reactions.handle(Reaction(self.member(name), ref, emoji, add), self)

    async def _press(self, name: str, label: str, digits: str) -> None:
        """A button pressed: its command runs for the presser, who alone sees the answer
        (as on Discord and Slack), unless it is a shared answer."""
        number = as_id(digits)
        posted = self.messages.get(number) if number is not None else None
        if posted is None or posted.card is None:
            shown = digits if len(digits) <= 20 else digits[:20] + "…"
            self._post_private(name, Card(text=f"⚠️ There is no message #{shown}."))
            return
        if posted.channel.startswith("@") and posted.channel != f"@{name}":
            self._post_private(name, Card(text=f"⚠️ Message #{posted.number} was for "
                                               f"{posted.channel} alone."))
            return
        button = _button(posted.card.buttons, label)
        if button is None:
            have = " ".join(f"[{b.label}]" for b in posted.card.buttons) or "none"
            self._post_private(name, Card(text=f"⚠️ Message #{posted.number} has no "
                                               f"[{label}] button (its buttons: {have})."))
            return
        channel = DEFAULT_CHANNEL if posted.channel.startswith("@") else posted.channel
        reply = await execute_text(self.engine, self.member(name), button.action, channel)
        if reply.shared:
            self._post(channel, reply.card)
        else:
            self._post_private(name, reply.card)

    async def refused(self, reaction: Reaction, why: str) -> None:
        """What Discord and Slack do too: the voter alone is told why."""
        self._post_private(reaction.member.user_id, refusal_card(why))

    async def recorded(self, reaction: Reaction, result: VoteResult) -> None:
        return None

    async def deliver(self) -> int:
        """Post every pending announcement through the same worker the real bot uses."""
        worker = DeliveryWorker(self.engine, {self.name: self})
        sent = 0
        while handled := await worker.run_once(limit=50):
            sent += handled
        return sent

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        if (done := self.by_nonce.get(nonce)) is None:
            done = self.by_nonce[nonce] = MessageRef(channel_id,
                                                     str(self._post(channel_id, card)))
        return done

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        if (done := self.by_nonce.get(nonce)) is None:
            done = self.by_nonce[nonce] = MessageRef(f"@{user_id}",
                                                     str(self._post_private(user_id, card)))
        return done

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return self.by_nonce.get(nonce)

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return self.by_nonce.get(nonce)

    def _number(self) -> int:
        n = self._next
        self._next += 1
        return n

    def _post(self, channel: str, card: Card) -> int:
        n = self._number()
        lines = render_card(card)
        if card.react_with:
            lines[-1] += f"  [{card.react_with} 0]"
        self.messages[n] = Posted(n, channel, "\n".join(lines), card)
        self._emit(f"#{n} [#{channel}] ", lines)
        return n

    def _post_private(self, name: str, card: Card) -> int:
        n = self._number()
        lines = render_card(card)
        self.messages[n] = Posted(n, f"@{name}", "\n".join(lines), card)
        self._emit(f"#{n} (to @{name}) ", lines)
        return n

    def _emit(self, prefix: str, lines: list[str]) -> None:
        self._print(prefix + lines[0])
        for more in lines[1:]:
            self._print("    " + more)

    def _print(self, text: str) -> None:
        self.last_output.append(text)
        self.out(text)


def _button(buttons: tuple[Button, ...], label: str) -> Button | None:
    """The button named `label` (any case), or the only one whose label starts so."""
    wanted = label.strip().casefold()
    exact = [b for b in buttons if b.label.casefold() == wanted]
    if exact:
        return exact[0]
    starting = [b for b in buttons if b.label.casefold().startswith(wanted)]
    return starting[0] if len(starting) == 1 else None
