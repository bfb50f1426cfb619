"""Read-only queries the web serves: residents' lookups, vector tiles, counts, dashboards, the
planner map."""
