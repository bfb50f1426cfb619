"""Database models, migrations, the local PostGIS cluster, import, export and sample data."""
