"""The requests dashboard: per street office, community or grid, requests by state and
category, on-time rate, mean time to close and satisfaction (no personal field is read).

A year of a district's requests is some 200,000 rows; summing them on every view was the
dashboard's cost. ``request_rollup`` holds the same sums per month (China Standard Time),
community, grid and category, kept true by triggers in every writing transaction (migration
``0006_q_request_rollup``). A window [since, until) is read as its whole months from the rollup
and its two partial months from the requests (by ``created_at``), so the figures are exactly
those of the rows; the overdue count depends on the moment asked, so it comes from the open
requests (a partial index) at ``now``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.models import OPEN_REQUEST, REQUEST_STATES
from data.requests.machine import OPEN, STATE_LABELS, State

ROLLUP_ZONE = ZoneInfo("Asia/Shanghai")
"""The zone whose calendar months the rollup's ``month`` counts (the migration's trigger)."""

LEVELS = {
    "street": "left(r.community_code, 9)",
    "community": "r.community_code",
    "grid": "coalesce(r.grid_code, r.community_code)",
}
STATE_COLUMNS = tuple(f"state_{s}" for s in REQUEST_STATES)
MEASURES = ("closed", "on_time", "close_seconds", "rated", "satisfied")
ROW_VALUES = {
    **{f"state_{s}": f"(r.state = '{s}')::int" for s in REQUEST_STATES},
    "closed": "(r.closed_at IS NOT NULL)::int",
    "on_time": "(r.closed_at <= r.due_at IS TRUE)::int",
    "close_seconds": "coalesce(extract(epoch FROM r.closed_at - r.created_at), 0)",
    "rated": "(r.rating IS NOT NULL)::int",
    "satisfied": "(r.rating IN ('satisfied', 'basically') IS TRUE)::int",
}
"""Each rollup column's value for one request ``r`` (what the trigger adds up)."""

_SCOPE = """(CAST(:codes AS text[]) IS NULL OR r.community_code = ANY(:codes))
    AND (CAST(:grids AS text[]) IS NULL OR r.grid_code = ANY(:grids))"""
_COLUMNS = ", ".join((*STATE_COLUMNS, *MEASURES, "overdue"))
_ROWS = ", ".join((*ROW_VALUES.values(), "0"))
_ZEROS = ", ".join(["0"] * len(ROW_VALUES))
_DASHBOARD = f"""
WITH parts ({", ".join(("community_code", "grid_code", "category", _COLUMNS))}) AS (
  SELECT r.community_code, r.grid_code, r.category, {", ".join((*STATE_COLUMNS, *MEASURES))}, 0
  FROM request_rollup r
  WHERE r.month >= :first_month AND r.month < :end_month AND {_SCOPE}
  UNION ALL
  SELECT r.community_code, r.grid_code, r.category, {_ROWS}
  FROM service_request r
  WHERE r.created_at >= :since AND r.created_at < :head_end AND {_SCOPE}
  UNION ALL
  SELECT r.community_code, r.grid_code, r.category, {_ROWS}
  FROM service_request r
  WHERE r.created_at >= :tail_start AND r.created_at < :until AND {_SCOPE}
  UNION ALL
  SELECT r.community_code, r.grid_code, r.category, {_ZEROS}, 1
  FROM service_request r
  WHERE r.{OPEN_REQUEST} AND r.due_at < :now
    AND r.created_at >= :since AND r.created_at < :until AND {_SCOPE}
), cells AS (
  SELECT {{key}} AS area, r.category, {" + ".join(f"sum(r.{c})" for c in STATE_COLUMNS)} AS total,
    {", ".join(f"sum(r.{c}) AS {c}" for c in (*STATE_COLUMNS, *MEASURES, "overdue"))}
  FROM parts r
  GROUP BY 1, 2
)
SELECT area, jsonb_object_agg(category, total::int) FILTER (WHERE total <> 0) AS by_category,
  {", ".join(f"sum({c})::int AS {c}" for c in (*STATE_COLUMNS, "overdue"))},
  {", ".join(f"sum({c})::{'float' if c == 'close_seconds' else 'int'} AS {c}" for c in MEASURES)}
FROM cells
GROUP BY area
HAVING sum(total) <> 0
ORDER BY area
"""


def _month_start(moment: datetime, months_on: int = 0) -> datetime:
    """The start of ``moment``'s month in :data:`ROLLUP_ZONE`, ``months_on`` months later."""
    local = moment.astimezone(ROLLUP_ZONE)
    index = local.year * 12 + local.month - 1 + months_on
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=ROLLUP_ZONE)


def window_parts(since: datetime, until: datetime) -> dict[str, date | datetime]:
    """[since, until) as whole months [first_month, end_month) of the rollup and the rest,
    [since, head_end) and [tail_start, until), of the requests; the three never overlap."""
    first = _month_start(since, 1)
    end = max(_month_start(until), first)
    return {
        "first_month": first.date(),
        "end_month": end.date(),
        "since": since,
        "head_end": min(first, until),
        "tail_start": end,
        "until": until,
    }


def dashboard(
    session: Session,
    communities: frozenset[str] | None,
    *,
    level: str,
    since: datetime,
    until: datetime,
    now: datetime,
    grid_codes: frozenset[str] | None = None,
) -> list[dict]:
    """Per street office, community or grid (``level``): requests by state and category,
    on-time rate, mean hours to close, satisfaction; over requests made in [since, until) in
    ``communities`` (None: all) and, for a grid worker, ``grid_codes``; overdue as of ``now``."""
    params = window_parts(since, until) | {
        "codes": sorted(communities) if communities is not None else None,
        "grids": sorted(grid_codes) if grid_codes is not None else None,
        "now": now,
    }
    open_labels = {STATE_LABELS[s] for s in OPEN}
    result = []
    for row in session.execute(text(_DASHBOARD.format(key=LEVELS[level])), params).mappings():
        by_state = {
            STATE_LABELS[State(state)]: row[column]
            for state, column in zip(REQUEST_STATES, STATE_COLUMNS, strict=True)
            if row[column]
        }
        closed, rated, seconds = row["closed"], row["rated"], row["close_seconds"]
        area = {"area": row["area"], "total": sum(by_state.values()), "overdue": row["overdue"]}
        area |= {key: row[key] for key in MEASURES if key != "close_seconds"}
        area |= {
            "by_state": by_state,
            "by_category": row["by_category"],
            "open": sum(n for label, n in by_state.items() if label in open_labels),
            "on_time_rate": round(row["on_time"] / closed, 3) if closed else None,
            "mean_hours_to_close": round(seconds / closed / 3600, 1) if closed else None,
            "satisfaction": round(row["satisfied"] / rated, 3) if rated else None,
        }
        result.append(area)
    return result
