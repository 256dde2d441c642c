"""Bolt listeners for what members do: slash commands, button presses, submitted forms.

Each acknowledges first (Slack's 3-second rule) and then works; a form waits a little
before acknowledging so that a refused value can be shown under its input.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, cast

from bot.slack.modals import (
    KIND_CALLBACK,
    MODAL_CALLBACK,
    FormErrors,
    ModalMeta,
    answer_view,
    read_kind,
)
from bot.slack.payloads import (
    BlockAction,
    BlockActionsBody,
    IdRef,
    SlashCommandBody,
    ViewSubmissionBody,
    ViewSubmissionView,
)
from bot.slack.render import RUN_ACTION
from bot.slack.replies import Origin, answer, is_error
from bot.slack.slash import command_line, slash_commands
from bot.slack.text import truncate
from commands.spec import Command, Reply
from commands.tree import TREE

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.adapter import SlackAdapter

__all__ = ["FORM_BUDGET", "register"]

log = logging.getLogger(__name__)

# How long a submitted form may work before it must be acknowledged (Slack allows 3 s).
FORM_BUDGET = 2.0


def register(app: AsyncApp, adapter: SlackAdapter) -> None:
    names = "|".join(re.escape(c.name) for c in slash_commands())

    @app.command(re.compile(f"^(?:{names})$"))
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        with adapter.inflight.track():
            await ack()
            cmd = cast(SlashCommandBody, body)
            origin = Origin(cmd["team_id"], cmd["user_id"], cmd["channel_id"],
                            cmd["response_url"], cmd["trigger_id"])
            await adapter.run_line(client, origin, command_line(cmd["command"], cmd["text"]),
                                   user_name=cmd.get("user_name"),
                                   team_name=cmd.get("team_domain"))

    @app.action(re.compile(f"^{RUN_ACTION}_\\d+$"))
    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient) -> None:
        with adapter.inflight.track():
            await ack()
            press = cast(BlockActionsBody, body)
            line = cast(BlockAction, action).get("value") or ""
            team = _team_id(press.get("team"), press["user"])
            in_message = press["container"].get("type") == "message"
            channel = press.get("channel")
            view = press.get("view") if not in_message else None
            origin = Origin(team, press["user"]["id"],
                            channel["id"] if channel and in_message else None,
                            press.get("response_url"), press["trigger_id"],
                            private_only=True,
                            replace_original=bool(press["container"].get("is_ephemeral")),
                            home=view is not None and view.get("type") == "home",
                            view_id=view["id"] if view is not None
                            and view.get("type") == "modal" else None)
            await adapter.run_line(client, origin, line)

    @app.view(KIND_CALLBACK)
    async def on_kind(ack: AsyncAck, body: dict[str, Any]) -> None:
        with adapter.inflight.track():
            submitted = cast(ViewSubmissionBody, body)
            meta = ModalMeta.load(submitted["view"]["private_metadata"])
            try:
                kind = read_kind(submitted["view"]["state"]["values"])
            except FormErrors as exc:
                await ack(response_action="errors", errors=exc.errors)
                return
            team = _team_id(submitted.get("team"), submitted["user"])
            community = await adapter.community(team)
            # The second step replaces the first in the same modal.
            await ack(response_action="update",
                      view=await adapter.create_form(community, meta, kind))

    @app.view(MODAL_CALLBACK)
    async def on_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        with adapter.inflight.track():
            await _submitted(adapter, ack, cast(ViewSubmissionBody, body), client)


async def _submitted(adapter: SlackAdapter, ack: AsyncAck, body: ViewSubmissionBody,
                     client: AsyncWebClient) -> None:
    view: ViewSubmissionView = body["view"]
    meta = ModalMeta.load(view["private_metadata"])
    command = TREE.get(meta.command)
    if command is None:
        await ack()
        return
    team = _team_id(body.get("team"), body["user"])
    user = body["user"]["id"]
    origin = Origin(team, user, meta.channel_id, meta.response_url)
    work = adapter.inflight.spawn(
        adapter.submit_modal(client, team, user, command, view["state"]["values"], meta),
        report=False)
    done, _ = await asyncio.wait({work}, timeout=FORM_BUDGET)
    if work in done:
        failure = work.exception()
        if isinstance(failure, FormErrors):
            await ack(response_action="errors", errors=failure.errors)
            return
        if failure is None and is_error(work.result()):
            # Keep the form open, typed values intact, with the reason under an input.
            await ack(response_action="errors", errors=_engine_error(command, work.result()))
            return
        if failure is None and meta.home:
            # Opened from the Home: the form turns into its answer, over the Home.
            await ack(response_action="update", view=answer_view(work.result()))
            await adapter.answer_on_home(client, team, user, None)
            return
    await ack()  # closes the form; the answer follows as a message (or on the Home)
    try:
        reply = await work
    except FormErrors as exc:  # found after the budget: the form is closed by now
        reply = Reply.error(" ".join(exc.errors.values()))
    except Exception:
        log.exception("Slack form failed: %s", command.path)
        reply = Reply.error("Something went wrong on our side; please try again in a moment.")
    if meta.home:
        await adapter.answer_on_home(client, team, user, reply)
    else:
        await answer(client, origin, reply)


def _engine_error(command: Command, reply: Reply) -> dict[str, str]:
    """The refusal under the input it names first ("submission deadline: ..." goes under
    `submissions`), else under the first input."""
    text = reply.card.text.removeprefix("⚠️").strip().split("\nUsage:")[0]
    text = text.replace("**", "").replace("`", "")
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for option in command.options:
        stem = option.name.replace("_", " ").removesuffix("s")
        m = re.search(rf"\b{re.escape(stem)}s?\b", lowered)
        if m is not None:
            found.append((m.start(), option.name))
    named = min(found)[1] if found else command.options[0].name
    return {named: truncate(text, 300)}


def _team_id(team: IdRef | None, user: IdRef) -> str:
    # Org-wide installs may send no team on interactions; the user's team then decides.
    if team and team.get("id"):
        return team["id"]
    return str(cast(dict[str, Any], user).get("team_id") or "")
