"""/settings: channels (achievement posts too), time zone, moderators, point rules,
reminders, digest, recurring, the web dashboard, API tokens."""

from __future__ import annotations

from commands.parsing import OptionSpec as O
from commands.parsing import OptionType as T
from commands.spec import Command, Context, Reply
from engine.api_tokens import ApiTokenView
from engine.members import moderators_label
from engine.messages import Card, Field
from engine.schedule import ScheduleSettings
from engine.views import CommunityView
from engine.wording import plural

__all__ = ["COMMANDS"]


async def channel(ctx: Context) -> Reply:
    kind = str(ctx.args["kind"])
    c = await ctx.engine.set_channel(ctx.member, kind, str(ctx.args["channel"]))
    if kind == "achievements":
        return Reply.text(f"Achievement posts go to {_achievements(c)}.", ephemeral=True)
    return Reply.text(f"Announcements go to <#{c.announce_channel}>, entries to "
                      f"<#{c.entries_channel or c.announce_channel}>.", ephemeral=True)


async def achievements(ctx: Context) -> Reply:
    c = await ctx.engine.set_achievement_posts(ctx.member, str(ctx.args["where"]))
    if c.achievement_posts == "off":
        return Reply.text("Achievement posts are off: achievements still unlock, with their "
                          "badges and points, without a post.", ephemeral=True)
    return Reply.text(f"Achievement posts go to {_achievements(c)}.", ephemeral=True)


def _achievements(c: CommunityView) -> str:
    """Where achievement posts go, in words."""
    if c.achievement_posts == "off":
        return "off"
    if c.achievement_posts == "channel":
        return _channel(c.achievements_channel)
    return f"{_channel(c.announce_channel)} (with announcements)"


async def timezone(ctx: Context) -> Reply:
    c = await ctx.engine.set_timezone(ctx.member, str(ctx.args["zone"]))
    return Reply.text(f"Time zone set to {c.timezone}: days, weeks and months now follow it.",
                      ephemeral=True)


async def moderators(ctx: Context) -> Reply:
    c = await ctx.engine.set_moderator_role(ctx.member, ctx.str_arg("role"))
    return Reply.text(f"Moderators are now {moderators_label(c.platform, c.moderator_role)}.",
                      ephemeral=True)


async def points(ctx: Context) -> Reply:
    c = await ctx.engine.set_point_rule(ctx.member, str(ctx.args["rule"]),
                                        int(ctx.args["value"]))  # type: ignore[call-overload]
    rule = str(ctx.args["rule"])
    return Reply.text(f"{rule} is now {plural(c.points[rule], 'point')}.", ephemeral=True)


def _channel(channel_id: str | None) -> str:
    # A mention: each platform shows the channel's name, not its id.
    return f"<#{channel_id}>" if channel_id else "not set"


async def show(ctx: Context) -> Reply:
    c = await ctx.engine.community(ctx.member.community)
    sched = await ctx.engine.schedule_settings(ctx.member.community)
    parked = await ctx.engine.delivery_problems(ctx.member.community)
    fields = [Field("Announcements", _channel(c.announce_channel)),
              Field("Entries", _channel(c.entries_channel or c.announce_channel)),
              Field("Achievements", _achievements(c)),
              Field("Time zone", c.timezone),
              Field("Moderators", moderators_label(c.platform, c.moderator_role)),
              Field("Point rules", ", ".join(f"{k}={v}" for k, v in sorted(c.points.items())),
                    inline=False),
              *_schedule_fields(sched)]
    if parked.count:
        # Announcements that failed for good: moderators see why (a deleted channel, a
        # missing permission) and can fix it; `laurels outbox retry ID` sends again.
        fields.append(Field("Undelivered announcements",
                            f"{parked.count} parked; latest (#{parked.latest_id}): "
                            f"{(parked.latest_error or 'unknown error')[:200]}", inline=False))
    else:
        fields.append(Field("Undelivered announcements", "none"))
    return Reply(Card(title="Settings", fields=tuple(fields)), ephemeral=True)


def _schedule_fields(s: ScheduleSettings) -> list[Field]:
    return [
        Field("Reminders", (", ".join(s.reminders) + " before deadlines") if s.reminders
              else "off"),
        Field("Weekly digest", s.digest or "off"),
        Field("Recurring", ", ".join(s.recurring) or "none (templates: "
              + ", ".join(k for k, _ in s.templates) + ")", inline=False),
    ]


async def reminders(ctx: Context) -> Reply:
    s = await ctx.engine.set_reminders(ctx.member, str(ctx.args["when"]))
    if not s.reminders:
        return Reply.text("Deadline reminders are off.", ephemeral=True)
    return Reply.text(f"Reminders go out {', '.join(s.reminders)} before each deadline.",
                      ephemeral=True)


async def digest(ctx: Context) -> Reply:
    # "monday 09:00" typed unquoted arrives as two values; quoted, as one.
    spec = " ".join(str(v) for v in (ctx.args["day"], ctx.args.get("time")) if v is not None)
    s = await ctx.engine.set_digest(ctx.member, spec)
    if not s.digest:
        return Reply.text("The weekly digest is off.", ephemeral=True)
    return Reply.text(f"The weekly digest goes out every {s.digest} ({ctx.tz.key}).",
                      ephemeral=True)


async def recurring(ctx: Context) -> Reply:
    template, on = str(ctx.args["template"]), ctx.args["state"] == "on"
    s = await ctx.engine.set_recurring(ctx.member, template, on)
    what = dict(s.templates).get(template.strip().lower(), template)
    if on:
        return Reply.text(f"Recurring challenge on: {what}. The next one is created and "
                          "announced on its own.", ephemeral=True)
    return Reply.text(f"Recurring challenge off: {what}.", ephemeral=True)


async def web(ctx: Context) -> Reply:
    on = ctx.args["state"] == "on"
    await ctx.engine.dashboard.set_web_setting(ctx.member, "public", on)
    if on:
        return Reply.text("The leaderboard, challenge, member and achievement pages of the "
                          "web dashboard are public now: anyone with their address can read "
                          "them.", ephemeral=True)
    return Reply.text("The web dashboard's pages are for signed-in members only now "
                      "(/dashboard).", ephemeral=True)


async def api_token(ctx: Context) -> Reply:
    action, name = str(ctx.args["action"]), ctx.str_arg("name")
    if action == "create":
        made = await ctx.engine.dashboard.create_api_token(ctx.member, name)
        base = f"/api/v1/communities/{made.community}"
        return Reply.text(
            f"API token **{made.view.name}** created. Copy it now: it is shown only this "
            f"once.\n`{made.token}`\nSend it as `Authorization: Bearer <token>` to "
            f"`{base}/...` (documentation: `/api/docs`). It reads this community and "
            f"writes as you. Revoke it with `/settings api-token revoke {made.view.name}`.",
            title="New API token", ephemeral=True)
    if action == "revoke":
        gone = await ctx.engine.dashboard.revoke_api_token(ctx.member, name or "")
        return Reply.text(f"API token **{gone.name}** ({gone.prefix}…) is revoked: requests "
                          "with it are refused from now on.", ephemeral=True)
    tokens = await ctx.engine.dashboard.api_tokens(ctx.member)
    if not tokens:
        return Reply.text("No API tokens. Create one with `/settings api-token create "
                          "[name]`.", ephemeral=True)
    return Reply(Card(title="API tokens", text="\n".join(_token_line(ctx, t) for t in tokens)),
                 ephemeral=True)


def _token_line(ctx: Context, t: ApiTokenView) -> str:
    used = (t.last_used_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M") if t.last_used_at
            else "never")
    return (f"**{t.name}** `{t.prefix}…` by {t.created_by}, created "
            f"{t.created_at.astimezone(ctx.tz).strftime('%Y-%m-%d')}, last used {used}")


RULES = ("entry_submitted", "early_entry", "early_entry_hours", "vote_cast",
         "vote_cast_daily_cap", "vote_received", "featured", "place_1", "place_2", "place_3",
         "place_4_to_10", "place_min_votes", "goal_joined", "goal_reached")

COMMANDS: tuple[Command, ...] = (
    Command("show", "Show this community's settings", show, group="settings", moderator=True),
    Command("channel", "Where announcements or entries are posted", channel, group="settings",
            moderator=True, options=(
                O("kind", T.CHOICE, "announcements, entries or achievements",
                  choices=("announcements", "entries", "achievements")),
                O("channel", T.CHANNEL, "The channel"))),
    Command("achievements", "Achievement posts with announcements, or off", achievements,
            group="settings", moderator=True, options=(
                O("where", T.CHOICE, "announcements (their own channel: /settings channel "
                  "achievements) or off", choices=("announcements", "off")),)),
    Command("timezone", "The community's time zone", timezone, group="settings",
            moderator=True, options=(O("zone", T.STRING, "e.g. Europe/Paris", max_length=64),)),
    Command("moderators", "The role or user group whose members moderate", moderators,
            group="settings", moderator=True,
            options=(O("role", T.STRING, "Role or user group (empty: admins only)",
                       required=False, max_length=200),)),
    Command("points", "Change a point rule", points, group="settings", moderator=True, options=(
        O("rule", T.CHOICE, "Which rule", choices=RULES),
        O("value", T.INTEGER, "Points", min_value=0, max_value=100_000))),
    Command("reminders", "Reminders before each deadline", reminders, group="settings",
            moderator=True, options=(
                O("when", T.STRING, "Spans before the deadline, e.g. 24h,1h, or off",
                  max_length=60),)),
    Command("digest", "When the weekly digest goes out", digest, group="settings",
            moderator=True, options=(
                O("day", T.STRING, "Weekday (community time), or off", max_length=30),
                O("time", T.STRING, "Time of day, e.g. 09:00", required=False,
                  max_length=10))),
    Command("web", "Whether the web dashboard's pages are public", web, group="settings",
            moderator=True, options=(
                O("setting", T.CHOICE, "Which web setting", choices=("public",)),
                O("state", T.CHOICE, "on or off", choices=("on", "off")))),
    Command("recurring", "Turn a recurring challenge template on or off", recurring,
            group="settings", moderator=True, options=(
                O("template", T.STRING, "Template key, e.g. weekly-sketch", max_length=60),
                O("state", T.CHOICE, "on or off", choices=("on", "off")))),
    Command("api-token", "Create, revoke or list tokens for the JSON API", api_token,
            group="settings", moderator=True, options=(
                O("action", T.CHOICE, "create, revoke or list",
                  choices=("create", "revoke", "list")),
                O("name", T.STRING, "The token's name (revoke: its name or prefix)",
                  required=False, max_length=60))),
)
