"""The dashboard in a real browser: Debian's Chromium driven by Playwright against
`laurels web` serving the demo community. Opens the leaderboard, searches a member, pages,
opens a challenge gallery and a member page, follows a sign-in link and makes a moderator
correction; no console errors; axe-core's accessibility checks pass; screenshots at phone
and desktop widths go to `LAURELS_ARTIFACTS` (default: tests/web/browser/artifacts).

Needs /usr/bin/chromium and axe-core (`bash scripts/browser-deps` installs both)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / ".cache" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("LAURELS_ARTIFACTS", Path(__file__).parent / "artifacts"))
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """`laurels web` on the demo community: (base URL, public id, moderator's link)."""
    missing = [str(p) for p in (Path(CHROMIUM), AXE) if not p.exists()]
    assert not missing, f"missing {missing}: run `bash scripts/browser-deps` (as root)"
    from bot.console.demo import run_web_demo

    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    url = f"sqlite+aiosqlite:///{tmp / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAURELS_")}
    env.update(PYTHONPATH=str(ROOT), LAURELS_DATABASE_URL=url, LAURELS_WEB_PORT=str(port),
               LAURELS_WEB_SECRET="browser-test-secret")
    settings = Settings(database_url=url, web_port=port, web_secret="browser-test-secret")
    assert asyncio.run(run_web_demo(settings, quiet=True)) == 0
    base = f"http://127.0.0.1:{port}"
    public_id, link = asyncio.run(_moderator_link(settings, base))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "web"], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Dashboard:" in line:
                break
        else:
            pytest.fail("laurels web did not start")
        yield base, public_id, link
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _moderator_link(settings: Settings, base: str) -> tuple[str, str]:
    from bot.console.platform import COMMUNITY
    from engine.refs import MemberRef
    from engine.service import Engine
    from engine.sign_in import WebLinks
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        engine = Engine(db, web=WebLinks(base, "browser-test-secret"))
        place = await engine.dashboard.web_address(COMMUNITY)
        link = await engine.dashboard.dashboard_link(
            MemberRef(COMMUNITY, "mod", "mod", is_admin=True))
        assert link is not None
        return place.public_id, link
    finally:
        await db.dispose()


def _check(page: Page, errors: list[str], name: str) -> None:
    """No console errors, axe-core finds no violations, screenshots at both widths."""
    assert errors == [], errors
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                  for v in result["violations"]]
    assert violations == [], violations
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_a_visit_in_a_real_browser(served: tuple[str, str, str]) -> None:
    base, public_id, link = served
    home = f"{base}/c/{public_id}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))

            page.goto(home)
            assert page.get_by_role("heading", name=re.compile("Leaderboard")).is_visible()
            _check(page, errors, f"leaderboard-{scheme}")

            page.get_by_label("Find a member").fill("car")
            page.get_by_role("button", name="Find").click()
            page.wait_for_url(re.compile("highlight=carol"))
            assert page.locator("tr.me").inner_text().find("carol") >= 0

            page.get_by_role("link", name="This week").click()
            page.wait_for_url(re.compile("period=week"))
            assert "Page 1 of 1" in page.content()

            page.get_by_role("link", name="Challenges", exact=True).click()
            page.get_by_role("link", name="Completed").click()
            page.get_by_role("link", name="Dreamscapes").click()
            assert page.get_by_role("heading", name=re.compile("Gallery")).is_visible()
            images = page.locator(".gallery img")
            assert images.count() >= 5
            page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_function("() => [...document.querySelectorAll('.gallery img')]"
                                   ".every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=10_000)
            # Deadlines were rewritten into the reader's time zone by the page's script.
            assert "UTC" not in page.locator("dl.facts time").first.inner_text()
            _check(page, errors, f"gallery-{scheme}")

            page.locator(".gallery .meta a", has_text="alice").first.click()
            assert page.get_by_role("heading", name="Active days", exact=False).is_visible()
            _check(page, errors, f"member-{scheme}")

            page.goto(f"{base}/c/{public_id}/challenges/spring-miles")
            _check(page, errors, f"goal-{scheme}")
            page.goto(f"{base}/c/{public_id}/achievements")
            _check(page, errors, f"achievements-{scheme}")
            context.close()

        # Signing in and correcting a member's points, as a moderator.
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile("/mod/$"))
        assert page.get_by_role("heading", name="Community statistics").is_visible()
        _check(page, errors, "mod-stats")
        page.goto(f"{base}/c/{public_id}/mod/members/frank")
        page.get_by_label("Deduct").check()
        page.get_by_label("Points", exact=True).fill("2")
        page.get_by_label(re.compile("Reason")).fill("Spam in the entries channel")
        page.get_by_role("button", name="Record").click()
        assert page.get_by_role("status").inner_text().startswith("Deducted 2 points")
        assert "Spam in the entries channel" in page.content()
        _check(page, errors, "mod-correction")
        # The link worked once.
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        assert "used already" in page.content()
        context.close()
        browser.close()
