"""How long building and loading the sample district takes.

Usage: ``python bench/sample.py [--seed N] [--communities N]``. Generation is pure; loading goes
into a scratch database ``<name>_bench_sample`` on the project's server (DATABASE_URL or the
local cluster), migrated first and dropped afterwards.
"""

from __future__ import annotations

import argparse
import time

import psycopg
from sqlalchemy.engine import make_url

from data.db import create_database, drop_database, resolve_url
from data.sample import generate, load
from data.settings import Settings, libpq_url
from data.store import migrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--communities", type=int, default=43)
    args = parser.parse_args()

    start = time.perf_counter()
    district = generate(args.seed, communities=args.communities)
    built = time.perf_counter() - start
    print(f"generate: {built:6.2f} s")

    url = make_url(resolve_url(Settings()))
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    scratch = url.set(database=f"{url.database}_bench_sample")
    scratch_url = scratch.render_as_string(hide_password=False)
    drop_database(admin, scratch.database)
    create_database(admin, scratch.database)
    try:
        migrate.upgrade(scratch_url)
        start = time.perf_counter()
        with psycopg.connect(libpq_url(scratch_url)) as conn:
            load(conn, district)
        loaded = time.perf_counter() - start
    finally:
        drop_database(admin, scratch.database)
    print(f"load:     {loaded:6.2f} s (one transaction, COPY)")
    print(f"total:    {built + loaded:6.2f} s (target < 60 s)")
    h = district.households_per_grid()
    for table, rows in district.counts().items():
        print(f"{table:18s} {rows:8d}")
    print(
        f"grids over 500: {(h > 500).mean():.1%}, under 300: {(h < 300).mean():.1%}, "
        f"under 100: {(h < 100).sum()}"
    )


if __name__ == "__main__":
    main()
