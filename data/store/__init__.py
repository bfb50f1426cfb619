"""The database server and its lifecycle: the project-local cluster, migrations, set-up, backups."""
