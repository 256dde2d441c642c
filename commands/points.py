"""/points history, award and deduct."""

from __future__ import annotations

from commands.members import target_ref
from commands.parsing import OptionSpec as O
from commands.parsing import OptionType as T
from commands.render import history_card
from commands.spec import Command, Context, Reply
from engine.wording import plural

__all__ = ["COMMANDS"]


async def history(ctx: Context) -> Reply:
    target = ctx.str_arg("member")
    lines = await ctx.engine.points_history(ctx.member, target, limit=15)
    return Reply(history_card(target or ctx.member.display_name or ctx.member.user_id, lines))


async def _change(ctx: Context, sign: int) -> Reply:
    target = target_ref(ctx)
    assert target is not None
    amount = int(ctx.args["amount"])  # type: ignore[call-overload]
    line = await ctx.engine.award_points(ctx.member, target, sign * amount,
                                         str(ctx.args["reason"]))
    verb = "Awarded" if sign > 0 else "Deducted"
    return Reply.text(f"{verb} {plural(amount, 'point')} {'to' if sign > 0 else 'from'} "
                      f"<@{target.user_id}> ({ctx.args['reason']}). "
                      f"New balance: {line.balance_after}.")


async def award(ctx: Context) -> Reply:
    return await _change(ctx, 1)


async def deduct(ctx: Context) -> Reply:
    return await _change(ctx, -1)


_CHANGE = (O("member", T.MEMBER, "Who"),
           O("amount", T.INTEGER, "Points", min_value=1, max_value=100_000),
           O("reason", T.STRING, "Why (recorded in the ledger)", max_length=300))

COMMANDS: tuple[Command, ...] = (
    Command("history", "Recent points changes", history, group="points", answers=True,
            options=(O("member", T.MEMBER, "A member (default: you)", required=False),)),
    Command("award", "Award points", award, group="points", moderator=True, options=_CHANGE),
    Command("deduct", "Deduct points", deduct, group="points", moderator=True, options=_CHANGE),
)
