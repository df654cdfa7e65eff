"""The dashboard's HTML: one layout, tables, filter forms and pagination, all server-rendered.

Everything shown is escaped here; no page carries a script.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any, Sequence
from urllib.parse import urlencode

from nbadb.serve.http import Request
from nbadb.serve.queries import Page

NAV = (("/", "overview"), ("/runs", "runs"), ("/waste", "waste"), ("/patterns", "patterns"),
       ("/breakers", "breakers"), ("/gaps", "gaps"), ("/freshness", "freshness"), ("/quarantine", "quarantine"),
       ("/backfill", "backfill"), ("/predictions", "predictions"), ("/evaluation", "evaluation"),
       ("/health", "health"), ("/alerts", "alerts"), ("/schedule", "schedule"))
CURRENT = ' class="on"'
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#17408b;color:#fff;padding:8px 16px}header a{color:#fff;margin-right:10px;text-decoration:none}
header a.on{font-weight:bold;text-decoration:underline}header .brand{font-weight:bold;margin-right:20px}
main{padding:12px 16px;max-width:1200px}h1{font-size:20px}h2{font-size:16px;margin-top:22px}
table{border-collapse:collapse;font-size:12px;background:#fff}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
th{background:#f0f0f0}td.num{text-align:right}.muted{color:#777;font-size:12px}.empty{color:#777;font-style:italic}
form.filters{background:#fff;border:1px solid #ddd;padding:8px;margin:8px 0}form.filters label{margin-right:10px}
.cards{display:flex;gap:10px;flex-wrap:wrap}.card{background:#fff;border:1px solid #ddd;padding:10px;min-width:150px}
.card b{font-size:20px;display:block}.ok{color:#2ca02c}.bad{color:#d62728}.warn{color:#ff7f0e}
svg.chart{background:#fff;border:1px solid #ddd;max-width:780px}nav.pages a{margin-right:8px}
"""


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return escape(str(value))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, *, caption: str = "") -> str:
    if not rows:
        return f'<p class="empty">{escape(caption or "no rows")}: none.</p>'
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if isinstance(r.get(c), (int, float)) else ""}">{cell(r.get(c))}</td>'
                         for c in columns) + "</tr>" for r in rows)
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def select(name: str, choices: Sequence[str], chosen: str | None, label: str | None = None, *,
           offer_all: bool = True) -> str:
    """A filter's drop-down. Its empty choice, "all", is offered only where the page shows everything
    for it (offer_all=False where an empty value means a default: a page size, the evaluated season)."""
    options = ('<option value="">all</option>' if offer_all else "") + "".join(
        f'<option value="{escape(c)}"{" selected" if c == chosen else ""}>{escape(c)}</option>' for c in choices)
    return f'<label>{escape(label or name)} <select name="{escape(name)}">{options}</select></label>'


def date_input(name: str, value: date | None, label: str | None = None) -> str:
    return (f'<label>{escape(label or name)} <input type="date" name="{escape(name)}" '
            f'value="{value.isoformat() if value else ""}"></label>')


def filter_form(action: str, *fields: str) -> str:
    return f'<form class="filters" method="get" action="{escape(action)}">{"".join(fields)} <button type="submit">filter</button></form>'


def pager(request: Request, page: Page, shown: int) -> str:
    """Previous / next links keeping the other filters."""
    number = page.offset // page.limit + 1
    def link(n: int, text: str) -> str:
        query = {k: v for k, v in request.query.items() if v} | {"page": str(n)}
        return f'<a href="{escape(request.path)}?{escape(urlencode(query))}">{text}</a>'
    parts = [link(number - 1, "← previous")] if number > 1 else []
    if shown == page.limit:
        parts.append(link(number + 1, "next →"))
    return f'<nav class="pages">page {number} {" ".join(parts)}</nav>'


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """(label, value, css class) cards."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><span class="muted">{escape(label)}</span><b class="{css}">{escape(value)}</b></div>'
        for label, value, css in items) + "</div>"


def layout(request: Request, title: str, body: str, *, note: str = "") -> str:
    links = "".join(f'<a href="{href}"{CURRENT if href == request.path else ""}>{name}</a>' for href, name in NAV)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nbadb · {escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><span class="brand">nbadb</span>{links}</header><main><h1>{escape(title)}</h1>'
            f'{f"<p class=muted>{escape(note)}</p>" if note else ""}{body}</main></body></html>')
