"""The dashboard's pages: one handler per page, each checking who may see it, asking the
engine for its numbers, and rendering a template.

Who sees what: the leaderboard, challenge, catalog and member pages are open to anyone
when the community turned its pages public (`/settings web public on`), else only to its
signed-in members (anyone else gets 404, as for a community that does not exist).
Moderator pages need a moderator's session. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from engine.errors import Forbidden, InvalidInput, LaurelsError, NotFound
from engine.periods import PERIODS
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from engine.sign_in import LinkRefused
from engine.views import WebCommunity
from engine.wording import noun_for, number, plural
from web import charts
from web.auth import Session, Sessions, origin_ok
from web.options import WebOptions

__all__ = ["Dashboard"]

log = logging.getLogger(__name__)
TEMPLATES = __file__.rsplit("/", 1)[0] + "/templates"
PHASE_GROUPS = (("running", "Running", ("open", "voting", "active")),
                ("upcoming", "Upcoming", ("scheduled",)),
                ("completed", "Completed", ("completed",)))
PERIOD_NAMES = {"all": "All time", "month": "This month", "week": "This week"}
REASONS = {
    "entry_submitted": "entry submitted", "early_entry": "early entry bonus",
    "vote_cast": "vote cast", "vote_received": "vote received", "featured": "editor's pick",
    "placement": "placement", "goal_joined": "joined a goal", "goal_reached": "goal reached",
    "achievement": "achievement", "award": "award", "deduction": "deduction",
}


def _time(value: datetime | None) -> Markup:
    """A moment in UTC, which the page's script rewrites in the reader's own time."""
    if value is None:
        return Markup("—")
    return Markup(f'<time datetime="{value.isoformat()}">'
                  f'{escape(value.strftime("%d %b %Y, %H:%M"))} UTC</time>')


def _num(x: float | None) -> str:
    return "—" if x is None else number(x)


def _initials(name: str) -> str:
    words = [w for w in name.replace("_", " ").replace(".", " ").split() if w[:1].isalnum()]
    return ("".join(w[0] for w in words[:2]) or name[:1] or "?").upper()


class Page(Exception):
    """Ends a request with a status and a message page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


NOT_FOUND = (404, "Not found", "There is no page here. If this is your community's "
             "dashboard, type /dashboard in your community for a sign-in link.")


class Dashboard:
    def __init__(self, engine: Engine, options: WebOptions) -> None:
        self.engine = engine
        self.options = options
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(["html"]), trim_blocks=True,
                               lstrip_blocks=True)
        self.env.filters.update(time=_time, num=_num, initials=_initials,
                                reason=lambda r: REASONS.get(r, r))
        self.env.globals.update(plural=plural, noun_for=noun_for, PERIOD_NAMES=PERIOD_NAMES,
                                charts=charts)
        self._sessions: Sessions | None = None

    async def sessions(self) -> Sessions:
        if self._sessions is None:
            self._sessions = Sessions(await self.engine.dashboard.web_key(),
                                      secure=self.options.secure)
        return self._sessions

    # -- plumbing ----------------------------------------------------------------------

    def render(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status, headers={
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"})

    def message(self, status: int, title: str, text: str, **values: Any) -> HTMLResponse:
        return self.render("message.html", status, title=title, text=text, **values)

    async def _guard(self, request: Request,
                     handle: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await handle()
        except Page as page:
            return self.message(page.status, page.title, page.message,
                                community=request.state.__dict__.get("community"),
                                session=request.state.__dict__.get("session"))
        except NotFound as exc:
            return self.message(404, "Not found", exc.message,
                                community=request.state.__dict__.get("community"),
                                session=request.state.__dict__.get("session"))
        except Forbidden as exc:
            return self.message(403, "Not allowed", exc.message)
        except (InvalidInput, LaurelsError) as exc:
            return self.message(400, "Can't show that", exc.message,
                                community=request.state.__dict__.get("community"),
                                session=request.state.__dict__.get("session"))

    async def _open(self, request: Request, *, members_only: bool = False,
                    moderators: bool = False
                    ) -> tuple[WebCommunity, CommunityRef, Session | None]:
        """The community of the address and the visitor's session, if they may look."""
        community = await self.engine.dashboard.web_community(request.path_params["cid"])
        if community is None:
            raise Page(*NOT_FOUND)
        session = (await self.sessions()).read(request, community.public_id)
        request.state.community, request.state.session = community, session
        if moderators:
            if session is None:
                raise Page(*NOT_FOUND)
            if not session.moderator:
                raise Page(403, "Moderators only", "This page is for moderators. Sign in "
                           "with a link a moderator gets from /dashboard.")
        elif session is None and (members_only or not community.public):
            raise Page(*NOT_FOUND)
        return community, CommunityRef(community.platform, community.external_id,
                                       community.name), session

    async def _form(self, request: Request, session: Session | None) -> dict[str, str]:
        """The posted form, if it comes from this site with the session's CSRF token."""
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if session is None or not origin_ok(request) or not session.csrf_ok(fields.get("csrf")):
            raise Page(403, "Form refused", "This form was not sent from your dashboard "
                       "session (or the session ended). Reload the page and try again.")
        return fields

    def _page_values(self, community: WebCommunity, session: Session | None,
                     **values: Any) -> dict[str, Any]:
        return {"community": community, "session": session, "base": f"/c/{community.public_id}",
                **values}

    # -- pages ---------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return self.message(200, "Laurels", "Each community's dashboard has its own address: "
                            "type /dashboard in your community to get a sign-in link.")

    async def leaderboard(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request)
            q = request.query_params
            period = q.get("period", "all")
            if period not in PERIODS:
                raise InvalidInput("Boards: all, month, week.")
            page = _int(q.get("page", "1"), "page")
            highlight = q.get("highlight") or (session.user_id if session else None)
            base = f"/c/{community.public_id}/"
            wanted = q.get("q", "").strip() or (session.user_id if session and q.get("me")
                                                 else "")
            matches = []
            if wanted:
                matches = await self.engine.dashboard.find_on_board(ref, period, wanted)
                placed = [m for m in matches if m.page is not None]
                if len(placed) == 1 or (placed and placed[0].external_id == wanted):
                    m = placed[0]
                    where = urlencode({"period": period, "page": m.page,
                                       "highlight": m.external_id})
                    return RedirectResponse(f"{base}?{where}#m-{m.external_id}",
                                            status_code=303)
            board = await self.engine.dashboard.board_page(ref, period, page,
                                                           session.user_id if session else None)
            return self.render("leaderboard.html", **self._page_values(
                community, session, board=board, period=period, highlight=highlight,
                query=q.get("q", ""), matches=matches, searched=bool(wanted)))

        return await self._guard(request, handle)

    async def challenges(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request)
            which = request.query_params.get("phase", "running")
            group = next((g for g in PHASE_GROUPS if g[0] == which), None)
            if group is None:
                raise InvalidInput("Phases: running, upcoming, completed.")
            items = []
            for phase in group[2]:
                items += (await self.engine.list_challenges(ref, phase, 1, 50)).items
            return self.render("challenges.html", **self._page_values(
                community, session, groups=PHASE_GROUPS, which=which, items=items))

        return await self._guard(request, handle)

    async def challenge(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request)
            page = await self.engine.dashboard.challenge_page(ref, request.path_params["slug"])
            if page.challenge.phase in ("draft", "cancelled") and not (
                    session and session.moderator):
                raise Page(*NOT_FOUND)
            chart = None
            if page.series:
                chart = charts.line_chart(
                    [(s.label, s.points) for s in page.series],
                    f"Progress toward the goal of {_num(page.goal)} "
                    f"{page.challenge.unit or ''}", goal=page.goal)
            return self.render("challenge.html", **self._page_values(
                community, session, page=page, c=page.challenge, chart=chart,
                palette=charts.PALETTE))

        return await self._guard(request, handle)

    async def achievements(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request)
            items = await self.engine.dashboard.achievement_catalog(
                ref, session.user_id if session else None)
            return self.render("achievements.html", **self._page_values(
                community, session, items=items))

        return await self._guard(request, handle)

    async def member(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request)
            m = await self.engine.dashboard.member_page(ref, request.path_params["user"])
            calendar = charts.calendar(set(m.active_days), m.first_day, m.last_day,
                                       f"Active days of {m.name} over the last year: "
                                       f"{plural(len(m.active_days), 'day')}")
            balance = charts.line_chart([("Points", m.balance)], f"Points of {m.name} over "
                                        "time") if m.balance else None
            return self.render("member.html", **self._page_values(
                community, session, m=m, calendar=calendar, balance=balance))

        return await self._guard(request, handle)

    # -- signing in ----------------------------------------------------------------------

    async def sign_in(self, request: Request) -> Response:
        """GET shows who the link signs in (link previews fetch it: nothing is spent);
        the button POSTs, which spends the link and starts the session."""
        async def handle() -> Response:
            community = await self.engine.dashboard.web_community(request.path_params["cid"])
            if community is None:
                raise Page(*NOT_FOUND)
            request.state.community = community
            links = await self.engine.dashboard.sign_in_links()
            try:
                claims = links.read(request.path_params["token"], community.public_id)
            except LinkRefused as exc:
                raise Page(403, "Sign-in link refused", exc.message) from exc
            if request.method != "POST":
                return self.render("sign_in.html", community=community, session=None,
                                   claims=claims, base=f"/c/{community.public_id}")
            if not origin_ok(request):
                raise Page(403, "Form refused", "This form was not sent from this site.")
            ref = CommunityRef(community.platform, community.external_id, community.name)
            if not await self.engine.dashboard.spend_link(ref, claims.nonce, claims.expires_at):
                raise Page(403, "Sign-in link refused", "This sign-in link was used already. "
                           "Type /dashboard for a new one.")
            target = f"/c/{community.public_id}/" + ("mod/" if claims.moderator else
                                                     f"?{urlencode({'me': 1})}")
            response = RedirectResponse(target, status_code=303)
            (await self.sessions()).start(response, community.public_id, claims.user_id,
                                          claims.name, claims.moderator)
            log.info("dashboard sign-in: %s member %s%s", community.public_id[:4] + "…",
                     claims.user_id, " (moderator)" if claims.moderator else "")
            return response

        return await self._guard(request, handle)

    async def sign_out(self, request: Request) -> Response:
        async def handle() -> Response:
            community, _, session = await self._open(request, members_only=True)
            await self._form(request, session)
            response = RedirectResponse(f"/c/{community.public_id}/", status_code=303)
            (await self.sessions()).end(response, community.public_id)
            return response

        return await self._guard(request, handle)

    # -- moderators ------------------------------------------------------------------------

    def _actor(self, ref: CommunityRef, session: Session) -> MemberRef:
        # The link was a moderator's when the platform said so (engine.dashboard.dashboard_link);
        # the engine checks moderator rights again on every change.
        return MemberRef(ref, session.user_id, session.name, is_admin=session.moderator)

    async def mod_stats(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            stats = await self.engine.dashboard.community_stats(ref)

            def bars(series: list[Any], what: str) -> Markup:
                return charts.bar_chart([(f"{d.day:%b %d}", d.value) for d in series],
                                        f"{what} per day, last {plural(len(series), 'day')}")

            return self.render("mod_stats.html", **self._page_values(
                community, session, stats=stats, bars=bars))

        return await self._guard(request, handle)

    async def mod_settings(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            assert session is not None
            notice = None
            if request.method == "POST":
                form = await self._form(request, session)
                name = form.get("setting", "")
                community = await self.engine.dashboard.set_web_setting(
                    self._actor(ref, session), name, form.get("value") == "on")
                notice = "Saved."
            view = await self.engine.community(ref)
            schedule = await self.engine.schedule_settings(ref)
            return self.render("mod_settings.html", **self._page_values(
                community, session, view=view, schedule=schedule, notice=notice))

        return await self._guard(request, handle)

    async def mod_announcements(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            parked = await self.engine.dashboard.parked_posts(ref)
            return self.render("mod_announcements.html", **self._page_values(
                community, session, parked=parked, notice=request.query_params.get("done")))

        return await self._guard(request, handle)

    async def mod_retry(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            assert session is not None
            await self._form(request, session)
            post = await self.engine.dashboard.retry_parked(self._actor(ref, session),
                                                            request.path_params["outbox_id"])
            return RedirectResponse(f"/c/{community.public_id}/mod/announcements?"
                                    f"{urlencode({'done': post.id})}", status_code=303)

        return await self._guard(request, handle)

    async def mod_audit(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            changes = await self.engine.dashboard.manual_changes(ref)
            return self.render("mod_audit.html", **self._page_values(
                community, session, changes=changes))

        return await self._guard(request, handle)

    async def mod_member(self, request: Request) -> Response:
        async def handle() -> Response:
            community, ref, session = await self._open(request, moderators=True)
            assert session is not None
            user = request.path_params["user"]
            actor = self._actor(ref, session)
            notice = error = None
            if request.method == "POST":
                form = await self._form(request, session)
                try:
                    amount = _int(form.get("amount", ""), "amount")
                    sign = {"award": 1, "deduct": -1}.get(form.get("action", ""))
                    if sign is None:
                        raise InvalidInput("Choose award or deduct.")
                    # The form's own id: a form sent twice (a double click, a retry after
                    # a lost answer) is recorded once.
                    line = await self.engine.award_points(
                        actor, MemberRef(ref, user), sign * amount, form.get("reason", ""),
                        key=f"web:{form.get('form_id', '')[:64]}")
                    notice = (f"{'Awarded' if sign > 0 else 'Deducted'} "
                              f"{plural(amount, 'point')}. New balance: {line.balance_after}.")
                except LaurelsError as exc:
                    error = exc.message
            m = await self.engine.dashboard.member_page(ref, user)
            lines = await self.engine.points_history(actor, user, limit=50)
            return self.render("mod_member.html", status=400 if error else 200,
                               **self._page_values(community, session, m=m, lines=lines,
                                                   notice=notice, error=error,
                                                   form_id=uuid.uuid4().hex))

        return await self._guard(request, handle)


def _int(raw: str, what: str) -> int:
    text = (raw or "").strip()
    if not text.isdecimal() or len(text) > 9:
        raise InvalidInput(f"The {what} must be a whole number.")
    value = int(text)
    if value < 1:
        raise InvalidInput(f"The {what} must be at least 1.")
    return value

