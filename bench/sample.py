"""How long building and loading the sample district takes.

Usage: ``python bench/sample.py [--seed N] [--communities N] [--database-url URL]``. Without a
database URL only generation is timed. Loading writes into the named database, which must be
migrated and empty (for example a scratch database).
"""

from __future__ import annotations

import argparse
import time

import psycopg

from data.sample import generate, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--communities", type=int, default=43)
    parser.add_argument("--database-url", help="libpq URL of a migrated, empty database")
    args = parser.parse_args()

    start = time.perf_counter()
    district = generate(args.seed, communities=args.communities)
    built = time.perf_counter() - start
    print(f"generate: {built:6.2f} s")
    if args.database_url:
        start = time.perf_counter()
        with psycopg.connect(args.database_url) as conn:
            load(conn, district)
        print(f"load:     {time.perf_counter() - start:6.2f} s")
    h = district.households_per_grid()
    for table, rows in district.counts().items():
        print(f"{table:18s} {rows:8d}")
    print(
        f"grids over 500: {(h > 500).mean():.1%}, under 300: {(h < 300).mean():.1%}, "
        f"under 100: {(h < 100).sum()}"
    )


if __name__ == "__main__":
    main()
