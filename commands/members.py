"""/leaderboard, /profile, /badges, /achievements and /badge."""

from __future__ import annotations

from commands.parsing import OptionSpec as O
from commands.parsing import OptionType as T
from commands.render import achievements_card, badges_card, board_card, board_you, profile_card
from commands.sharing import answer
from commands.spec import Command, Context, Reply
from engine.ids import parse_id
from engine.refs import MemberRef

__all__ = ["COMMANDS", "target_ref"]


def target_ref(ctx: Context, name: str = "member") -> MemberRef | None:
    value = ctx.str_arg(name)
    if value is None:
        return None
    return MemberRef(ctx.member.community, value)


async def leaderboard(ctx: Context) -> Reply:
    board = await ctx.engine.leaderboard(ctx.member, ctx.str_arg("period") or "all",
                                         int(ctx.arg("page", 1)))
    you, you_shared = board_you(board)
    return answer(board_card(board), you=you, you_shared=you_shared)


async def profile(ctx: Context) -> Reply:
    target = ctx.str_arg("member")
    return Reply(profile_card(await ctx.engine.profile(ctx.member, target)))


async def badges(ctx: Context) -> Reply:
    target = ctx.str_arg("member")
    owned = await ctx.engine.badges(ctx.member, target)
    return Reply(badges_card(target or ctx.member.display_name or ctx.member.user_id, owned))


async def achievements(ctx: Context) -> Reply:
    return Reply(achievements_card(await ctx.engine.achievements(ctx.member)))


async def showcase(ctx: Context) -> Reply:
    ids: list[int] = []
    for name in ("badge1", "badge2", "badge3"):
        raw = ctx.str_arg(name)
        if raw is None:
            continue
        ids.append(parse_id(raw, "badge"))
    pinned = await ctx.engine.showcase(ctx.member, ids)
    if not pinned:
        return Reply.text("Your showcase is now empty.", ephemeral=True)
    return Reply.text("Showcase: " + " ".join(f"{b.icon} {b.name}" for b in pinned),
                      ephemeral=True)


async def award_badge(ctx: Context) -> Reply:
    target = target_ref(ctx)
    assert target is not None
    badge = await ctx.engine.award_badge(ctx.member, target, str(ctx.args["badge"]),
                                         str(ctx.args["reason"]))
    return Reply.text(f"Awarded {badge.icon} **{badge.name}** to <@{target.user_id}>.")


MEMBER = O("member", T.MEMBER, "A member (default: you)", required=False)

COMMANDS: tuple[Command, ...] = (
    Command("leaderboard", "The points leaderboard", leaderboard, answers=True, options=(
        O("period", T.CHOICE, "week, month or all time", required=False,
          choices=("week", "month", "all")),
        O("page", T.INTEGER, "Page", required=False, min_value=1, max_value=100000))),
    Command("profile", "Points, rank, streak, badges and challenges", profile, answers=True,
            options=(MEMBER,)),
    Command("badges", "Badges a member has earned", badges, answers=True,
            options=(MEMBER,)),
    Command("achievements", "Your progress toward each achievement", achievements,
            answers=True),
    Command("showcase", "Pin up to 3 of your badges to your profile", showcase, group="badge",
            options=(O("badge1", T.STRING, "Badge number", required=False, max_length=12),
                     O("badge2", T.STRING, "Badge number", required=False, max_length=12),
                     O("badge3", T.STRING, "Badge number", required=False, max_length=12))),
    Command("award", "Award a badge by hand", award_badge, group="badge", moderator=True,
            options=(O("member", T.MEMBER, "Who"),
                     O("badge", T.STRING, "Achievement key or a new badge name", max_length=100),
                     O("reason", T.STRING, "Why", max_length=300)),
            autocomplete={"badge": "badge"}),
)
