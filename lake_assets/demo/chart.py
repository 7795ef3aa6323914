"""A small chart of the demo's answer, readings and quarantined rows per day, as an SVG file
(no plotting library: a picture for people who would rather look than read)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 40, 50


def days_chart(rows: Sequence[tuple[str, int, int | None]], title: str) -> str:
    """`rows`: (YYYYMMDD, readings, quarantined) per day. Bars are readings (left axis), the
    line and dots are quarantined rows (right axis)."""
    n = max(len(rows), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_readings = max([r[1] for r in rows] + [1])
    top_quarantine = max([r[2] or 0 for r in rows] + [1])
    slot = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#555"/>',
    ]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end" fill="#2f6db5">'
            f"{_number(top_readings * frac)}</text>"
        )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{y + 4}" fill="#c0392b">'
            f"{_number(top_quarantine * frac)}</text>"
        )
    points = []
    for i, (date, readings, quarantined) in enumerate(rows):
        x = LEFT + slot * i + slot * 0.15
        h = plot_h * readings / top_readings
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#2f6db5"><title>{date}: {readings:,} readings</title></rect>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{date[4:6]}-{date[6:]}</text>"
        )
        if quarantined is not None:
            qy = TOP + plot_h * (1 - quarantined / top_quarantine)
            points.append((x + slot * 0.35, qy, date, quarantined))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#c0392b">'
            f"<title>{date}: {q} quarantined</title></circle>"
            for x, y, date, q in points
        ]
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 12}" fill="#2f6db5">■ readings (left)</text>'
        f'<text x="{LEFT + 160}" y="{HEIGHT - 12}" fill="#c0392b">● quarantined rows (right)'
        "</text></svg>"
    )
    return "\n".join(parts) + "\n"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
