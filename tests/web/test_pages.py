"""Every dashboard page over HTTP (an ASGI client): status, content, and who may see it."""

from __future__ import annotations

from datetime import timedelta

from bot.console.platform import COMMUNITY
from engine.challenges import ChallengeDraft
from engine.refs import MemberRef
from tests.web.world import OTHER, csrf_of, world


async def test_public_pages_show_the_community() -> None:
    async with world() as w:
        board = await w.client.get(f"{w.base}/")
        assert board.status_code == 200
        assert "Leaderboard" in board.text and "alice" in board.text and "carol" in board.text
        assert 'id="m-alice"' in board.text
        week = await w.client.get(f"{w.base}/?period=week")
        assert week.status_code == 200 and "week" in week.text
        listing = await w.client.get(f"{w.base}/challenges?phase=completed")
        assert listing.status_code == 200 and "Dreamscapes" in listing.text
        gallery = await w.client.get(f"{w.base}/challenges/dreamscapes")
        assert gallery.status_code == 200
        assert "Night garden" in gallery.text and "2 votes" in gallery.text
        assert "night-garden.svg" in gallery.text  # a picture link shows as the thumbnail
        assert "<time datetime=" in gallery.text and "Results" in gallery.text
        goal = await w.client.get(f"{w.base}/challenges/miles")
        assert goal.status_code == 200 and "<svg" in goal.text and "Goal: 50" in goal.text
        catalog = await w.client.get(f"{w.base}/achievements")
        assert catalog.status_code == 200 and "of members" in catalog.text
        member = await w.client.get(f"{w.base}/members/alice")
        assert member.status_code == 200
        assert "Active days" in member.text and "Badges" in member.text
        # The rank as every card words it (engine.wording.standing): never "top 100%".
        rank = (await w.engine.profile(_ref("alice"))).rank
        assert rank is not None and f"<strong>{rank.standing}</strong>" in member.text
        assert "100%" not in member.text and "1 points" not in member.text
        assert (await w.client.get(f"{w.base}/members/nobody")).status_code == 404
        assert (await w.client.get(f"{w.base}/?period=year")).status_code == 400
        assert (await w.client.get(f"{w.base}/?page=x")).status_code == 400


async def test_votes_stay_hidden_while_voting_runs() -> None:
    async with world() as w:
        mod, bob = _ref("mod", admin=True), _ref("bob")
        now = w.clock.now()
        await w.engine.create_challenge(mod, ChallengeDraft(
            kind="submission", name="Later", prompt="p",
            submissions_close_at=now + timedelta(days=1),
            voting_close_at=now + timedelta(days=2)))
        await w.engine.submit_entry(bob, "later", "Hidden one")
        page = await w.client.get(f"{w.base}/challenges/later")
        assert "Hidden one" in page.text and "Votes are shown once voting is over" in page.text
        assert "0 votes" not in page.text
        await w.engine.dashboard.set_web_setting(mod, "live_counts", True)
        live = await w.client.get(f"{w.base}/challenges/later")
        assert "0 votes" in live.text


async def test_search_jumps_to_the_members_page_of_the_board() -> None:
    async with world() as w:
        found = await w.client.get(f"{w.base}/?q=bo")
        assert found.status_code == 303
        assert found.headers["location"].endswith("page=1&highlight=bob#m-bob")
        nobody = await w.client.get(f"{w.base}/?q=zed")
        assert nobody.status_code == 200 and "No member by that name" in nobody.text


async def test_public_off_hides_every_page_until_signed_in() -> None:
    async with world(public=False) as w:
        for path in ("/", "/challenges", "/challenges/dreamscapes", "/achievements",
                     "/members/alice", "/mod/"):
            assert (await w.client.get(w.base + path)).status_code == 404, path
        signed = await w.sign_in("bob")
        assert signed.status_code == 303
        board = await w.client.get(f"{w.base}/")
        assert board.status_code == 200 and "Sign out bob" in board.text
        assert 'class="me"' in board.text  # the member's own row is highlighted


async def test_unknown_community_is_not_found() -> None:
    async with world() as w:
        assert (await w.client.get("/c/nope/")).status_code == 404
        assert (await w.client.get("/c/" + "x" * 40 + "/")).status_code == 404


async def test_a_member_link_cannot_open_moderator_pages() -> None:
    async with world() as w:
        await w.sign_in("alice")
        before = (await w.engine.profile(_ref("bob"))).points
        for path in ("/mod/", "/mod/settings", "/mod/announcements", "/mod/audit",
                     "/mod/members/alice"):
            assert (await w.client.get(w.base + path)).status_code == 403, path
        page = await w.client.get(f"{w.base}/")
        post = await w.client.post(f"{w.base}/mod/members/bob", data={
            "csrf": csrf_of(page.text), "action": "award", "amount": "5", "reason": "x",
            "form_id": "f1"})
        assert post.status_code == 403
        assert (await w.engine.profile(_ref("bob"))).points == before


async def test_community_a_link_cannot_read_community_b() -> None:
    async with world(public=False) as w:
        await w.sign_in("alice")
        # The cookie is scoped to A's path; sent to B by hand, it is still refused.
        cookie = w.client.cookies.get("laurels_session")
        assert cookie
        w.client.cookies.clear()
        w.client.cookies.set("laurels_session", cookie)
        other = await w.client.get(f"/c/{w.other_public_id}/")
        assert other.status_code == 404
        # A link made for B does not sign in to A.
        link = await w.link("alice", community=OTHER)
        wrong = link.replace(w.other_public_id, w.public_id)
        refused = await w.client.get(wrong.removeprefix("http://laurels.test"))
        assert refused.status_code == 403 and "not valid" in refused.text


async def test_expired_tampered_and_used_links_are_refused() -> None:
    async with world() as w:
        link = (await w.link("alice")).removeprefix("http://laurels.test")
        tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        bad = await w.client.post(tampered)
        assert bad.status_code == 403 and "not valid" in bad.text
        assert (await w.client.post(link)).status_code == 303
        again = await w.client.post(link)
        assert again.status_code == 403 and "used already" in again.text
        old = (await w.link("bob")).removeprefix("http://laurels.test")
        w.clock.advance(timedelta(minutes=16))
        expired = await w.client.post(old)
        assert expired.status_code == 403 and "expired" in expired.text


async def test_moderator_correction_needs_the_csrf_token() -> None:
    async with world() as w:
        signed = await w.sign_in("mod", moderator=True)
        assert signed.headers["location"].endswith("/mod/")
        stats = await w.client.get(f"{w.base}/mod/")
        assert stats.status_code == 200 and "Active members per day" in stats.text
        page = await w.client.get(f"{w.base}/mod/members/bob")
        assert page.status_code == 200 and "Ledger of" in page.text
        before = (await w.engine.profile(_ref("bob"))).points
        refused = await w.client.post(f"{w.base}/mod/members/bob", data={
            "csrf": "forged", "action": "award", "amount": "5", "reason": "x",
            "form_id": "f1"})
        assert refused.status_code == 403
        cross = await w.client.post(f"{w.base}/mod/members/bob", headers={
            "origin": "http://evil.test"}, data={"csrf": csrf_of(page.text),
                                                 "action": "award", "amount": "5",
                                                 "reason": "x", "form_id": "f1"})
        assert cross.status_code == 403
        assert (await w.engine.profile(_ref("bob"))).points == before
        done = await w.client.post(f"{w.base}/mod/members/bob", data={
            "csrf": csrf_of(page.text), "action": "deduct", "amount": "3",
            "reason": "Wrong channel", "form_id": "f2"})
        assert done.status_code == 200 and "Deducted 3 points" in done.text
        assert (await w.engine.profile(_ref("bob"))).points == before - 3
        twice = await w.client.post(f"{w.base}/mod/members/bob", data={
            "csrf": csrf_of(page.text), "action": "deduct", "amount": "3",
            "reason": "Wrong channel", "form_id": "f2"})
        assert twice.status_code == 400 and "already recorded" in twice.text
        assert (await w.engine.profile(_ref("bob"))).points == before - 3
        audit = await w.client.get(f"{w.base}/mod/audit")
        assert "Wrong channel" in audit.text and "Helped out" in audit.text


async def test_moderator_settings_and_announcements() -> None:
    async with world(public=False) as w:
        await w.sign_in("mod", moderator=True)
        page = await w.client.get(f"{w.base}/mod/settings")
        assert page.status_code == 200 and "off" in page.text
        assert "<dt>Achievements</dt><dd>" in page.text and "(with announcements)" in page.text
        await w.engine.set_channel(_ref("mod", admin=True), "achievements", "wins")
        page = await w.client.get(f"{w.base}/mod/settings")
        assert "<dt>Achievements</dt><dd>wins</dd>" in page.text
        turned = await w.client.post(f"{w.base}/mod/settings", data={
            "csrf": csrf_of(page.text), "setting": "public", "value": "on"})
        assert turned.status_code == 200 and "Saved." in turned.text
        assert (await w.engine.dashboard.web_address(_ref("mod").community)).public
        parked = await w.client.get(f"{w.base}/mod/announcements")
        assert parked.status_code == 200 and "No parked announcements" in parked.text
        retry = await w.client.post(f"{w.base}/mod/announcements/999/retry", data={
            "csrf": csrf_of(page.text)})
        assert retry.status_code == 404


async def test_sign_out_ends_the_session() -> None:
    async with world(public=False) as w:
        await w.sign_in("alice")
        page = await w.client.get(f"{w.base}/")
        out = await w.client.post(f"{w.base}/sign-out", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await w.client.get(f"{w.base}/")).status_code == 404


def _ref(user: str, *, admin: bool = False) -> MemberRef:
    return MemberRef(COMMUNITY, user, user, is_admin=admin)


async def test_members_pictures_beside_their_names_initials_otherwise() -> None:
    async with world() as w:
        picture = "https://cdn.discordapp.com/avatars/7/abc.png?size=1024"
        await w.engine.award_points(_ref("mod", admin=True),
                                    MemberRef(COMMUNITY, "bob", "bob", avatar_url=picture),
                                    1, "a picture")
        board = await w.client.get(f"{w.base}/")
        bob_row = board.text.split('id="m-bob"', 1)[1].split("</tr>", 1)[0]
        assert f'<img class="avatar" src="{picture.replace("&", "&amp;")}"' in bob_row
        assert 'referrerpolicy="no-referrer"' in bob_row
        alice_row = board.text.split('id="m-alice"', 1)[1].split("</tr>", 1)[0]
        assert "<img" not in alice_row and '<span class="avatar" aria-hidden="true">A</span>' \
            in alice_row
        bob = await w.client.get(f"{w.base}/members/bob")
        assert f'<img class="avatar big" src="{picture}"' in bob.text
        alice = await w.client.get(f"{w.base}/members/alice")
        assert '<span class="avatar big" aria-hidden="true">A</span>' in alice.text
