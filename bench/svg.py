"""A horizontal bar chart as a plain SVG file (no plotting library needed).

Panels of bars; each bar has a label, a value, a colour class and an optional note shown
after the value. A panel may draw a dashed target line.
"""

from __future__ import annotations

from html import escape

COLOURS = {
    "public": "#9aa5b1",     # unprotected route
    "protected": "#2f6fdf",  # protected route (rampart)
    "peer": "#e0892b",       # FastAPI
    "peer-public": "#f2c08f",
    "grant": "#2e9e5b",
}


def bar_chart(title: str, subtitle: str, panels: list[dict], path) -> None:
    """panels: [{"title", "unit", "target": (value, label) | None,
                 "bars": [{"label", "value", "kind", "note"}]}]"""
    width, left, right = 900, 250, 150
    plot = width - left - right
    bar_h, gap, panel_gap, head = 20, 6, 38, 64
    height = head
    for panel in panels:
        height += panel_gap + len(panel["bars"]) * (bar_h + gap)
    height += 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="20" y="28" font-size="18" font-weight="600">{escape(title)}</text>',
        f'<text x="20" y="48" fill="#555">{escape(subtitle)}</text>',
    ]
    y = head
    for panel in panels:
        y += panel_gap
        out.append(f'<text x="20" y="{y - 12}" font-weight="600">{escape(panel["title"])}</text>')
        top = max([b["value"] for b in panel["bars"]] + [panel["target"][0] if panel.get("target") else 0])
        scale = plot / (top * 1.05 if top else 1)
        panel_top = y
        for bar in panel["bars"]:
            w = max(1.0, bar["value"] * scale)
            colour = COLOURS.get(bar["kind"], "#666")
            out.append(f'<text x="{left - 8}" y="{y + bar_h - 6}" text-anchor="end">{escape(bar["label"])}</text>')
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}" rx="2"/>')
            value = f'{bar["value"]:,.0f} {panel["unit"]}'
            if bar.get("note"):
                value += f'  ({bar["note"]})'
            out.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h - 6}" fill="#222">{escape(value)}</text>')
            y += bar_h + gap
        if panel.get("target"):
            value, label = panel["target"]
            x = left + value * scale
            out.append(f'<line x1="{x:.1f}" y1="{panel_top - 4}" x2="{x:.1f}" y2="{y}" stroke="#c0392b" '
                       f'stroke-dasharray="5,4" stroke-width="1.5"/>')
            out.append(f'<text x="{x + 4:.1f}" y="{panel_top - 6}" fill="#c0392b" font-size="11">{escape(label)}</text>')
    legend_y = y + 24
    x = 20
    for kind, text in [("public", "unprotected"), ("protected", "protected (rampart)"),
                       ("peer-public", "FastAPI unprotected"), ("peer", "FastAPI protected"),
                       ("grant", "token endpoint")]:
        out.append(f'<rect x="{x}" y="{legend_y - 11}" width="12" height="12" fill="{COLOURS[kind]}"/>')
        out.append(f'<text x="{x + 17}" y="{legend_y}">{escape(text)}</text>')
        x += 30 + 7.2 * len(text)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
