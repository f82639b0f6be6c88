"""`kemala audit report`: the canned figures as one self-contained HTML file (charts embedded as PNG),
and the same numbers as CSV files, one per figure."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure as Canvas

from kemala_cli.audit.figures import AGE_BUCKETS, FIGURES, Figure

Rows = list[tuple[Any, ...]]


def _column(columns: list[str], rows: Rows, name: str) -> list[Any]:
    i = columns.index(name)
    return [r[i] for r in rows]


def _bars(ax: Any, labels: Sequence[str], series: dict[str, list[float]]) -> None:
    """Grouped bars, one group per label."""
    width = 0.8 / max(len(series), 1)
    for n, (name, values) in enumerate(series.items()):
        ax.bar([i + n * width for i in range(len(labels))], values, width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels, rotation=30)
    ax.legend(fontsize=8)


def _stacked(ax: Any, labels: Sequence[str], stacks: dict[str, list[float]]) -> None:
    bottom = [0.0] * len(labels)
    for name, values in stacks.items():
        ax.bar(labels, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8)


def _pivot(rows: Rows, x: int, stack: int, value: int, order: Sequence[str] = ()) -> tuple[list[str], dict]:
    table: dict[str, dict[str, float]] = defaultdict(dict)
    xs: list[str] = list(order)
    for r in rows:
        table[str(r[stack])][str(r[x])] = float(r[value] or 0)
        if str(r[x]) not in xs:
            xs.append(str(r[x]))
    xs = [v for v in xs if any(v in row for row in table.values())]
    return xs, {s: [row.get(v, 0.0) for v in xs] for s, row in table.items()}


def _chart_response(ax: Any, columns: list[str], rows: Rows) -> None:
    labels = [str(a) for a in _column(columns, rows, "agency_id")]
    series = {
        c: [float(v or 0) for v in _column(columns, rows, c)]
        for c in ("response_median_h", "response_p90_h", "resolution_median_h", "resolution_p90_h")
    }
    _bars(ax, labels, series)
    ax.set_ylabel("hours since complaint")


def _chart_sla(ax: Any, columns: list[str], rows: Rows) -> None:
    labels = [str(a) for a in _column(columns, rows, "agency_id")]
    stacks = {c: [float(v) for v in _column(columns, rows, c)] for c in ("met", "late", "open_overdue")}
    _stacked(ax, labels, stacks)
    ax.set_ylabel("tickets")


def _chart_backlog(ax: Any, columns: list[str], rows: Rows) -> None:
    labels, stacks = _pivot(rows, 0, 1, 2, AGE_BUCKETS)
    _stacked(ax, labels, stacks)
    ax.set_ylabel("open tickets")


def _chart_triage(ax: Any, columns: list[str], rows: Rows) -> None:
    labels, stacks = _pivot(rows, 1, 0, 2)
    _stacked(ax, labels, stacks)
    ax.set_ylabel("triage decisions")


def _chart_rejections(ax: Any, columns: list[str], rows: Rows) -> None:
    labels = [str(a) for a in _column(columns, rows, "agency_id")]
    series = {c: [float(v) for v in _column(columns, rows, c)] for c in ("rejected", "reassigned_away")}
    _bars(ax, labels, series)
    ax.set_ylabel("tickets")


def _chart_categories(ax: Any, columns: list[str], rows: Rows) -> None:
    categories, by_region = _pivot(rows, 1, 0, 2)
    regions = sorted(by_region, key=lambda r: -sum(by_region[r]))[:15]
    grid = [by_region[r] for r in regions]
    image = ax.imshow(grid, aspect="auto", cmap="Blues")
    ax.set_xticks(range(len(categories)), categories, rotation=30)
    ax.set_yticks(range(len(regions)), regions)
    ax.figure.colorbar(image, ax=ax, label="tickets")


CHARTS: dict[str, Callable[[Any, list[str], Rows], None]] = {
    "response_times": _chart_response,
    "sla": _chart_sla,
    "backlog": _chart_backlog,
    "triage": _chart_triage,
    "rejections_reassignments": _chart_rejections,
    "categories_by_region": _chart_categories,
}


def _png(figure: Figure, columns: list[str], rows: Rows) -> str | None:
    if not rows:
        return None
    canvas = Canvas(figsize=(8, 3.6), layout="constrained")
    ax = canvas.subplots()
    CHARTS[figure.name](ax, columns, rows)
    ax.set_title(figure.title, fontsize=10)
    buf = io.BytesIO()
    canvas.savefig(buf, format="png", dpi=90)
    plt.close("all")
    return base64.b64encode(buf.getvalue()).decode()


def _table(columns: list[str], rows: Rows) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body or '<tr><td>(none)</td></tr>'}</table>"


def default_now(con: duckdb.DuckDBPyConnection) -> str:
    """The export's point in time; for exports without one (moto), the latest event time."""
    row = con.execute(
        "SELECT coalesce((SELECT max(export_time) FROM export_info), (SELECT max(e.at) FROM ticket_events e))"
    ).fetchone()
    if not row or row[0] is None:
        raise ValueError("the database holds no export time and no events; pass --now")
    return str(row[0].isoformat())


def write_report(
    con: duckdb.DuckDBPyConnection, out: Path, now: str, csv_dir: Path | None
) -> dict[str, Rows]:
    """Run every figure, write the HTML (and CSVs); returns each figure's rows."""
    info = con.execute("SELECT export_id, layout, location, export_time FROM export_info").fetchone()
    totals = con.execute("SELECT status, count(*) FROM tickets GROUP BY 1 ORDER BY 1").fetchall()
    sections, results = [], {}
    for figure in FIGURES:
        columns, rows = figure.run(con, now)
        results[figure.name] = rows
        if csv_dir is not None:
            csv_dir.mkdir(parents=True, exist_ok=True)
            with (csv_dir / f"{figure.name}.csv").open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                writer.writerows(rows)
        png = _png(figure, columns, rows)
        image = f'<img alt="{html.escape(figure.title)}" src="data:image/png;base64,{png}">' if png else ""
        sections.append(
            f"<h2>{html.escape(figure.title)}</h2><p>{html.escape(figure.explanation)}</p>"
            f"{image}{_table(columns, rows)}"
        )
    source = "unknown export" if info is None else f"export {info[0]} ({info[1]} layout) from {info[2]}"
    summary = ", ".join(f"{s}: {n}" for s, n in totals) or "no tickets"
    out.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Kemala audit report</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}</style></head><body>"
        f"<h1>Kemala audit report</h1><p>{html.escape(source)}. Figures as of {html.escape(now)}.</p>"
        f"<p>Tickets by status: {html.escape(summary)}.</p>" + "".join(sections) + "</body></html>",
        encoding="utf-8",
    )
    return results
