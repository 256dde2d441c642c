"""/dashboard: a private, one-time sign-in link to the community's web dashboard."""

from __future__ import annotations

from commands.spec import Command, Context, Reply
from engine.messages import Card
from engine.sign_in import LINK_TTL

__all__ = ["COMMANDS"]


async def dashboard(ctx: Context) -> Reply:
    link = await ctx.engine.dashboard.dashboard_link(ctx.member)
    if link is None:
        return Reply.text("The web dashboard isn't served here: whoever runs Laurels starts "
                          "it with `laurels run --web-port PORT` (or LAURELS_WEB_PORT).",
                          ephemeral=True)
    minutes = int(LINK_TTL.total_seconds() // 60)
    return Reply(Card(
        title="Your dashboard", url=link,
        text=f"Sign in here: {link}\nThe link works once, for you only, within {minutes} "
             "minutes. Don't share it."), ephemeral=True)


COMMANDS: tuple[Command, ...] = (
    Command("dashboard", "A private sign-in link to the web dashboard", dashboard),
)
