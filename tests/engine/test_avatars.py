"""Members' pictures: an https address from the platform, kept on the member row by the
one place member rows are written (`members.ensure_rows`), shown by the reads."""

from __future__ import annotations

import pytest

from engine.avatars import MAX_AVATAR_URL, clean_avatar_url
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Member
from tests.conftest import member
from tests.engine.helpers import select_all

PICTURE = "https://cdn.discordapp.com/avatars/42/a1b2c3.png?size=1024"


@pytest.mark.parametrize("url", [
    PICTURE, "https://avatars.slack-edge.com/2026-01-01/1_abc_72.jpg",
    "HTTPS://secure.gravatar.com/avatar/0f.png?s=72&d=identicon"])
def test_https_addresses_are_kept(url: str) -> None:
    assert clean_avatar_url(url) == url
    assert clean_avatar_url(f"  {url}\n") == url


@pytest.mark.parametrize("url", [
    None, "", "http://cdn.example/a.png", "javascript:alert(1)", "data:image/png;base64,AAAA",
    "//cdn.example/a.png", "https:///a.png", "https://user:pass@cdn.example/a.png",
    "https://cdn.example/a b.png", 'https://cdn.example/a".png', "https://cdn.example/<a>",
    "https://cdn.example/\u202ea.png", "https://cdn.example/a\x00.png",
    "https://cdn.example/" + "a" * MAX_AVATAR_URL, "https://[::1/a.png"])
def test_anything_else_is_dropped(url: str | None) -> None:
    assert clean_avatar_url(url) is None


def test_a_member_ref_carries_it_cleaned_and_is_compared_without_it(guild: CommunityRef
                                                                    ) -> None:
    pictured = MemberRef(guild, "alice", "Alice", avatar_url=f" {PICTURE} ")
    assert pictured.avatar_url == PICTURE
    assert MemberRef(guild, "alice", "Alice", avatar_url="http://x/a.png").avatar_url is None
    assert pictured == MemberRef(guild, "alice", "Alice")


async def _pictures(db: Database) -> dict[str, str | None]:
    return {m.external_id: m.avatar_url for m in await select_all(db, Member)}


async def test_the_picture_is_recorded_kept_and_replaced(engine: Engine, db: Database,
                                                         guild: CommunityRef) -> None:
    mod = member(guild, "mod", mod=True)
    alice = MemberRef(guild, "alice", "Alice", avatar_url=PICTURE)
    await engine.award_points(mod, alice, 10, "first contact")
    await engine.award_points(mod, member(guild, "bob"), 5, "no picture known")
    assert await _pictures(db) == {"mod": None, "alice": PICTURE, "bob": None}

    # A platform event without a picture leaves the recorded one as it is...
    await engine.award_points(mod, MemberRef(guild, "alice", "Alice"), 1, "seen again")
    assert (await _pictures(db))["alice"] == PICTURE
    # ...a new one (with a new name, at once) replaces it.
    newer = PICTURE.replace("a1b2c3", "d4e5f6")
    await engine.award_points(mod, MemberRef(guild, "alice", "Alicia", avatar_url=newer), 1,
                              "a new look")
    page = await engine.dashboard.member_page(guild, "alice")
    assert (page.name, page.avatar_url) == ("Alicia", newer)

    board = await engine.leaderboard(guild)
    assert [(r.member_external_id, r.avatar_url) for r in board.rows] == [
        ("alice", newer), ("bob", None)]
    web = await engine.dashboard.board_page(guild)
    assert [(r.member_external_id, r.avatar_url) for r in web.rows] == [
        ("alice", newer), ("bob", None)]
    assert (await engine.profile(mod, "alice")).avatar_url == newer
    assert (await engine.dashboard.member_page(guild, "bob")).avatar_url is None
