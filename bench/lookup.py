"""Point lookup speed on the sample district, all on loopback (issue 8).

(a) the raw lookup query through psycopg from two processes;
(b) a bare FastAPI endpoint running only that query through the same kind of async pool, served
    by uvicorn with 2 workers (the stack's ceiling);
(c) Wangge's real ``/api/v1/lookup`` with 2 uvicorn workers (rate limit off: one client here);
(d) the same with the rate limit on and a budget this one client never exhausts: the cost of
    the budgets every worker shares in PostgreSQL (one upsert per lookup, all on one row here,
    the worst case: many clients update many rows).
(b) and (c) are served at the same time and loaded by wrk at concurrency 64 in alternating
rounds (b, c, b, c, ...), so that the load other work puts on a shared machine falls on both
alike; the medians of the rounds and the ratio (c)/(b) are printed. Then the district map
page's transfer size, draw time and tile requests in headless Chromium. Prints throughput,
p50 and p99.

Run: ``.venv/bin/python bench/lookup.py [--seconds 10] [--rounds 3]`` (loads the sample
district first if the database is empty); ``--map-only --map-runs 5`` times only the map page,
each run against a freshly started app (connections warmed up, its tile cache cold).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from served import CHROMIUM, CHROMIUM_ARGS, free_port, start_uvicorn  # noqa: E402

from data.db import make_engine, resolve_url  # noqa: E402
from data.queries import lookup  # noqa: E402
from data.settings import Settings, libpq_url  # noqa: E402
from data.store.setup import prepare  # noqa: E402

POINTS_SQL = """
SELECT ST_X(p.geom), ST_Y(p.geom) FROM (
  SELECT (ST_Dump(ST_GeneratePoints(g.geom, 3, %(seed)s))).geom
  FROM grid g JOIN grid_plan pl ON pl.id = g.plan_id AND pl.status = 'published'
) p
"""
PARAMS = {"geometry": False, "roles": list(lookup.ROLE_ORDER)}

BARE_APP = """
import os
from contextlib import asynccontextmanager
from fastapi import FastAPI, Response
from psycopg_pool import AsyncConnectionPool
from data.queries import lookup

PARAMS = {"geometry": False, "roles": list(lookup.ROLE_ORDER)}

def create_app():
    @asynccontextmanager
    async def lifespan(app):
        app.state.pool = AsyncConnectionPool(os.environ["BENCH_DSN"], min_size=1, max_size=8,
                                             kwargs={"autocommit": True}, open=False)
        await app.state.pool.open()
        yield
        await app.state.pool.close()
    app = FastAPI(lifespan=lifespan)

    @app.get("/lookup")
    async def bare(lon: float, lat: float):
        async with app.state.pool.connection() as conn:
            cur = await conn.execute(lookup._POINT, {"lon": lon, "lat": lat, **PARAMS},
                                     prepare=True)
            row = await cur.fetchone()
        return Response(row[0], media_type="application/json")
    return app
"""

WRK_LUA = """
local points = {}
for line in io.lines("%s") do points[#points + 1] = line end
local i = 0
request = function()
  i = i %% #points + 1
  return wrk.format("GET", "%s" .. points[i])
end
"""


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _raw_worker(dsn: str, points: list[tuple[float, float]], seconds: float, out) -> None:
    lat_ms = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            lon, lat = points[i % len(points)]
            t = time.perf_counter()
            conn.execute(lookup._POINT, {"lon": lon, "lat": lat, **PARAMS}, prepare=True)
            lat_ms.append((time.perf_counter() - t) * 1000)
            i += 1
    out.put(lat_ms)


def bench_raw(dsn: str, points, seconds: float) -> tuple[float, float, float]:
    queue: mp.Queue = mp.Queue()
    procs = [
        mp.Process(target=_raw_worker, args=(dsn, points[k::2], seconds, queue)) for k in (0, 1)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    all_ms = [v for r in results for v in r]
    return len(all_ms) / seconds, _percentile(all_ms, 0.5), _percentile(all_ms, 0.99)


def _wrk(
    url_prefix: str, base: str, points_file: Path, seconds: float
) -> tuple[float, float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA % (points_file, url_prefix))
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{int(seconds)}s", "--latency", "-s", f.name, base],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        print("  warning: wrk saw non-2xx responses:\n" + out)

    def pct(p: str) -> float:
        v, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, pct("50"), pct("99")


def _median(rounds: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Per figure (throughput, p50, p99), the median over the rounds."""
    return tuple(sorted(column)[len(column) // 2] for column in zip(*rounds, strict=True))


@dataclass
class MapDraw:
    """One first visit of /map: kB transferred, ms until the first view's grids are drawn
    (their tile layer's ``load``), ms until the basemap is drawn too, tile requests by layer,
    and the page's other requests (the page, its scripts, stylesheets, labels, favicon)."""

    kb: float
    grids_ms: float
    full_ms: float
    tiles: dict[str, int]
    others: list[str]


GRIDS_DRAWN = "() => window.wanggeTilesLoaded === true"
BASEMAP_DRAWN = "() => document.querySelector('.folium-map').dataset.basemap === 'loaded'"


def bench_map_page(base: str) -> MapDraw:
    """/map in a fresh browser (nothing cached), timed until the grids and the basemap are
    drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        sizes: list[int] = []
        page.on("requestfinished", lambda req: sizes.append(_transferred(req)))
        tiles: dict[str, int] = {}
        others: list[str] = []
        page.on("request", lambda req: _count_tile(req.url, tiles) or others.append(req.url))
        t = time.perf_counter()
        page.goto(base + "/map")
        # Polled through the DevTools protocol: wait_for_function evals in the page, which the
        # app's Content-Security-Policy forbids.
        drawn: dict[str, float] = {}
        while len(drawn) < 2:
            for name, check in (("grids", GRIDS_DRAWN), ("basemap", BASEMAP_DRAWN)):
                if name not in drawn and page.evaluate(check):
                    drawn[name] = (time.perf_counter() - t) * 1000
            if time.perf_counter() - t > 30:
                raise TimeoutError(f"the district map drew only {list(drawn)} in 30 s")
            page.wait_for_timeout(10)
        page.wait_for_load_state("networkidle")
        browser.close()
    return MapDraw(sum(sizes) / 1024, drawn["grids"], max(drawn.values()), tiles, others)


TILE_URL = re.compile(r"/tiles/(?:v/\d+/)?(\w+)/\d+/\d+/\d+\.pbf")


def _count_tile(url: str, counts: dict[str, int]) -> bool:
    """Count a vector tile request under its layer (overlay, basemap, ...); False for a
    request that is not a tile."""
    found = TILE_URL.search(url)
    if found:
        counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    return found is not None


WARM_UP = "/tiles/streets/9/411/214.pbf"
"""A tile over the sample district (Bijiang) that the map does not ask for."""


def _warm_up(base: str) -> None:
    """Open the app's database connections as a running app has them (and PostGIS's
    coordinate transformations in each), without filling its cache of versioned tiles."""
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: httpx.get(base + WARM_UP), range(32)))


def bench_map(env: dict[str, str], runs: int) -> list[MapDraw]:
    """``bench_map_page`` ``runs`` times, each against a freshly started app whose connections
    are warmed up and whose tile cache is cold, as on the first visit after a publication."""
    draws = []
    for _ in range(runs):
        port = free_port()
        proc = start_uvicorn("api.app:create_app", port, env, ROOT)
        try:
            _warm_up(f"http://127.0.0.1:{port}")
            draws.append(bench_map_page(f"http://127.0.0.1:{port}"))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return draws


def _print_map(draws: list[MapDraw]) -> None:
    def median(values: list[float]) -> str:
        runs = ", ".join(f"{v:.0f}" for v in values)
        return f"{sorted(values)[len(values) // 2]:.0f} ms" + (
            f" (median; runs: {runs})" if len(values) > 1 else ""
        )

    last = draws[-1]
    requests = ", ".join(f"{layer} {n}" for layer, n in sorted(last.tiles.items()))
    print(
        f"district map /map: {last.kb:.0f} kB transferred, grids drawn in "
        f"{median([d.grids_ms for d in draws])} (targets <= 1536 kB, <= 2000 ms)"
    )
    print(f"  with the basemap: {median([d.full_ms for d in draws])}")
    print(f"  tile requests of a first visit: {sum(last.tiles.values())} ({requests})")
    assets = [url.split("/", 3)[-1] for url in last.others]
    print(f"  other requests of a first visit: {len(assets)} ({', '.join(assets)})")


def _transferred(req) -> int:
    s = req.sizes()
    return s["responseBodySize"] + s["responseHeadersSize"] + s["requestHeadersSize"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each wrk round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of (b) and of (c)")
    ap.add_argument(
        "--map-only", action="store_true", help="only the /map page's draw time, no lookups"
    )
    ap.add_argument(
        "--map-runs", type=int, default=1, help="times /map is drawn, each by a fresh app"
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/lookup.py: wrk is missing (make system installs it)")

    settings = Settings()
    url = resolve_url(settings)
    engine = make_engine(url)
    if prepare(engine, settings.sample_seed):
        print("loaded the sample district")
    engine.dispose()
    dsn = libpq_url(url)
    env = {"DATABASE_URL": dsn, "WANGGE_LOOKUP_RATE_PER_MINUTE": "0", "PYTHONPATH": str(ROOT)}
    if args.map_only:
        _print_map(bench_map(env, args.map_runs))
        return
    with psycopg.connect(dsn) as conn:
        points = [tuple(r) for r in conn.execute(POINTS_SQL, {"seed": 8}).fetchall()]
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM grid g JOIN grid_plan p ON p.id = g.plan_id"
            " AND p.status = 'published'), (SELECT count(*) FROM household)"
        ).fetchone()
    random.Random(8).shuffle(points)
    print(
        f"lookup benchmark: {counts[0]} published grids, {counts[1]} households, "
        f"{len(points)} random points inside grids, {os.cpu_count()} cores, loopback only"
    )

    a = bench_raw(dsn, points, args.seconds)
    points_file = Path(tempfile.mkstemp(suffix=".txt")[1])
    points_file.write_text("\n".join(f"?lon={x:.6f}&lat={y:.6f}" for x, y in points) + "\n")
    bare_dir = Path(tempfile.mkdtemp())
    (bare_dir / "bench_bare_app.py").write_text(BARE_APP)
    bare_env = {"BENCH_DSN": dsn, "PYTHONPATH": f"{bare_dir}:{ROOT}"}

    bare_port, real_port = free_port(), free_port()
    bare = start_uvicorn(
        "bench_bare_app:create_app", bare_port, bare_env, bare_dir, ready_path="/docs"
    )
    real = start_uvicorn("api.app:create_app", real_port, env, ROOT)
    rounds_b, rounds_c = [], []
    try:
        for _ in range(args.rounds):
            rounds_b.append(
                _wrk("/lookup", f"http://127.0.0.1:{bare_port}", points_file, args.seconds)
            )
            rounds_c.append(
                _wrk("/api/v1/lookup", f"http://127.0.0.1:{real_port}", points_file, args.seconds)
            )
        bare.terminate()
        bare.wait(timeout=20)
        draw = bench_map_page(f"http://127.0.0.1:{real_port}")
    finally:
        for proc in (bare, real):
            proc.terminate()
            proc.wait(timeout=20)

    port = free_port()
    unlimited = str(10**9)
    env |= {"WANGGE_LOOKUP_RATE_PER_MINUTE": unlimited, "WANGGE_LOOKUP_BURST": unlimited}
    proc = start_uvicorn("api.app:create_app", port, env, ROOT)
    try:
        d = _wrk("/api/v1/lookup", f"http://127.0.0.1:{port}", points_file, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    points_file.unlink()
    b, c = _median(rounds_b), _median(rounds_c)
    ratios = [rc[0] / rb[0] for rb, rc in zip(rounds_b, rounds_c, strict=True)]

    print(f"{'':44} {'lookups/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rps, p50, p99) in (
        ("(a) raw query, psycopg, 2 processes", a),
        ("(b) bare FastAPI + pool, 2 workers, c=64", b),
        ("(c) /api/v1/lookup, 2 workers, c=64", c),
        ("(d) as (c), rate limit on (shared budget)", d),
    ):
        print(f"{name:44} {rps:10.0f} {p50:8.2f} {p99:8.2f}")
    print(
        f"(c)/(b) = {c[0] / b[0]:.0%} (rounds: {', '.join(f'{r:.0%}' for r in ratios)}), "
        f"p99 (c)/(b) = {c[2] / b[2]:.2f}x   targets: >= 85% of (b), p99 <= 1.5x (b)'s"
    )
    print(f"(d)/(c) = {d[0] / c[0]:.0%}   the shared rate limit's cost")
    _print_map([draw])


if __name__ == "__main__":
    main()
