"""Grid plans in the database: versions (drafts, publishing, rollback), the engine applied to
them, staffing."""
