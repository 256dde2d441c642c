"""/challenge: list, info, join, leave, submit, log, standings, and the moderator tools."""

from __future__ import annotations

from commands.parsing import OptionSpec as O
from commands.parsing import OptionType as T
from commands.render import challenge_card, challenge_list_card, challenge_you, standings_card
from commands.sharing import answer
from commands.spec import Command, Context, Reply
from commands.times import moment
from engine import moments
from engine.challenges import ChallengeDraft, live_status
from engine.errors import InvalidInput
from engine.messages import Card, Field

__all__ = ["COMMANDS", "CREATE_OPTIONS", "DEADLINES"]

PHASES = ("scheduled", "open", "voting", "active", "completed", "cancelled", "draft")
# A challenge's deadlines: each a moment, or a span after the milestone before it, with
# the span it takes when left out (None: the start is now).
DEADLINES: dict[str, tuple[str | None, str]] = {
    "start": (None, "now"),
    "submissions": ("3d", "start"),
    "voting": ("2d", "submissions"),
    "ends": ("7d", "start"),
}
# What `/challenge create` reads for each kind, in the order a form asks for it (the
# kind decided first).
CREATE_OPTIONS: dict[str, tuple[str, ...]] = {
    "submission": ("name", "prompt", "description", "start", "submissions", "voting",
                   "max_entries", "emoji", "early_votes", "prize", "sponsor", "sponsor_link",
                   "channel"),
    "goal": ("name", "goal", "unit", "team_mode", "prompt", "description", "start", "ends",
             "prize", "sponsor", "sponsor_link", "channel"),
}
CHALLENGE = O("challenge", T.STRING, "Challenge name or number", max_length=100)
ENTRY = O("entry", T.STRING, "Entry number, like #12", max_length=20)


async def list_(ctx: Context) -> Reply:
    phase = ctx.str_arg("phase")
    page = await ctx.engine.list_challenges(ctx.member.community, phase, int(ctx.arg("page", 1)))
    unfiltered = None
    if phase and not page.total:  # say whether the filter hides the others
        unfiltered = (await ctx.engine.list_challenges(ctx.member.community, page_size=1)).total
    return Reply(challenge_list_card(page, phase, ctx.tz, ctx.now, unfiltered))


async def info(ctx: Context) -> Reply:
    details = await ctx.engine.challenge_info(ctx.member, str(ctx.args["challenge"]))
    return answer(challenge_card(details, ctx.tz, ctx.now),
                  you=challenge_you(details, ctx.tz, ctx.now),
                  line_args={"challenge": details.challenge.slug})


async def join(ctx: Context) -> Reply:
    c = await ctx.engine.join(ctx.member, str(ctx.args["challenge"]), ctx.str_arg("team"))
    team = f" with team {ctx.args['team']}" if ctx.args.get("team") else ""
    how = (f"Log progress with `/challenge log {c.slug} <amount>`." if c.kind == "goal"
           else f"Submit with `/challenge submit {c.slug} \"title\" link`.")
    return Reply.text(f"You joined **{c.name}**{team}. {how}", ephemeral=True)


async def leave(ctx: Context) -> Reply:
    c = await ctx.engine.leave(ctx.member, str(ctx.args["challenge"]))
    return Reply.text(f"You left **{c.name}**. Your progress is kept if you come back.",
                      ephemeral=True)


async def submit(ctx: Context) -> Reply:
    entry = await ctx.engine.submit_entry(ctx.member, str(ctx.args["challenge"]),
                                          str(ctx.args["title"]), ctx.str_arg("link"),
                                          ctx.str_arg("image"))
    return Reply.text(f"Entry #{entry.id} “{entry.title}” is in! It will be posted in the "
                      "entries channel for voting.", ephemeral=True)


async def log(ctx: Context) -> Reply:
    amount = float(ctx.args["amount"])  # type: ignore[arg-type]
    pace = await ctx.engine.log_progress(ctx.member, str(ctx.args["challenge"]), amount,
                                         ctx.str_arg("note"))
    text = f"Logged {amount:g}. You are at {pace.progress:g}/{pace.goal:g}"
    if pace.finished:
        text += ": goal reached! 🏁"
    elif pace.projected_finish is not None:
        text += (f", {pace.per_day:.1f} a day: at this pace you reach the goal "
                 f"{moments.relative(pace.projected_finish, ctx.now, ctx.tz)}.")
    return Reply.text(text, ephemeral=True)


async def standings(ctx: Context) -> Reply:
    s = await ctx.engine.standings(ctx.member.community, str(ctx.args["challenge"]),
                                   int(ctx.arg("page", 1)))
    return answer(standings_card(s), line_args={"challenge": s.challenge.slug})


def _draft(ctx: Context) -> ChallengeDraft:
    kind = str(ctx.args["kind"])
    now = ctx.now
    start = moment(ctx.str_arg("start"), after=now, now=now, tz=ctx.tz, what="start") or now
    common = {
        "kind": kind, "name": str(ctx.args["name"]), "prompt": ctx.str_arg("prompt") or "",
        "description": ctx.str_arg("description") or "", "starts_at": start,
        "prize": ctx.str_arg("prize"), "sponsor_name": ctx.str_arg("sponsor"),
        "sponsor_url": ctx.str_arg("sponsor_link"), "channel_id": ctx.str_arg("channel"),
    }
    if kind == "submission":
        submissions = moment(ctx.str_arg("submissions") or DEADLINES["submissions"][0],
                             after=start, now=now, tz=ctx.tz, what="submission deadline")
        assert submissions is not None
        voting = moment(ctx.str_arg("voting") or DEADLINES["voting"][0], after=submissions,
                        now=now, tz=ctx.tz, what="voting deadline")
        return ChallengeDraft(**common, submissions_close_at=submissions,  # type: ignore[arg-type]
                              voting_close_at=voting,
                              max_entries=int(ctx.arg("max_entries", 3)),
                              vote_emoji=ctx.str_arg("emoji") or "👍",
                              early_votes=bool(ctx.arg("early_votes", False)))
    if ctx.args.get("goal") is None:
        raise InvalidInput("A goal challenge needs a goal, e.g. goal:50 unit:km.")
    ends = moment(ctx.str_arg("ends") or DEADLINES["ends"][0], after=start, now=now,
                  tz=ctx.tz, what="end")
    return ChallengeDraft(**common, ends_at=ends, goal=float(ctx.args["goal"]),  # type: ignore[arg-type]
                          unit=ctx.str_arg("unit"), metric=ctx.str_arg("metric"),
                          team_mode=ctx.str_arg("team_mode") or "individual")


async def create(ctx: Context) -> Reply:
    c = await ctx.engine.create_challenge(ctx.member, _draft(ctx))
    fields = [Field("Phase", c.phase), Field("Starts", moments.at(c.starts_at, ctx.tz))]
    if c.submissions_close_at and c.voting_close_at:
        fields += [Field("Submissions close", moments.at(c.submissions_close_at, ctx.tz)),
                   Field("Voting closes", moments.at(c.voting_close_at, ctx.tz))]
    if c.ends_at:
        fields.append(Field("Ends", moments.at(c.ends_at, ctx.tz)))
    return Reply(Card(title=f"Created {c.name}", text=f"Challenge `{c.slug}` (#{c.id}) is "
                      f"{c.phase}. {live_status(c, ctx.now, ctx.tz)}.", fields=tuple(fields),
                      color="green"),
                 ephemeral=True)


async def edit(ctx: Context) -> Reply:
    ref = str(ctx.args["challenge"])
    current = (await ctx.engine.challenge_info(ctx.member, ref)).challenge
    changes: dict[str, object] = {}
    for opt, attr in (("name", "name"), ("prompt", "prompt"), ("description", "description"),
                      ("prize", "prize"), ("sponsor", "sponsor_name"),
                      ("sponsor_link", "sponsor_url"), ("emoji", "vote_emoji"),
                      ("channel", "channel_id")):
        if ctx.args.get(opt) is not None:
            changes[attr] = str(ctx.args[opt])
    if ctx.args.get("max_entries") is not None:
        changes["max_entries"] = int(ctx.args["max_entries"])  # type: ignore[call-overload]
    if ctx.args.get("goal") is not None:
        changes["goal"] = float(ctx.args["goal"])  # type: ignore[arg-type]
    for opt, attr, base in (("submissions", "submissions_close_at", current.starts_at),
                            ("voting", "voting_close_at",
                             current.submissions_close_at or current.starts_at),
                            ("ends", "ends_at", current.starts_at)):
        if ctx.args.get(opt) is not None:
            changes[attr] = moment(ctx.str_arg(opt), after=base, now=ctx.now, tz=ctx.tz, what=opt)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one option, e.g. voting:friday.")
    c = await ctx.engine.edit_challenge(ctx.member, ref, **changes)
    return Reply.text(f"Updated **{c.name}**: {', '.join(sorted(changes))}. "
                      f"{live_status(c, ctx.now, ctx.tz)}.", ephemeral=True)


async def cancel(ctx: Context) -> Reply:
    c = await ctx.engine.cancel_challenge(ctx.member, str(ctx.args["challenge"]),
                                          ctx.str_arg("reason"))
    return Reply.text(f"**{c.name}** is cancelled.", ephemeral=True)


async def advance(ctx: Context) -> Reply:
    c = await ctx.engine.advance_challenge(ctx.member, str(ctx.args["challenge"]))
    return Reply.text(f"**{c.name}** is now {c.phase}. {live_status(c, ctx.now, ctx.tz)}.",
                      ephemeral=True)


async def feature(ctx: Context) -> Reply:
    e = await ctx.engine.feature_entry(ctx.member, str(ctx.args["entry"]))
    return Reply.text(f"Entry #{e.id} “{e.title}” is now an editor's pick.", ephemeral=True)


async def disqualify(ctx: Context) -> Reply:
    e = await ctx.engine.disqualify_entry(ctx.member, str(ctx.args["entry"]),
                                          str(ctx.args["reason"]))
    return Reply.text(f"Entry #{e.id} “{e.title}” is disqualified: {e.disqualified_reason}",
                      ephemeral=True)


def _deadline_options() -> tuple[O, ...]:
    return (
        O("start", T.STRING, "When it opens (default now), e.g. 'friday 18:00'", required=False,
          max_length=60),
        O("submissions", T.STRING, "Submission deadline, or a span after the start (3d)",
          required=False, max_length=60),
        O("voting", T.STRING, "Voting deadline, or a span after submissions close (2d)",
          required=False, max_length=60),
        O("ends", T.STRING, "End of a goal challenge, or a span after the start (7d)",
          required=False, max_length=60),
    )


_DETAILS = (
    O("prompt", T.STRING, "The prompt members respond to", required=False, max_length=2000),
    O("description", T.STRING, "More details", required=False, max_length=2000),
    O("goal", T.NUMBER, "Goal challenges: the target", required=False, min_value=0.001,
      max_value=1e9),
    O("unit", T.STRING, "Goal challenges: unit, e.g. km", required=False, max_length=20),
    O("max_entries", T.INTEGER, "Entries per member (default 3)", required=False, min_value=1,
      max_value=20),
    O("emoji", T.STRING, "Vote emoji (default 👍)", required=False, max_length=64),
    O("prize", T.STRING, "Prize text", required=False, max_length=300),
    O("sponsor", T.STRING, "Sponsor name", required=False, max_length=100),
    O("sponsor_link", T.STRING, "Sponsor link", required=False, max_length=500),
    O("channel", T.CHANNEL, "Channel for its announcements and entries", required=False),
)

COMMANDS: tuple[Command, ...] = (
    Command("list", "List challenges", list_, group="challenge", answers=True, options=(
        O("phase", T.CHOICE, "Only this phase", required=False, choices=PHASES),
        O("page", T.INTEGER, "Page", required=False, min_value=1, max_value=1000))),
    Command("info", "A challenge's details and your status in it", info, group="challenge",
            answers=True, options=(CHALLENGE,), autocomplete={"challenge": "challenge"}),
    Command("join", "Join a challenge", join, group="challenge", options=(
        CHALLENGE, O("team", T.STRING, "Team to join or start", required=False, max_length=50)),
        autocomplete={"challenge": "challenge"}),
    Command("leave", "Leave a challenge", leave, group="challenge", options=(CHALLENGE,),
            autocomplete={"challenge": "challenge"}),
    Command("submit", "Submit an entry", submit, group="challenge", options=(
        CHALLENGE, O("title", T.STRING, "Title of your entry", max_length=100),
        O("link", T.STRING, "Link to your work", required=False, max_length=500),
        O("image", T.STRING, "Image link", required=False, max_length=500)),
        autocomplete={"challenge": "challenge"}),
    Command("log", "Log progress toward a goal", log, group="challenge", options=(
        CHALLENGE, O("amount", T.NUMBER, "How much", min_value=0.0001, max_value=1_000_000),
        O("note", T.STRING, "A note", required=False, max_length=200)),
        autocomplete={"challenge": "challenge"}),
    Command("standings", "A challenge's standings", standings, group="challenge",
            answers=True, options=(
        CHALLENGE, O("page", T.INTEGER, "Page", required=False, min_value=1, max_value=10000)),
        autocomplete={"challenge": "challenge"}),
    Command("create", "Create a challenge", create, group="challenge", moderator=True, options=(
        O("kind", T.CHOICE, "submission or goal", choices=("submission", "goal")),
        O("name", T.STRING, "Name", max_length=100),
        _DETAILS[0], *_deadline_options(), *_DETAILS[1:],
        O("team_mode", T.CHOICE, "Goal challenges: individual, team or community",
          required=False, choices=("individual", "team", "community")),
        O("early_votes", T.BOOLEAN, "Allow votes while submissions are open", required=False),
    )),
    Command("edit", "Edit a challenge", edit, group="challenge", moderator=True, options=(
        CHALLENGE, O("name", T.STRING, "New name", required=False, max_length=100),
        *[o for o in _deadline_options() if o.name != "start"], *_DETAILS),
        autocomplete={"challenge": "challenge"}),
    Command("cancel", "Cancel a challenge", cancel, group="challenge", moderator=True, options=(
        CHALLENGE, O("reason", T.STRING, "Why", required=False, max_length=300)),
        autocomplete={"challenge": "challenge"}),
    Command("advance", "Move a challenge to its next phase now", advance, group="challenge",
            moderator=True, options=(CHALLENGE,), autocomplete={"challenge": "challenge"}),
    Command("feature", "Make an entry an editor's pick", feature, group="challenge",
            moderator=True, options=(ENTRY,)),
    Command("disqualify", "Disqualify an entry", disqualify, group="challenge", moderator=True,
            options=(ENTRY, O("reason", T.STRING, "Why (told to the author)", max_length=300))),
)

