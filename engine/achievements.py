"""Achievements and badges from a data catalog, unlocked in the transaction that earns them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from engine.context import Tx, Unlock
from engine.errors import InvalidInput
from engine.ledger import Posting, balance, post
from engine.topten import announce_entries
from storage.sql.achievement_holders import add_holder
from storage.sql.ledger import balances_of
from storage.sql.member_page import stat_value, top_stat_value
from storage.sql.progress import achievements_of, streaks_of, upsert_add
from storage.tables import Achievement, Badge

__all__ = [
    "AchievementDef",
    "Catalog",
    "Progress",
    "bump_stat",
    "bump_stats",
    "check",
    "check_values",
    "earned",
    "progress",
    "settle",
    "source_of",
    "unit_stat",
]

KINDS = ("count", "first", "threshold", "streak", "cumulative")
RARITIES = ("common", "rare", "epic", "legendary")
STATS = (
    "entries", "votes_cast", "votes_received", "wins", "podiums", "featured",
    "goals_reached", "progress_logs", "progress_total", "challenges_joined",
)  # fmt: skip
# Counters kept per unit of measure, "progress_total:km": amounts of different units
# (10 km and 45 minutes) never add up. A criterion on one reads the unit with the most.
PER_UNIT = ("progress_total",)


def unit_stat(stat: str, unit: str | None) -> str:
    """The counter of `stat` for one unit of measure ("progress_total:km")."""
    return f"{stat}:{(unit or '').strip().casefold() or 'units'}"


def source_of(stat: str) -> str:
    """What a counter feeds: its criterion's source ("progress_total:km" feeds
    "progress_total")."""
    return stat.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class AchievementDef:
    key: str
    name: str
    description: str
    kind: str
    target: float
    stat: str | None = None
    rarity: str = "common"
    points: int = 0
    badge: str = "🏅"
    secret: bool = False
    repeatable: bool = False
    requires: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """What the criterion reads: a stat name, 'points' or 'streak'."""
        if self.kind == "threshold":
            return "points"
        if self.kind == "streak":
            return "streak"
        return str(self.stat)


@dataclass
class Catalog:
    """All achievement definitions, indexed by what they read."""

    defs: dict[str, AchievementDef]
    by_source: dict[str, list[AchievementDef]] = field(default_factory=dict)
    dependents: dict[str, list[AchievementDef]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d in self.defs.values():
            self.by_source.setdefault(d.source, []).append(d)
            for req in d.requires:
                self.dependents.setdefault(req, []).append(d)

    @classmethod
    def from_data(cls, raw: Iterable[dict[str, Any]]) -> Catalog:
        defs: dict[str, AchievementDef] = {}
        for item in raw:
            d = AchievementDef(
                key=str(item["key"]),
                name=str(item["name"]),
                description=str(item.get("description", "")),
                kind=str(item["kind"]),
                target=float(item.get("target", 1)),
                stat=item.get("stat"),
                rarity=str(item.get("rarity", "common")),
                points=int(item.get("points", 0)),
                badge=str(item.get("badge", "🏅")),
                secret=bool(item.get("secret", False)),
                repeatable=bool(item.get("repeatable", False)),
                requires=tuple(item.get("requires", ())),
            )
            _validate(d, defs)
            defs[d.key] = d
        for d in defs.values():
            missing = [r for r in d.requires if r not in defs]
            if missing:
                raise InvalidInput(f"Achievement '{d.key}' requires unknown {missing}.")
        return cls(defs)


def _validate(d: AchievementDef, seen: dict[str, AchievementDef]) -> None:
    if d.key in seen:
        raise InvalidInput(f"Achievement '{d.key}' is defined twice.")
    if d.kind not in KINDS:
        raise InvalidInput(f"Achievement '{d.key}': kind must be one of {', '.join(KINDS)}.")
    if d.rarity not in RARITIES:
        raise InvalidInput(f"Achievement '{d.key}': rarity must be one of {', '.join(RARITIES)}.")
    if d.kind in ("count", "first", "cumulative") and d.stat not in STATS:
        raise InvalidInput(f"Achievement '{d.key}': stat must be one of {', '.join(STATS)}.")
    if d.target <= 0:
        raise InvalidInput(f"Achievement '{d.key}': target must be positive.")


@dataclass(frozen=True, slots=True)
class Progress:
    definition: AchievementDef
    value: float
    unlocked: bool
    times: int

    @property
    def label(self) -> str:
        return f"{_fmt(min(self.value, self.definition.target))}/{_fmt(self.definition.target)}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def earned(d: AchievementDef, value: float) -> int:
    """How many times a member with `value` of the achievement's source has earned it:
    once at the target, or once per full target when it repeats."""
    return int(value // d.target) if d.repeatable else int(value >= d.target)


async def bump_stat(tx: Tx, member_id: int, stat: str, amount: float = 1.0) -> None:
    """Add to a member's counter and unlock whatever it completes."""
    await bump_stats(tx, [(member_id, stat, amount)])


async def bump_stats(tx: Tx, changes: Sequence[tuple[int, str, float]]) -> None:
    """Add to several counters in one statement, then unlock what each rise completes."""
    totals: dict[tuple[int, str], float] = {}
    for member_id, stat, amount in changes:
        totals[(member_id, stat)] = totals.get((member_id, stat), 0.0) + amount
    if not totals:
        return
    rows = await upsert_add(tx.session, "member_stats", ("community_id", "member_id", "stat"),
                            "value", [(tx.community_id, m, s, amount)
                                      for (m, s), amount in sorted(totals.items())])
    now = {(int(m), s): float(v) for _, m, s, v in rows}
    # A per-unit counter feeds its criterion with that unit's total: the others were
    # checked when they rose.
    await check_values(tx, {(m, source_of(s)): now[(m, s)]
                            for (m, s), amount in totals.items() if amount > 0})


async def check_values(tx: Tx, values: Mapping[tuple[int, str], float]) -> None:
    """Unlock what these members' new values (by member and source) complete: one read of
    the achievements they hold, then `check` for the few with something to unlock."""
    candidates = {(m, source): v for (m, source), v in values.items()
                  if any(earned(d, v) for d in tx.catalog.by_source.get(source, ()))}
    if not candidates:
        return
    have = await achievements_of(tx.session, tx.community_id,
                                 sorted({m for m, _ in candidates}))
    for (member_id, source), value in sorted(candidates.items()):
        if any(earned(d, value) > have.get((member_id, d.key), 0)
               for d in tx.catalog.by_source[source]):
            await check(tx, member_id, [source], known={source: value})


async def source_value(tx: Tx, member_id: int, source: str) -> float:
    if source == "points":
        known = tx.moves.after.get(member_id)
        return float(known if known is not None else await balance(tx, member_id))
    if source == "streak":
        streak = (await streaks_of(tx.session, tx.community_id, [member_id])).get(member_id)
        return float(streak[1] if streak else 0)
    if source in PER_UNIT:  # the unit with the most
        value = await top_stat_value(tx.session, tx.community_id, member_id, f"{source}:")
        return float(value or 0)
    value = await stat_value(tx.session, tx.community_id, member_id, source)
    return float(value or 0)


async def check(tx: Tx, member_id: int, sources: Sequence[str],
                known: dict[str, float] | None = None) -> list[AchievementDef]:
    """Unlock every achievement reading `sources` whose criterion the member now meets.

    Rewards move points, which can complete point thresholds and dependants in turn;
    the loop runs until nothing more unlocks. `known`: values the caller just read.
    """
    unlocked: list[AchievementDef] = []
    pending = list(dict.fromkeys(sources))
    values: dict[str, float] = {}
    fresh = dict(known or {})
    while pending:
        source = pending.pop(0)
        values.pop(source, None)
        for d in tx.catalog.by_source.get(source, ()):
            if d.source not in values:
                values[d.source] = (fresh.pop(d.source) if d.source in fresh
                                    else await source_value(tx, member_id, d.source))
            if await _try_unlock(tx, member_id, d, values[d.source]):
                unlocked.append(d)
                if d.points and "points" not in pending:
                    pending.append("points")
                for dep in tx.catalog.dependents.get(d.key, ()):
                    if dep.source not in pending:
                        pending.append(dep.source)
    return unlocked


async def settle(tx: Tx) -> None:
    """Unlock point thresholds for every member a posting of this transaction paid, then
    announce whoever rose into the all-time top 10.

    Called once an operation's own work is done, still inside its transaction, so a
    threshold crossed by any posting (a vote received, a placement) unlocks with it.
    """
    while tx.moves.raised:
        # A threshold's reward is a posting too: the loop runs until none is left.
        raised = sorted(tx.moves.raised)
        tx.moves.raised.clear()
        known = {m: tx.moves.after.get(m) for m in raised}
        missing = [m for m, v in known.items() if v is None]
        if missing:
            known.update(await balances_of(tx.session, tx.community_id, "all", missing))
        await check_values(tx, {(m, "points"): float(v or 0) for m, v in known.items()})
    # Last: a threshold's reward may have lifted the member further.
    await announce_entries(tx)


async def _try_unlock(tx: Tx, member_id: int, d: AchievementDef, value: float) -> bool:
    times = earned(d, value)
    if times == 0:
        return False
    row = await tx.session.get(Achievement, (tx.community_id, member_id, d.key))
    have = row.times if row is not None else 0
    if have >= times or not await _requirements_met(tx, member_id, d):
        return False
    if row is None:
        row = Achievement(community_id=tx.community_id, member_id=member_id, key=d.key, times=0)
        tx.session.add(row)
    if have == 0:  # a new holder: rarity's count (writes of a community run one at a time)
        await add_holder(tx.session, tx.community_id, d.key)
    for n in range(have + 1, times + 1):
        row.times = n
        row.unlocked_at = tx.now
        await _grant(tx, member_id, d, n)
    await tx.session.flush()
    return True


async def _requirements_met(tx: Tx, member_id: int, d: AchievementDef) -> bool:
    if not d.requires:
        return True
    have = await tx.session.scalar(
        select(func.count()).where(
            Achievement.community_id == tx.community_id,
            Achievement.member_id == member_id,
            Achievement.key.in_(d.requires),
            Achievement.times > 0,
        )
    )
    return int(have or 0) == len(d.requires)


async def _grant(tx: Tx, member_id: int, d: AchievementDef, times: int) -> None:
    tx.session.add(
        Badge(
            community_id=tx.community_id,
            member_id=member_id,
            key=d.key,
            name=d.name,
            icon=d.badge,
            reason=d.description,
            awarded_at=tx.now,
        )
    )
    if d.points:
        await post(
            tx,
            [
                Posting(
                    member_id=member_id,
                    delta=d.points,
                    reason="achievement",
                    key=f"ach:{d.key}:{member_id}:{times}",
                    reference=f"achievement:{d.key}",
                )
            ],
        )
    # Announced with whatever else this transaction unlocks, in one post before the
    # commit (engine/achievement_posts.py).
    tx.unlocks.append(Unlock(member_id, d.key, times))


async def progress(tx: Tx, member_id: int, *, include_secret: bool = False) -> list[Progress]:
    """Progress toward each achievement the member may see (secret ones once earned)."""
    held = await achievements_of(tx.session, tx.community_id, [member_id])
    values: dict[str, float] = {}
    result: list[Progress] = []
    for d in tx.catalog.defs.values():
        times = held.get((member_id, d.key), 0)
        if d.secret and times == 0 and not include_secret:
            continue
        if d.source not in values:
            values[d.source] = await source_value(tx, member_id, d.source)
        result.append(Progress(d, values[d.source], times > 0, times))
    return result
