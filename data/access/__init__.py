"""Who may see what: staff accounts and sessions, scopes, the audit log, household records."""
