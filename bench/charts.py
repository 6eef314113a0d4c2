#!/usr/bin/env python3
"""Draws the benchmark results as SVG charts for the book, from bench/out/results.json.

    python3 bench/charts.py [RESULTS_JSON] [OUT_DIR]
        defaults: bench/out/results.json, docs/src/benchmarks/charts

Writes two files into OUT_DIR:
    ratios.svg  every workload's systems as bars: throughput (or, for "lower is better"
                workloads, the inverse) relative to the floor measured in the same run; 1.0 is
                the floor, a dashed line. Systems that were not measured say why.
    growth.svg  W7: p50 latency of a one-event append on an empty store and on the big store,
                per system, with the growth factors the run computed.

Standard library only (no matplotlib): the charts are plain SVG text, so they diff in review
and render in any browser and in the book without network access.
"""
import json
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
WIDTH = 900
LABEL_W = 330  # room for the system's label left of the bars
BAR_H = 16
GAP = 5

# One colour per kind of system, so a reader can follow ours across workloads.
COLOURS = [
    ("floor", "#9e9e9e"),
    ("pgbench", "#9e9e9e"),
    ("ours", "#1f77b4"),
    ("naive", "#ff7f0e"),
    ("eventcore", "#2ca02c"),
    ("message db", "#9467bd"),
    ("sqlx", "#8c564b"),
]


def colour(label):
    low = label.lower()
    for key, value in COLOURS:
        if low.startswith(key) or key in low.split(":")[0]:
            return value
    return "#7f7f7f"


def text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return (f"<text x='{x:.1f}' y='{y:.1f}' {FONT} font-size='{size}' text-anchor='{anchor}' "
            f"font-weight='{weight}' fill='{fill}'>{escape(s)}</text>")


def svg(height, body, title):
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
            f"viewBox='0 0 {WIDTH} {height:.0f}' role='img'>\n<title>{escape(title)}</title>\n"
            f"<rect width='100%' height='100%' fill='white'/>\n" + "\n".join(body) + "\n</svg>\n")


def run_line(results):
    mode = "quick run" if results.get("quick") else "full run"
    return f"make bench, {mode}, {results.get('rounds', '?')} rounds per workload"


def ratios_chart(results):
    tables = [t for t in results["tables"] if t["lines"] and any(
        line.get("ratio_to_floor") is not None for line in t["lines"])]
    top = max([line.get("ratio_to_floor") or 0 for t in tables for line in t["lines"]] + [1.0])
    scale_max = max(1.5, round(top * 1.1 + 0.05, 1))
    plot_w = WIDTH - LABEL_W - 60
    x_of = lambda r: LABEL_W + plot_w * r / scale_max  # noqa: E731
    body = [text(10, 22, "Throughput relative to the floor (plain INSERT/SELECT, no trigger), "
                 "same run", 15, weight="bold"),
            text(10, 40, run_line(results) + ". Longer is better; for lag and memory the ratio "
                 "is floor / system.", 11, fill="#555")]
    y = 60
    for t in tables:
        body.append(text(10, y + 12, f"{t['id']}: {t['title']}", 12.5, weight="bold"))
        y += 20
        group_top = y
        for line in t["lines"]:
            label = line["label"]
            ratio = line.get("ratio_to_floor")
            body.append(text(LABEL_W - 8, y + BAR_H - 4, label if len(label) <= 52 else label[:51] + "…",
                             11, anchor="end"))
            if ratio is None:
                why = line.get("missing") or "not measured"
                body.append(text(LABEL_W + 4, y + BAR_H - 4, why[:90], 10.5, fill="#b00"))
            else:
                body.append(f"<rect x='{LABEL_W}' y='{y}' width='{x_of(ratio) - LABEL_W:.1f}' "
                            f"height='{BAR_H}' fill='{colour(label)}'/>")
                body.append(text(x_of(ratio) + 4, y + BAR_H - 4, f"{ratio:.2f}x", 10.5))
            y += BAR_H + GAP
        body.append(f"<line x1='{x_of(1.0):.1f}' y1='{group_top - 3}' x2='{x_of(1.0):.1f}' "
                    f"y2='{y - GAP + 3}' stroke='#333' stroke-dasharray='4,3'/>")
        y += 10
    # Scale under the last group.
    step = 0.5 if scale_max <= 3 else 1.0
    tick = 0.0
    body.append(f"<line x1='{LABEL_W}' y1='{y}' x2='{x_of(scale_max):.1f}' y2='{y}' stroke='#333'/>")
    while tick <= scale_max + 1e-9:
        body.append(f"<line x1='{x_of(tick):.1f}' y1='{y}' x2='{x_of(tick):.1f}' y2='{y + 5}' stroke='#333'/>")
        body.append(text(x_of(tick), y + 18, f"{tick:g}x", 10.5, anchor="middle"))
        tick += step
    failed = [t for t in results["tables"] if t not in tables]
    y += 40
    for t in failed:
        measured = any(line.get("median") is not None for line in t["lines"])
        why = next((f for f in t.get("footnotes", []) if "failed" in f.lower()),
                   f"no ratio to a floor ({t.get('unit') or 'absolute'} only: see the results tables)"
                   if measured else "no measurements")
        body.append(text(10, y, f"{t['id']} ({t['title']}): not charted: {why.replace('**', '')}"[:140],
                         11, fill="#b00"))
        y += 18
    return svg(y + 10, body, "angzarr_store benchmarks: ratio to the floor per workload and system")


def growth_chart(results):
    table = next((t for t in results["tables"] if t["id"] == "W7"), None)
    body = [text(10, 22, "Latency growth with store size (W7)", 15, weight="bold"),
            text(10, 40, run_line(results) + ". p50 latency of a one-event append, empty store vs "
                 "big store, same rounds. Shorter is better.", 11, fill="#555")]
    lines = [line for line in (table or {}).get("lines", []) if line.get("median") is not None]
    if not lines:
        why = "W7 was not run" if table is None else next(
            (f.replace("**", "") for f in table.get("footnotes", []) if "failed" in f.lower()),
            "W7 has no measurements")
        body.append(text(10, 75, f"Not measured in this run: {why}"[:140], 12, fill="#b00"))
        return svg(95, body, "angzarr_store benchmarks: latency growth with store size (not measured)")
    top = max(line["median"] for line in lines)
    plot_w = WIDTH - LABEL_W - 320
    x_of = lambda v: LABEL_W + plot_w * v / (top * 1.1)  # noqa: E731
    y = 60
    for line in lines:
        label = line["label"]
        body.append(text(LABEL_W - 8, y + BAR_H - 4, label if len(label) <= 52 else label[:51] + "…",
                         11, anchor="end"))
        fill = colour(label)
        opacity = "0.55" if label.endswith("empty store") else "1"
        body.append(f"<rect x='{LABEL_W}' y='{y}' width='{x_of(line['median']) - LABEL_W:.1f}' "
                    f"height='{BAR_H}' fill='{fill}' fill-opacity='{opacity}'/>")
        growth = ", ".join(n for n in line.get("notes", []) if "growth" in n)
        body.append(text(x_of(line["median"]) + 4, y + BAR_H - 4,
                         f"{line['median']:.3f} ms" + (f"  ({growth})" if growth else ""), 10.5))
        y += BAR_H + GAP
    y += 15
    for note in table.get("footnotes", [])[:1]:
        body.append(text(10, y, note[:150], 10.5, fill="#555"))
        y += 16
    return svg(y + 10, body, "angzarr_store benchmarks: latency growth with store size")


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/out/results.json"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/src/benchmarks/charts"
    results = json.loads(src.read_text())
    out.mkdir(parents=True, exist_ok=True)
    (out / "ratios.svg").write_text(ratios_chart(results))
    (out / "growth.svg").write_text(growth_chart(results))
    print(f"charts: {out / 'ratios.svg'}, {out / 'growth.svg'}")


if __name__ == "__main__":
    main()
