"""The city sample (Tongren: 2 districts, 8 counties, 184 communities, 600,000 households) on
this machine (issue 18).

Prints: how long the city takes to build (``data.sample.city``, one region per core) and to
load (one COPY transaction into the scratch database ``wangge_bench_city``); the whole-city
division (``geo.district.divide_all``, one community per core); point lookups per second under
wrk at concurrency 64 against the primary alone and against the primary plus a local hot
standby (``wangge db replica``'s, serving the public reads), in alternating rounds; versioned
overlay tiles (streets, communities and grids in one tile, what the map pages draw) per second,
cold (first request of each) and warm (from the server's cache); and ``bench/lookup.py``'s
(c)/(b) ratio on the district sample.

Run: ``.venv/bin/python bench/city.py [--seconds 10] [--rounds 2] [--skip-divide] [--reuse]``;
``--divide-only`` builds the city in memory and times its division alone, without a database.
On a shared machine every figure moves with the others' load: compare the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lookup import POINTS_SQL, _median, _wrk  # noqa: E402  (bench/lookup.py)
from served import free_port, start_uvicorn  # noqa: E402  (bench/served.py)

from data.db import create_database, drop_database, local_standby, resolve_url  # noqa: E402
from data.sample import load  # noqa: E402
from data.sample.city import generate_city  # noqa: E402
from data.settings import Settings, libpq_url  # noqa: E402
from data.store import migrate  # noqa: E402
from geo.district import divide_all  # noqa: E402
from geo.errors import GridError  # noqa: E402
from geo.tables import community_frames  # noqa: E402

DB = "wangge_bench_city"
TILE_ZOOM = 15
BAND = (300, 500)


def _say(text: str) -> None:
    print(text, flush=True)


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the build's workers)."""
    return sum(
        r.ru_utime + r.ru_stime
        for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def _backend_cpu_s(conn: psycopg.Connection) -> float | None:
    """CPU seconds of the connection's server process so far, when it runs on this machine."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_and_load(admin_url: str, url: str, seed: int):
    """Build the city and load it into ``DB``, printing wall-clock and CPU time of each: on a
    shared machine the wall clock moves with the others' load, the CPU time much less."""
    t, cpu = time.perf_counter(), _cpu_s()
    city = generate_city(seed)
    built, built_cpu = time.perf_counter() - t, _cpu_s() - cpu
    counts = city.counts()
    _say(
        f"built in {built:.1f} s ({built_cpu:.1f} s of CPU on {os.cpu_count()} cores): "
        f"{counts['district']} districts/counties, "
        f"{counts['street_office']} street offices, {counts['community']} communities, "
        f"{counts['household']} households, {counts['grid']} grids, {counts['staff']} staff"
    )
    drop_database(admin_url, DB)
    create_database(admin_url, DB)
    migrate.upgrade(url)
    with psycopg.connect(libpq_url(url)) as conn:
        server_cpu = _backend_cpu_s(conn)
        t, cpu = time.perf_counter(), _cpu_s()
        load(conn, city)
        loaded, load_cpu = time.perf_counter() - t, _cpu_s() - cpu
        server = _backend_cpu_s(conn)
    on_server = (
        "" if server is None or server_cpu is None else f", server {server - server_cpu:.1f} s"
    )
    _say(
        f"loaded in {loaded:.1f} s (one COPY transaction; CPU: client {load_cpu:.1f} s"
        f"{on_server}); build + load {built + loaded:.1f} s   target <= 90 s"
    )
    return city


def divide_city(city, seed: int) -> None:
    """Divide every community of the city (``geo.district.divide_all`` on 2 cores), printing
    the wall clock, the CPU seconds of this process and its workers, and the grids in band."""
    communities = [community_frames(city, code) for code in city.community["code"]]
    t, cpu = time.perf_counter(), _cpu_s()
    results = divide_all(communities, BAND, seed=seed, workers=2)
    took, took_cpu = time.perf_counter() - t, _cpu_s() - cpu
    divisions = [r for r in results if not isinstance(r, GridError)]
    grids = sum(len(r.grids) for r in divisions)
    in_band = sum(int(r.grids["households"].between(*BAND).sum()) for r in divisions)
    _say(
        f"divide: {len(communities)} communities on 2 cores in {took:.1f} s "
        f"({took_cpu:.1f} s of CPU; {grids} grids, {in_band} in band, "
        f"{len(results) - len(divisions)} without a division)   target <= 30 s"
    )


def divide_only(seed: int) -> None:
    """Build the city in memory (no database) and time its division."""
    t = time.perf_counter()
    city = generate_city(seed)
    _say(f"built in {time.perf_counter() - t:.1f} s: {len(city.community)} communities")
    divide_city(city, seed)


def _points(url: str) -> Path:
    with psycopg.connect(libpq_url(url)) as conn:
        points = [tuple(r) for r in conn.execute(POINTS_SQL, {"seed": 8}).fetchall()]
    random.Random(8).shuffle(points)
    path = Path(f"/tmp/wangge-city-points-{os.getpid()}.txt")
    path.write_text("\n".join(f"?lon={x:.6f}&lat={y:.6f}" for x, y in points) + "\n")
    return path


def lookups(url: str, replica_url: str, seconds: float, rounds: int) -> None:
    points = _points(url)
    env = {"DATABASE_URL": libpq_url(url), "WANGGE_LOOKUP_RATE_PER_MINUTE": "0"}
    alone_port, both_port = free_port(), free_port()
    alone = start_uvicorn("api.app:create_app", alone_port, env, ROOT)
    both = start_uvicorn(
        "api.app:create_app", both_port, env | {"WANGGE_REPLICA_URL": replica_url}, ROOT
    )
    try:
        health = httpx.get(f"http://127.0.0.1:{both_port}/healthz").json()
        _say(f"replica as the app sees it: {health.get('replicas')}")
        a, b = [], []
        for _ in range(rounds):
            a.append(_wrk("/api/v1/lookup", f"http://127.0.0.1:{alone_port}", points, seconds))
            b.append(_wrk("/api/v1/lookup", f"http://127.0.0.1:{both_port}", points, seconds))
    finally:
        for proc in (alone, both):
            proc.terminate()
            proc.wait(timeout=20)
        points.unlink()
    (ra, pa50, pa99), (rb, pb50, pb99) = _median(a), _median(b)
    _say(f"{'lookups, 2 workers, wrk c=64':44} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    _say(f"{'primary alone':44} {ra:8.0f} {pa50:8.2f} {pa99:8.2f}")
    _say(f"{'primary + 1 local replica (reads on it)':44} {rb:8.0f} {pb50:8.2f} {pb99:8.2f}")
    _say(
        f"replica/primary = {rb / ra:.2f}x (both servers share this machine's cores: the ratio "
        "is what routing reads to a replica costs here, not what a second machine adds)"
    )


def tiles(url: str) -> None:
    env = {"DATABASE_URL": libpq_url(url), "WANGGE_LOOKUP_RATE_PER_MINUTE": "0"}
    port = free_port()
    proc = start_uvicorn("api.app:create_app", port, env, ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        version = re.search(r"/tiles/v/(\d+)/overlay/", httpx.get(base + "/map").text).group(1)
        with psycopg.connect(libpq_url(url)) as conn:
            paths = [
                f"/tiles/v/{version}/overlay/{TILE_ZOOM}/{x}/{y}.pbf"
                for x, y in conn.execute(
                    "SELECT DISTINCT floor((ST_X(p) + 180) / 360 * 2 ^ %(z)s)::int, "
                    "floor((1 - ln(tan(radians(ST_Y(p))) + 1 / cos(radians(ST_Y(p)))) / pi()) "
                    "/ 2 * 2 ^ %(z)s)::int FROM (SELECT ST_PointOnSurface(g.geom) p FROM grid g "
                    "JOIN grid_plan pl ON pl.id = g.plan_id AND pl.status = 'published') s",
                    {"z": TILE_ZOOM},
                )
            ]
        with httpx.Client(base_url=base, timeout=60) as http, ThreadPoolExecutor(16) as pool:

            def one_pass() -> float:
                t = time.perf_counter()
                codes = list(pool.map(lambda p: http.get(p).status_code, paths))
                assert set(codes) <= {200, 204}, set(codes)
                return len(paths) / (time.perf_counter() - t)

            cold = one_pass()
            warm = [one_pass() for _ in range(3)][-1]  # each of 2 workers holds its own cache
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    _say(
        f"tiles (z{TILE_ZOOM}, {len(paths)} distinct, 16 at once): cold {cold:.0f}/s, "
        f"warm {warm:.0f}/s ({warm / cold:.1f}x)"
    )


def lookup_ratio() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench/lookup.py"), "--seconds", "5", "--rounds", "3"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    _say("bench/lookup.py (district sample):")
    _say("\n".join(line for line in out.splitlines() if line.startswith(("(", " ", "lookup"))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each wrk round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-divide", action="store_true")
    ap.add_argument(
        "--divide-only",
        action="store_true",
        help="build the city in memory and time its division only (no database)",
    )
    ap.add_argument(
        "--reuse", action="store_true", help=f"use {DB} as loaded by an earlier run (no build)"
    )
    args = ap.parse_args()
    settings = Settings()
    if args.divide_only:
        _say(f"city division on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
        divide_only(settings.sample_seed)
        return
    server = make_url(resolve_url(settings))
    admin_url = server.set(database="postgres").render_as_string(hide_password=False)
    url = server.set(database=DB).render_as_string(hide_password=False)
    _say(f"city benchmark on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
    if not args.reuse:
        city = build_and_load(admin_url, url, settings.sample_seed)
        if not args.skip_divide:
            divide_city(city, settings.sample_seed)
        del city
    if settings.database_url:
        _say("DATABASE_URL is set: no local standby to compare against; skipping replicas")
    else:
        standby = local_standby(settings)
        was_running = standby.is_running()
        standby.ensure_running()
        replica = libpq_url(standby.url(DB))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("SELECT pg_switch_wal()")
        _say(f"local standby at {standby.datadir} (port {standby.port})")
        try:
            lookups(url, replica, args.seconds, args.rounds)
        finally:  # a standby started for the benchmark does not outlive it
            if not was_running:
                standby.stop()
    tiles(url)
    lookup_ratio()


if __name__ == "__main__":
    main()
