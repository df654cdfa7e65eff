"""Charts as inline SVG, drawn in Python: no script, no CDN. Every chart is one `<svg role="img">`
with a `<title>`; each data mark carries class `mark` and its value in `data-value`, so a browser
test can tell a chart with data from an empty frame. A chart without data says so in text.
"""

from __future__ import annotations

import math
from html import escape
from typing import Sequence

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
STATUS_COLORS = {"success": "#2ca02c", "partial": "#bcbd22", "skipped": "#9ecae1", "failed": "#d62728",
                 "CLOSED": "#2ca02c", "HALF_OPEN": "#ff7f0e", "OPEN": "#d62728", "passed": "#2ca02c",
                 "fresh": "#2ca02c", "ageing": "#ff7f0e", "stale": "#d62728", "empty": "#7f7f7f",
                 "validated": "#2ca02c", "warned": "#ff7f0e", "no_games": "#9ecae1", "pending": "#7f7f7f"}
WIDTH = 760
LABEL_WIDTH = 66  # room one x-axis label (a date) takes
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def color_of(name: str, index: int) -> str:
    return STATUS_COLORS.get(name, PALETTE[index % len(PALETTE)])


def _frame(title: str, height: int, body: str) -> str:
    return (f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'xmlns="http://www.w3.org/2000/svg" {FONT}><title>{escape(title)}</title>{body}</svg>')


def empty(title: str) -> str:
    return f'<p class="empty">{escape(title)}: nothing to draw yet.</p>'


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _legend(names: Sequence[str], y: int) -> str:
    """One row of swatches; the names that do not fit are counted instead."""
    out, x = [], 60
    for i, name in enumerate(names):
        room = 24 + 7 * len(name)
        if x + room > WIDTH - 70:
            out.append(f'<text x="{x}" y="{y}">+{len(names) - i} more</text>')
            break
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color_of(name, i)}"/>'
                   f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
        x += room
    return "".join(out)


def hbars(title: str, items: Sequence[tuple[str, float]], unit: str = "", colors: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return empty(title)
    top = max(max(v for _, v in items), 1e-9)
    left, row = 250, 18
    body = []
    for i, (label, value) in enumerate(items):
        y = 8 + i * row
        width = (WIDTH - left - 80) * max(value, 0) / top
        fill = colors[i] if colors else PALETTE[0]
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="mark" data-value="{value:g}" x="{left}" y="{y + 2}" width="{width:.1f}" height="{row - 5}" '
                    f'fill="{fill}"><title>{escape(label)}: {_fmt(value)}{unit}</title></rect>'
                    f'<text x="{left + width + 4:.1f}" y="{y + 12}">{_fmt(value)}{unit}</text>')
    return _frame(title, 16 + len(items) * row, "".join(body))


def _axes(height: int, top: float, left: int, bottom: int, unit: str) -> str:
    plot_h = height - bottom - 10
    ticks = []
    for k in range(5):
        value = top * k / 4
        y = 10 + plot_h - plot_h * k / 4
        ticks.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}{unit}</text>')
    return "".join(ticks)


def _x_labels(labels: Sequence[str], left: int, step: float, height: int, bottom: int) -> str:
    every = max(1, math.ceil(len(labels) * LABEL_WIDTH / (WIDTH - left - 10)))  # labels never overlap
    return "".join(f'<text x="{left + step * (i + 0.5):.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                   f'{escape(label)}</text>' for i, label in enumerate(labels) if i % every == 0)


def stacked_bars(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], unit: str = "") -> str:
    """Vertical bars per label, stacked by series (e.g. runs per day by status)."""
    if not labels:
        return empty(title)
    height, left, bottom = 260, 50, 40
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(max(totals), 1e-9)
    step = (WIDTH - left - 10) / len(labels)
    plot_h = height - bottom - 10
    body = [_axes(height, top, left, bottom, unit)]
    for i, label in enumerate(labels):
        y = 10 + plot_h
        for k, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if values[i]:
                y -= h
                body.append(f'<rect class="mark" data-value="{values[i]:g}" x="{left + step * i + 1:.1f}" y="{y:.1f}" '
                            f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{color_of(name, k)}">'
                            f'<title>{escape(label)} {escape(name)}: {_fmt(values[i])}{unit}</title></rect>')
    body.append(_x_labels(labels, left, step, height, bottom))
    body.append(_legend(list(series), height - 6))
    return _frame(title, height, "".join(body))


def lines(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = "") -> str:
    """One line per series over the labels (None: no point)."""
    points = [v for values in series.values() for v in values if v is not None]
    if not labels or not points:
        return empty(title)
    height, left, bottom = 260, 50, 40
    top = max(max(points), 1e-9)
    step = (WIDTH - left - 10) / len(labels)
    plot_h = height - bottom - 10
    body = [_axes(height, top, left, bottom, unit)]
    for k, (name, values) in enumerate(series.items()):
        color = color_of(name, k)
        xy = [(left + step * (i + 0.5), 10 + plot_h - plot_h * v / top, v, labels[i])
              for i, v in enumerate(values) if v is not None]
        if len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in xy)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        body += [f'<circle class="mark" data-value="{v:g}" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                 f'<title>{escape(name)} {escape(label)}: {_fmt(v)}{unit}</title></circle>' for x, y, v, label in xy]
    body.append(_x_labels(labels, left, step, height, bottom))
    body.append(_legend(list(series), height - 6))
    return _frame(title, height, "".join(body))


def calibration(title: str, series: dict[str, Sequence[tuple[float, float, int]]]) -> str:
    """Per series, points (mean P(over), observed share of overs, rows) against the diagonal of a perfect
    calibration."""
    if not any(series.values()):
        return empty(title)
    size, left, lo = 300, 50, 0.0
    def pos(v: float) -> float:
        return (v - lo) / (1 - lo) * (size - 20)
    body = [f'<line x1="{left}" y1="{size - 10}" x2="{left + size - 20}" y2="10" stroke="#999" stroke-dasharray="4"/>',
            f'<text x="{left}" y="{size + 8}">P(over) {lo:g} → 1</text>',
            f'<text x="{left - 6}" y="14" text-anchor="end">1</text><text x="{left - 6}" y="{size - 10}" text-anchor="end">{lo:g}</text>']
    for k, (name, points) in enumerate(series.items()):
        color = color_of(name, k)
        for conf, rate, rows in points:
            body.append(f'<circle class="mark" data-value="{rate:g}" cx="{left + pos(conf):.1f}" '
                        f'cy="{size - 10 - pos(max(rate, lo)):.1f}" r="{min(3 + rows ** 0.5 / 6, 10):.1f}" '
                        f'fill="{color}" fill-opacity="0.7"><title>{escape(name)}: P(over) {conf:.2f}, '
                        f'observed {rate:.2f} ({rows} rows)</title></circle>')
    body.append(f'<g transform="translate({size + 40},0)">' + "".join(
        f'<rect x="0" y="{20 + 16 * k}" width="10" height="10" fill="{color_of(n, k)}"/>'
        f'<text x="14" y="{29 + 16 * k}">{escape(n)}</text>' for k, n in enumerate(series)) + "</g>")
    return _frame(title, size + 14, "".join(body))


def scatter(title: str, points: Sequence[tuple[float, float, str]], x_name: str, y_name: str) -> str:
    """Points (x, y, group), with the diagonal y = x."""
    if not points:
        return empty(title)
    height, left, bottom = 300, 50, 30
    top = max(max(max(x, y) for x, y, _ in points), 1e-9)
    span_x, span_y = WIDTH - left - 140, height - bottom - 10
    groups = sorted({g for _, _, g in points})
    body = [_axes(height, top, left, bottom, ""),
            f'<line x1="{left}" y1="{10 + span_y}" x2="{left + span_x}" y2="10" stroke="#999" stroke-dasharray="4"/>',
            f'<text x="{left + span_x / 2}" y="{height - 8}" text-anchor="middle">{escape(x_name)}</text>',
            f'<text x="12" y="{10 + span_y / 2}" transform="rotate(-90 12 {10 + span_y / 2})" text-anchor="middle">'
            f'{escape(y_name)}</text>']
    for x, y, group in points:
        color = color_of(group, groups.index(group))
        body.append(f'<circle class="mark" data-value="{y:g}" cx="{left + span_x * x / top:.1f}" '
                    f'cy="{10 + span_y - span_y * y / top:.1f}" r="3" fill="{color}" fill-opacity="0.75">'
                    f'<title>{escape(group)}: {x_name} {x:g}, {y_name} {y:g}</title></circle>')
    body.append(f'<g transform="translate({left + span_x + 20},0)">' + "".join(
        f'<rect x="0" y="{20 + 16 * k}" width="10" height="10" fill="{color_of(g, k)}"/>'
        f'<text x="14" y="{29 + 16 * k}">{escape(g)}</text>' for k, g in enumerate(groups)) + "</g>")
    return _frame(title, height, "".join(body))


def strip(title: str, cells: Sequence[tuple[str, str]]) -> str:
    """One square per (label, state), coloured by state: e.g. a backfill's dates."""
    if not cells:
        return empty(title)
    per_row, size = 30, 22
    body = [f'<rect class="mark" data-value="{escape(state)}" x="{10 + (i % per_row) * size}" '
            f'y="{10 + (i // per_row) * size}" width="{size - 3}" height="{size - 3}" fill="{color_of(state, i)}">'
            f'<title>{escape(label)}: {escape(state)}</title></rect>' for i, (label, state) in enumerate(cells)]
    return _frame(title, 20 + ((len(cells) - 1) // per_row + 1) * size, "".join(body))
