"""`/api/docs`: the OpenAPI document rendered as one HTML page on the server.

No script and nothing fetched from elsewhere: the page works offline, behind a strict
Content-Security-Policy, and is what the schema says (it is rendered from it). The raw
document is at `/api/openapi.json` for tools that generate clients.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["render_docs"]

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f}
h1{margin-bottom:0}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:3.5rem;font-weight:700;font-family:monospace}
.get{color:#0a6b2d}.post{color:#8a4b00}code,pre{font-family:ui-monospace,monospace;
font-size:13px}pre{background:#f5f5f7;padding:.5rem;overflow:auto}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #e3e3e3;
padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#fafafa}
nav a{margin-right:1rem}
"""


def render_docs(doc: dict[str, Any]) -> str:
    info = doc.get("info", {})
    server = (doc.get("servers") or [{}])[0].get("url", "")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head>",
        f"<body><h1>{escape(info.get('title', 'API'))}</h1>",
        f"<p>Version {escape(str(info.get('version', '')))} · "
        f"<a href='{escape(server)}/openapi.json'>OpenAPI document</a></p>",
        _paragraphs(info.get("description", "")),
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                op = item[method]
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append(
                    (method, path, op))
    parts.append("<nav>" + "".join(f"<a href='#{escape(t)}'>{escape(t)}</a>"
                                   for t in by_tag) + "<a href='#schemas'>schemas</a></nav>")
    for tag, ops in by_tag.items():
        parts.append(f"<h2 id='{escape(tag)}'>{escape(tag)}</h2>")
        parts.extend(_operation(server, method, path, op) for method, path, op in ops)
    parts.append("<h2 id='schemas'>schemas</h2>")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        parts.append(_schema(name, schema))
    parts.append("</body></html>")
    return "\n".join(parts)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_inline(p)}</p>" for p in text.split("\n\n") if p.strip())


def _inline(text: str) -> str:
    """Escaped text with `code` spans: the only markup the descriptions use."""
    pieces = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _operation(server: str, method: str, path: str, op: dict[str, Any]) -> str:
    anchor = escape(op.get("operationId", f"{method}{path}"))
    out = [f"<div class=op id='{anchor}'><p><span class='m {method}'>{method.upper()}</span>"
           f" <code>{escape(server + path)}</code> — {escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        out.append(_paragraphs(op["description"]))
    params = op.get("parameters", [])
    if params:
        out.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>"
                   "<th>description</th></tr>")
        for p in params:
            out.append(f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}"
                       f"</td><td>{_type(p.get('schema', {}))}</td>"
                       f"<td>{'yes' if p.get('required') else 'no'}</td>"
                       f"<td>{_inline(p.get('description', '') or _bounds(p))}</td></tr>")
        out.append("</table>")
    body = op.get("requestBody")
    if body:
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        out.append(f"<p>Body (JSON): {_type(schema)}"
                   f"{' (required)' if body.get('required') else ''}</p>")
    out.append("<table><tr><th>status</th><th>answer</th></tr>")
    for status, resp in op.get("responses", {}).items():
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        shown = f" {_type(schema)}" if schema else ""
        out.append(f"<tr><td>{escape(status)}</td><td>{_inline(resp.get('description', ''))}"
                   f"{shown}</td></tr>")
    out.append("</table>")
    if op.get("security"):
        out.append("<p>Needs <code>Authorization: Bearer lrl_…</code>.</p>")
    out.append("</div>")
    return "".join(out)


def _bounds(p: dict[str, Any]) -> str:
    s = p.get("schema", {})
    limits = [f"{word} {s[key]}" for key, word in (("minimum", "at least"),
                                                   ("maximum", "at most")) if key in s]
    if "default" in s:
        limits.append(f"default {json.dumps(s['default'])}")
    return ", ".join(limits)


def _type(schema: dict[str, Any] | None) -> str:
    """A schema's type in a few words, its named parts linked."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{escape(name)}'>{escape(name)}</a>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type(s) for s in schema[key])
    if "enum" in schema:
        return " | ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items'))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of {_type(schema['additionalProperties'])}"
    if schema.get("format"):
        return f"{escape(str(kind))} ({escape(schema['format'])})"
    return escape(str(kind))


def _schema(name: str, schema: dict[str, Any]) -> str:
    out = [f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3>"]
    if schema.get("description"):
        out.append(_paragraphs(schema["description"]))
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    if props:
        out.append("<table><tr><th>field</th><th>type</th><th>required</th>"
                   "<th>description</th></tr>")
        for field, spec in props.items():
            out.append(f"<tr><td><code>{escape(field)}</code></td><td>{_type(spec)}</td>"
                       f"<td>{'yes' if field in required else 'no'}</td>"
                       f"<td>{_inline(spec.get('description', '') or _bounds({'schema': spec}))}"
                       "</td></tr>")
        out.append("</table>")
    return "".join(out)
