"""/settings: channels, time zone, moderators and point rules."""

from __future__ import annotations

from commands.parsing import OptionSpec as O
from commands.parsing import OptionType as T
from commands.spec import Command, Context, Reply
from engine.messages import Card, Field

__all__ = ["COMMANDS"]


async def channel(ctx: Context) -> Reply:
    c = await ctx.engine.set_channel(ctx.member, str(ctx.args["kind"]), str(ctx.args["channel"]))
    return Reply.text(f"Announcements go to <#{c.announce_channel}>, entries to "
                      f"<#{c.entries_channel or c.announce_channel}>.", ephemeral=True)


async def timezone(ctx: Context) -> Reply:
    c = await ctx.engine.set_timezone(ctx.member, str(ctx.args["zone"]))
    return Reply.text(f"Time zone set to {c.timezone}: days, weeks and months now follow it.",
                      ephemeral=True)


async def moderators(ctx: Context) -> Reply:
    c = await ctx.engine.set_moderator_role(ctx.member, ctx.str_arg("role"))
    who = f"members with {c.moderator_role}" if c.moderator_role else "administrators only"
    return Reply.text(f"Moderators are now {who}.", ephemeral=True)


async def points(ctx: Context) -> Reply:
    c = await ctx.engine.set_point_rule(ctx.member, str(ctx.args["rule"]),
                                        int(ctx.args["value"]))  # type: ignore[call-overload]
    return Reply.text(f"{ctx.args['rule']} is now {c.points[str(ctx.args['rule'])]} points.",
                      ephemeral=True)


async def show(ctx: Context) -> Reply:
    c = await ctx.engine.community(ctx.member.community)
    fields = [Field("Announcements", c.announce_channel or "not set"),
              Field("Entries", c.entries_channel or c.announce_channel or "not set"),
              Field("Time zone", c.timezone),
              Field("Moderator role", c.moderator_role or "administrators only"),
              Field("Point rules", ", ".join(f"{k}={v}" for k, v in sorted(c.points.items())),
                    inline=False)]
    return Reply(Card(title="Settings", fields=tuple(fields)), ephemeral=True)


RULES = ("entry_submitted", "early_entry", "early_entry_hours", "vote_cast",
         "vote_cast_daily_cap", "vote_received", "featured", "place_1", "place_2", "place_3",
         "place_4_to_10", "goal_joined", "goal_reached")

COMMANDS: tuple[Command, ...] = (
    Command("show", "Show this community's settings", show, group="settings", moderator=True),
    Command("channel", "Where announcements or entries are posted", channel, group="settings",
            moderator=True, options=(
                O("kind", T.CHOICE, "announcements or entries",
                  choices=("announcements", "entries")),
                O("channel", T.CHANNEL, "The channel"))),
    Command("timezone", "The community's time zone", timezone, group="settings",
            moderator=True, options=(O("zone", T.STRING, "e.g. Europe/Paris", max_length=64),)),
    Command("moderators", "The role or user group whose members moderate", moderators,
            group="settings", moderator=True,
            options=(O("role", T.STRING, "Role or user group (empty: admins only)",
                       required=False, max_length=200),)),
    Command("points", "Change a point rule", points, group="settings", moderator=True, options=(
        O("rule", T.CHOICE, "Which rule", choices=RULES),
        O("value", T.INTEGER, "Points", min_value=0, max_value=100_000))),
)
