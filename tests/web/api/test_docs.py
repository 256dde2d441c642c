"""`/api/docs` documents every operation from the OpenAPI document, with nothing loaded
from elsewhere (it works offline); `/api/openapi.json` is the document itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from engine.leaderboards import MAX_PAGE_SIZE
from tests.web.api.conftest import World


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_the_docs_page_shows_every_operation_offline(world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()
    r = await world.client.get("/api/docs")  # no token needed to read the documentation

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    page = _Page()
    page.feed(r.text)
    text = " ".join(page.text)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert f"{method.upper()} /api{path}" in " ".join(text.split()), (method, path)
            assert op["summary"] in text
    for name in doc["components"]["schemas"]:
        assert ("h3", {"id": f"schema-{name}"}) in page.tags, name
    assert not [t for t, _ in page.tags if t in ("script", "link", "img", "iframe")]
    links = [a.get("href") or "" for t, a in page.tags if t == "a"]
    assert all(not re.match(r"^[a-z]+:", href) for href in links), links
    assert "Authorization: Bearer" in text and '{"error": {"code"' in text


async def test_the_openapi_document_describes_auth_errors_and_bodies(world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()

    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "Laurels API"
    assert doc["servers"] == [{"url": "/api"}]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    board = doc["paths"]["/v1/communities/{community}/leaderboard"]["get"]
    assert board["security"] == [{"HTTPBearer": []}]
    params = {p["name"]: p for p in board["parameters"]}
    assert params["page_size"]["schema"]["maximum"] == MAX_PAGE_SIZE
    assert params["period"]["schema"]["enum"] == ["all", "week", "month"]
    for status in ("401", "403", "422", "429"):
        assert board["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"}
    award = doc["paths"]["/v1/communities/{community}/members/{member}/points"]["post"]
    assert "201" in award["responses"] and "409" in award["responses"]
    body = award["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/AwardPoints")
