"""Members' pictures on Discord: what a slash command and a reaction carry is kept on the
member and shown beside their name (the real discord.py client, FakeDiscord on loopback)."""

from __future__ import annotations

from engine.refs import MemberRef
from tests.bot.discord.harness import DiscordWorld

CDN = "https://cdn.discordapp.com"


async def test_a_command_and_a_vote_bring_the_members_pictures(world: DiscordWorld) -> None:
    fake, gid = world.fake, world.guild_id
    alice, bob, carol = (world.users[n] for n in ("alice", "bob", "carol"))
    fake.set_avatar(alice, "a11ce0ffee")
    fake.set_avatar(bob, "b0bface", guild_id=gid)  # a picture for this server only
    await world.command("mod", "challenge create", {
        "kind": "submission", "name": "Dreamscapes", "early_votes": True})

    # A slash command that writes (an entry) records the member with their picture.
    said = await world.command("alice", "challenge submit",
                               {"challenge": "dreamscapes", "title": "Night garden"})
    assert "is in!" in said.text
    # A vote by reaction (its event carries the member) does too.
    await world.deliver()
    entry = next(int(m["id"]) for ms in fake.messages.values() for m in ms.values()
                 if any(e.get("title") == "Night garden" for e in m.get("embeds") or []))
    await world.react("bob", entry)
    await world.react("carol", entry)
    assert (await world.engine.entry(world.community, 1)).votes == 2

    pictures = {r.member_external_id: r.avatar_url for r in (
        await world.engine.leaderboard(world.community)).rows}
    assert pictures[str(alice)] == f"{CDN}/avatars/{alice}/a11ce0ffee.png?size=1024"
    assert pictures[str(bob)] == f"{CDN}/guilds/{gid}/users/{bob}/avatars/b0bface.png?size=1024"
    # No picture of her own: Discord's default one, which Discord shows for her too.
    assert pictures[str(carol)] == f"{CDN}/embed/avatars/{(carol >> 22) % 6}.png"

    # A new picture replaces the old one the next time the member is seen.
    fake.set_avatar(alice, "a11cenew")
    await world.command("alice", "challenge submit",
                        {"challenge": "dreamscapes", "title": "Day garden"})
    page = await world.engine.dashboard.member_page(world.community, str(alice))
    assert page.avatar_url == f"{CDN}/avatars/{alice}/a11cenew.png?size=1024"
    profile = await world.engine.profile(MemberRef(world.community, str(bob)))
    assert profile.avatar_url == pictures[str(bob)]
