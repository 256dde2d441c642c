"""A member refused a moderator's action is told who the moderators are, in the words of
their platform and with the community's own moderator setting."""

from __future__ import annotations

import pytest

from engine.errors import Forbidden
from engine.members import moderators_label
from engine.refs import CommunityRef
from engine.service import Engine
from tests.conftest import member
from tests.engine.helpers import setup_community


@pytest.mark.parametrize(("platform", "setting", "expected"), [
    ("discord", None, "server managers (Manage Server)"),
    ("discord", "Moderators", "server managers (Manage Server) and @Moderators"),
    ("discord", "@Moderators", "server managers (Manage Server) and @Moderators"),
    ("discord", "<@&123456789012345678>", "server managers (Manage Server) and "
                                          "<@&123456789012345678>"),  # shown as the role
    ("slack", None, "workspace admins"),
    ("slack", "<!subteam^S0MODS|@mods>", "workspace admins and <!subteam^S0MODS|@mods>"),
    ("slack", "<@U1> <@U2>", "workspace admins and <@U1> <@U2>"),
    ("console", None, "members marked as moderators (@name is moderator)"),
    ("elsewhere", "Event Team", "the community's admins and Event Team"),
])
def test_moderators_are_named_in_the_platforms_words(platform: str, setting: str | None,
                                                     expected: str) -> None:
    assert moderators_label(platform, setting) == expected


async def test_a_refusal_names_the_moderators(engine: Engine) -> None:
    guild = CommunityRef("discord", "4242", "Painters")
    await setup_community(engine, guild)
    bob = member(guild, "bob")
    with pytest.raises(Forbidden) as refused:
        await engine.award_points(bob, bob, 10, "me!")
    assert refused.value.message == ("Only moderators can do that: here, server managers "
                                     "(Manage Server).")

    await engine.set_moderator_role(member(guild, "owner", mod=True), "Stewards")
    for attempt in (engine.award_points(bob, bob, 10, "me!"), engine.require_moderator(bob),
                    engine.dashboard.api_tokens(bob)):
        with pytest.raises(Forbidden) as refused:
            await attempt
        assert refused.value.message == ("Only moderators can do that: here, server managers "
                                         "(Manage Server) and @Stewards.")
    await engine.require_moderator(member(guild, "sam", mod=True))  # a moderator passes
