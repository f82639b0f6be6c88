"""`kemala audit load`: one table export into a DuckDB file, as typed tables and views.

Tables: `tickets` (one column per field of the Ticket model, times as TIMESTAMPTZ), `ticket_events`,
`tweet_links`, `other_items` (anything else, so nothing is silently dropped) and `export_info`. Each
row also keeps `item`, the whole decoded item as JSON, which `verify` hashes; typed columns are for
people. The view `event_states` replays status and agency along each ticket's events (see `VIEWS`).

Citizen text (`text` on tickets and on follow-up links) is left out unless `--with-text`: auditors check
handling, not what citizens wrote, and a local copy should not outlive a citizen's deletion.
"""

from __future__ import annotations

import json
import tempfile
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import duckdb
from kemala.models.ticket import Ticket

from kemala_cli.audit.source import Export

CITIZEN_TEXT = "text"

EVENT_COLUMNS = {
    "ticket_id": "VARCHAR",
    "seq": "BIGINT",
    "type": "VARCHAR",
    "actor": "VARCHAR",
    "actor_kind": "VARCHAR",
    "at": "TIMESTAMPTZ",
    "set": "JSON",
    "data": "JSON",
    "prev_hash": "VARCHAR",
    "hash": "VARCHAR",
    "set_status": "VARCHAR",
    "set_agency": "VARCHAR",
}
LINK_COLUMNS = {
    "tweet_id": "VARCHAR",
    "ticket_id": "VARCHAR",
    "role": "VARCHAR",
    "routing_enqueued_at": "TIMESTAMPTZ",
}

VIEWS = """
-- Status and agency after (and before) each event, replayed from the events' `set` alone.
-- set_agency is '' where an event cleared the agency (set.agency_id = null), NULL where it left it.
CREATE OR REPLACE VIEW event_states AS
WITH running AS (
  SELECT *,
    last_value(set_status IGNORE NULLS) OVER w AS status_after,
    NULLIF(last_value(set_agency IGNORE NULLS) OVER w, '') AS agency_after
  FROM ticket_events
  WINDOW w AS (PARTITION BY ticket_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT *,
  lag(status_after) OVER (PARTITION BY ticket_id ORDER BY seq) AS status_before,
  lag(agency_after) OVER (PARTITION BY ticket_id ORDER BY seq) AS agency_before
FROM running;
"""


def _duck_type(name: str, annotation: Any) -> str:
    """DuckDB type of a Ticket field, from its annotation (times are the str fields named *_at)."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is list:
        (inner,) = get_args(annotation)
        return {str: "VARCHAR[]", float: "DOUBLE[]", int: "BIGINT[]"}.get(inner, "JSON")
    if annotation is str:
        return "TIMESTAMPTZ" if name.endswith("_at") else "VARCHAR"
    if isinstance(annotation, type) and issubclass(annotation, str):
        return "VARCHAR"  # str enums (TicketStatus)
    return {int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}.get(annotation, "JSON")


def ticket_columns(with_text: bool) -> dict[str, str]:
    return {
        name: _duck_type(name, field.annotation)
        for name, field in Ticket.model_fields.items()
        if with_text or name != CITIZEN_TEXT
    }


def without_citizen_text(value: Any) -> Any:
    """`value` with every `text`/`followup_text` key removed, also inside JSON-encoded strings (the
    router's OUTBOX items hold whole message envelopes, ticket text included, as a JSON string)."""
    if isinstance(value, dict):
        return {k: without_citizen_text(v) for k, v in value.items() if k not in _TEXT_KEYS}
    if isinstance(value, list):
        return [without_citizen_text(v) for v in value]
    if isinstance(value, str) and value.startswith("{") and any(f'"{k}"' in value for k in _TEXT_KEYS):
        try:
            return json.dumps(without_citizen_text(json.loads(value)), ensure_ascii=False)
        except json.JSONDecodeError:
            return value
    return value


_TEXT_KEYS = frozenset({CITIZEN_TEXT, "followup_text"})


def _event_row(item: dict[str, Any]) -> dict[str, Any]:
    row = {name: item.get(name) for name in EVENT_COLUMNS}
    changed = item.get("set") or {}
    row["actor_kind"] = str(item.get("actor", "")).split(":", 1)[0]
    row["set_status"] = changed.get("status")
    if "agency_id" in changed:
        row["set_agency"] = changed["agency_id"] or ""
    return row


class _Sink:
    """NDJSON files that DuckDB's read_json turns into typed tables in one pass."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        if table not in self.files:
            self.files[table] = (self.folder / f"{table}.jsonl").open("w", encoding="utf-8")
            self.counts[table] = 0
        self.files[table].write(json.dumps(row, ensure_ascii=False) + "\n")
        self.counts[table] += 1

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


def _create(con: duckdb.DuckDBPyConnection, sink: _Sink, table: str, columns: dict[str, str]) -> None:
    """CREATE OR REPLACE `table` from its NDJSON, casting text to each column's type."""
    path = sink.folder / f"{table}.jsonl"
    staged = {**{c: "VARCHAR" if t == "TIMESTAMPTZ" else t for c, t in columns.items()}, "item": "JSON"}
    staged["source"] = "VARCHAR"
    select = ", ".join(
        f'CAST("{c}" AS TIMESTAMPTZ) AS "{c}"' if t == "TIMESTAMPTZ" else f'"{c}"' for c, t in columns.items()
    )
    if not path.exists():
        cols = ", ".join(f'"{c}" {t}' for c, t in {**columns, "item": "JSON", "source": "VARCHAR"}.items())
        con.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
        return
    spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in staged.items()) + "}"
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {select}, item, source "
        f"FROM read_json(?, format='newline_delimited', columns={spec})",
        [str(path)],
    )


def load_export(export: Export, db_path: Path, with_text: bool = False) -> dict[str, int]:
    """Decode every item of `export` into `db_path` (tables replaced); returns row counts per table."""
    tickets = ticket_columns(with_text)
    with tempfile.TemporaryDirectory(prefix="kemala-audit-") as tmp:
        sink = _Sink(Path(tmp))
        try:
            for where, item in export.items():
                pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
                kept = item if with_text else without_citizen_text(item)
                extra = {"item": kept, "source": where}
                if pk.startswith("TICKET#") and sk == "TICKET":
                    sink.add("tickets", {**{c: kept.get(c) for c in tickets}, **extra})
                elif pk.startswith("TICKET#") and sk.startswith("EVENT#"):
                    # Events never hold citizen text (only digests; docs/decisions.md), and their hash
                    # covers every field: a `data.text` here is the agency's own public reply.
                    sink.add("ticket_events", {**_event_row(item), "item": item, "source": where})
                elif pk.startswith("TWEET#"):
                    row = {c: kept.get(c) for c in LINK_COLUMNS}
                    if with_text:
                        row[CITIZEN_TEXT] = item.get(CITIZEN_TEXT)
                    sink.add("tweet_links", {**row, **extra})
                else:
                    sink.add("other_items", {"pk": pk, "sk": sk, **extra})
        finally:
            sink.close()
        link_columns = {**LINK_COLUMNS, **({CITIZEN_TEXT: "VARCHAR"} if with_text else {})}
        db_path.unlink(missing_ok=True)
        con = duckdb.connect(str(db_path))
        try:
            con.execute("SET TimeZone = 'UTC'")
            _create(con, sink, "tickets", tickets)
            _create(con, sink, "ticket_events", EVENT_COLUMNS)
            _create(con, sink, "tweet_links", link_columns)
            _create(con, sink, "other_items", {"pk": "VARCHAR", "sk": "VARCHAR"})
            con.execute(VIEWS)
            _record_export(con, export, with_text, sum(sink.counts.values()))
        finally:
            con.close()
    return {t: sink.counts.get(t, 0) for t in ("tickets", "ticket_events", "tweet_links", "other_items")}


def _record_export(con: duckdb.DuckDBPyConnection, export: Export, with_text: bool, items: int) -> None:
    summary = export.summary
    con.execute(
        "CREATE OR REPLACE TABLE export_info (export_id VARCHAR, export_arn VARCHAR, layout VARCHAR, "
        "location VARCHAR, export_time TIMESTAMPTZ, items BIGINT, manifest_checked BOOLEAN, "
        "with_text BOOLEAN, loaded_at TIMESTAMPTZ)"
    )
    con.execute(
        "INSERT INTO export_info VALUES "
        "(?, ?, ?, ?, CAST(? AS TIMESTAMPTZ), ?, ?, ?, CAST(? AS TIMESTAMPTZ))",
        [
            export.export_id,
            summary.get("exportArn"),
            export.layout,
            export.location,
            summary.get("exportTime"),
            items,
            export.layout == "aws",
            with_text,
            datetime.now(UTC).isoformat(),
        ],
    )
