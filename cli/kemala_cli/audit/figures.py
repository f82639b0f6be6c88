"""The canned audit figures, as SQL over `tickets` and `event_states` (replayed status/agency per event).

They are driven by status transitions and actors, not by event type names, so new event types written
by the router or the API count without changes here. docs/audit.md carries the same queries for Athena.
Every duration is in hours from the ticket's creation (the citizen's wait). `$now` (the report's "now",
by default the export's point in time) decides what is overdue and how old the backlog is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
from kemala.models.ticket import TicketStatus

OPEN = ", ".join(f"'{s.value}'" for s in TicketStatus if s.state_type == "open")
HANDLED = "'RESPONDED', 'RESOLVED'"  # the agency's first public answer: a reply or a resolution


@dataclass(frozen=True)
class Figure:
    name: str  # also the CSV file name
    title: str
    explanation: str
    sql: str

    def run(self, con: duckdb.DuckDBPyConnection, now: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = con.execute(self.sql.replace("$now", "CAST(? AS TIMESTAMPTZ)"), [now] * self.sql.count("$now"))
        return [d[0] for d in cur.description], cur.fetchall()


_MILESTONES = f"""
  SELECT e.ticket_id, t.created_at,
    min(e.at) FILTER (WHERE e.status_after IN ({HANDLED})) AS handled_at,
    min_by(e.agency_after, e.seq) FILTER (WHERE e.status_after IN ({HANDLED})) AS handled_by,
    min(e.at) FILTER (WHERE e.status_after = 'RESOLVED') AS resolved_at,
    min_by(e.agency_after, e.seq) FILTER (WHERE e.status_after = 'RESOLVED') AS resolved_by
  FROM event_states e JOIN tickets t ON t.id = e.ticket_id
  GROUP BY e.ticket_id, t.created_at
"""

_HOURS = "date_diff('second', {start}, {end}) / 3600.0"

RESPONSE_TIMES = Figure(
    "response_times",
    "Time to first response and to resolution, per agency",
    "Hours from the complaint to the agency's first reply or resolution, and to resolution, counted for "
    "the agency that held the ticket at that moment. Median and 90th percentile.",
    f"""
WITH m AS ({_MILESTONES}),
responses AS (
  SELECT handled_by AS agency_id, {_HOURS.format(start="created_at", end="handled_at")} AS h
  FROM m WHERE handled_at IS NOT NULL AND handled_by IS NOT NULL),
resolutions AS (
  SELECT resolved_by AS agency_id, {_HOURS.format(start="created_at", end="resolved_at")} AS h
  FROM m WHERE resolved_at IS NOT NULL AND resolved_by IS NOT NULL),
agencies AS (SELECT agency_id FROM responses UNION SELECT agency_id FROM resolutions)
SELECT a.agency_id,
  (SELECT count(*) FROM responses r WHERE r.agency_id = a.agency_id) AS responded,
  (SELECT round(median(h), 2) FROM responses r WHERE r.agency_id = a.agency_id) AS response_median_h,
  (SELECT round(quantile_cont(h, 0.9), 2) FROM responses r WHERE r.agency_id = a.agency_id)
    AS response_p90_h,
  (SELECT count(*) FROM resolutions r WHERE r.agency_id = a.agency_id) AS resolved,
  (SELECT round(median(h), 2) FROM resolutions r WHERE r.agency_id = a.agency_id) AS resolution_median_h,
  (SELECT round(quantile_cont(h, 0.9), 2) FROM resolutions r WHERE r.agency_id = a.agency_id)
    AS resolution_p90_h
FROM agencies a ORDER BY a.agency_id
""",
)

SLA = Figure(
    "sla",
    "SLA compliance, counting open tickets already overdue",
    "For tickets with a due time, per current agency: answered in time (met), answered late, still open "
    "and past due at 'now' (open_overdue), still open and not yet due. Compliance = met / (met + late + "
    "open_overdue). Tickets closed or withdrawn without an answer are not counted.",
    f"""
WITH m AS ({_MILESTONES}),
judged AS (
  SELECT coalesce(t.agency_id, '(none)') AS agency_id,
    CASE
      WHEN m.handled_at IS NOT NULL AND m.handled_at <= t.due_at THEN 'met'
      WHEN m.handled_at IS NOT NULL THEN 'late'
      WHEN t.status IN ({OPEN}) AND t.due_at < $now THEN 'open_overdue'
      WHEN t.status IN ({OPEN}) THEN 'open_in_time'
      ELSE 'not_counted'
    END AS outcome
  FROM tickets t LEFT JOIN m ON m.ticket_id = t.id
  WHERE t.due_at IS NOT NULL)
SELECT agency_id,
  count(*) FILTER (WHERE outcome = 'met') AS met,
  count(*) FILTER (WHERE outcome = 'late') AS late,
  count(*) FILTER (WHERE outcome = 'open_overdue') AS open_overdue,
  count(*) FILTER (WHERE outcome = 'open_in_time') AS open_in_time,
  round(100.0 * count(*) FILTER (WHERE outcome = 'met')
    / nullif(count(*) FILTER (WHERE outcome IN ('met', 'late', 'open_overdue')), 0), 1) AS compliance_pct
FROM judged GROUP BY agency_id ORDER BY agency_id
""",
)

AGE_BUCKETS = ("< 1 day", "1-3 days", "3-7 days", "7-14 days", "14-30 days", ">= 30 days")

BACKLOG = Figure(
    "backlog",
    "Backlog by age",
    "Open tickets at 'now', by age since the complaint and by status.",
    f"""
WITH open AS (
  SELECT status, date_diff('second', created_at, $now) / 86400.0 AS age_days
  FROM tickets WHERE status IN ({OPEN}))
SELECT
  CASE WHEN age_days < 1 THEN '{AGE_BUCKETS[0]}' WHEN age_days < 3 THEN '{AGE_BUCKETS[1]}'
       WHEN age_days < 7 THEN '{AGE_BUCKETS[2]}' WHEN age_days < 14 THEN '{AGE_BUCKETS[3]}'
       WHEN age_days < 30 THEN '{AGE_BUCKETS[4]}' ELSE '{AGE_BUCKETS[5]}' END AS age,
  status, count(*) AS tickets
FROM open GROUP BY 1, 2
ORDER BY min(age_days), status
""",
)

TRIAGE = Figure(
    "triage",
    "Triage volume and how the triage team decided",
    "Each time a ticket entered TRIAGE: where it came from (the router was unsure, or an agency rejected "
    "it) and what happened next: delegated to an agency, closed (with the reason), withdrawn by the "
    "citizen, or still waiting. Hours in triage until that decision.",
    """
WITH entries AS (
  SELECT e.ticket_id, e.seq, e.at,
    CASE WHEN e.status_before = 'RECEIVED' OR e.status_before IS NULL THEN 'routing unsure'
         WHEN e.agency_before IS NOT NULL THEN 'rejected by agency'
         ELSE 'from ' || e.status_before END AS source
  FROM event_states e
  WHERE e.status_after = 'TRIAGE' AND e.status_before IS DISTINCT FROM 'TRIAGE'),
exits AS (
  SELECT en.ticket_id, en.seq, min(ex.seq) AS exit_seq
  FROM entries en LEFT JOIN event_states ex
    ON ex.ticket_id = en.ticket_id AND ex.seq > en.seq AND ex.status_after <> 'TRIAGE'
  GROUP BY en.ticket_id, en.seq)
SELECT en.source,
  CASE x.status_after
    WHEN 'ASSIGNED' THEN 'delegated'
    WHEN 'CLOSED' THEN 'closed: ' || coalesce(json_extract_string(x.set, '$.close_reason'), 'no reason')
    WHEN 'WITHDRAWN' THEN 'withdrawn by citizen'
    ELSE coalesce(lower(x.status_after), 'still in triage') END AS decision,
  count(*) AS tickets,
  round(median(date_diff('second', en.at, x.at) / 3600.0), 2) AS median_hours_in_triage
FROM entries en JOIN exits USING (ticket_id, seq)
LEFT JOIN event_states x ON x.ticket_id = exits.ticket_id AND x.seq = exits.exit_seq
GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2
""",
)

REJECTIONS = Figure(
    "rejections_reassignments",
    "Rejections and reassignments",
    "Per agency: tickets it ever held, tickets it handed back to triage (rejections), tickets moved from "
    "it to another agency, and tickets moved to it from another agency.",
    """
WITH moves AS (
  SELECT agency_before, agency_after, status_after FROM event_states
  WHERE agency_before IS DISTINCT FROM agency_after),
held AS (
  SELECT agency_after AS agency_id, count(DISTINCT ticket_id) AS held
  FROM event_states WHERE agency_after IS NOT NULL GROUP BY 1)
SELECT h.agency_id, h.held,
  (SELECT count(*) FROM moves m WHERE m.agency_before = h.agency_id AND m.agency_after IS NULL
     AND m.status_after = 'TRIAGE') AS rejected,
  (SELECT count(*) FROM moves m WHERE m.agency_before = h.agency_id AND m.agency_after IS NOT NULL)
    AS reassigned_away,
  (SELECT count(*) FROM moves m WHERE m.agency_after = h.agency_id AND m.agency_before IS NOT NULL)
    AS reassigned_in
FROM held h ORDER BY h.agency_id
""",
)

CATEGORIES = Figure(
    "categories_by_region",
    "Categories by region",
    "Tickets by their current region and category.",
    """
SELECT coalesce(region, '(unknown)') AS region, coalesce(category, '(unclassified)') AS category,
  count(*) AS tickets
FROM tickets GROUP BY 1, 2 ORDER BY 1, 2
""",
)

FIGURES = (RESPONSE_TIMES, SLA, BACKLOG, TRIAGE, REJECTIONS, CATEGORIES)
