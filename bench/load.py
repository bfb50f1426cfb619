"""Load: point lookups at saturation while planners publish (issue 7, item 3).

For each concurrency asked (default 32 and 64), 60 s of ``GET /api/v1/lookup?lon=..&lat=..``
at random points inside the published grids of the full sample district, from wrk on loopback
against Wangge served by uvicorn with 2 workers (the machine's 2 cores), while two planners (one
per community, logged in with API tokens) loop: open a draft, move a building into a
neighbouring grid or re-balance, publish. Prints lookup throughput, p50/p99 and errors (any
non-200, socket error or timeout), publishes done and their errors, and how busy the CPUs were.
Exits 1 if any lookup or publish failed.

Runs in its own database ``wangge_bench_load`` on the server Wangge uses (created, migrated and
loaded with the full sample district on first use; reused after), so it never edits the shared
one. Run: ``.venv/bin/python bench/load.py [--seconds 60] [--connections 32,64] [--fresh]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from served import free_port, start_uvicorn  # noqa: E402  (bench/served.py)

from data.access.accounts import create_account  # noqa: E402
from data.db import create_database, drop_database, make_engine, resolve_url  # noqa: E402
from data.models import Account, AccountRole  # noqa: E402
from data.settings import Settings, libpq_url  # noqa: E402
from data.store import migrate  # noqa: E402
from data.store.setup import load_sample  # noqa: E402

DB_NAME = "wangge_bench_load"
SEED = 20261124
PASSWORD = "bench load password"
PLANNERS = 2
POINTS_SQL = """
SELECT ST_X(d.geom), ST_Y(d.geom)
FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published',
     ST_Dump(ST_GeneratePoints(g.geom, 5, 1)) d
"""
WRK_SCRIPT = """
local points = {%(points)s}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(4242 + id * 7919)
end
function request()
  local p = points[math.random(#points)]
  return wrk.format("GET", string.format("/api/v1/lookup?lon=%%.7f&lat=%%.7f", p[1], p[2]))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "connect": %%d, "read": %%d, '
    .. '"write": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def database(fresh: bool) -> str:
    """The bench's own database, holding the full sample district."""
    server = make_url(resolve_url(Settings()))
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    url = server.set(database=DB_NAME).render_as_string(hide_password=False)
    if fresh:
        drop_database(admin, DB_NAME)
    create_database(admin, DB_NAME)
    migrate.upgrade(url)
    with psycopg.connect(libpq_url(url)) as conn:
        loaded = conn.execute("SELECT count(*) FROM community").fetchone()[0]
    if not loaded:
        print(f"loading the full sample district (seed {SEED}) into {DB_NAME} ...", flush=True)
        started = time.perf_counter()
        engine = make_engine(url, poolclass=NullPool)
        load_sample(engine, SEED)
        engine.dispose()
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def planner_accounts(url: str) -> list[tuple[str, str, list[int]]]:
    """(username, community, building ids) of one community planner per community used."""
    with psycopg.connect(libpq_url(url)) as conn:
        communities = [
            r[0]
            for r in conn.execute(
                "SELECT community_code FROM grid_plan WHERE status = 'published' "
                "GROUP BY community_code ORDER BY community_code LIMIT %s",
                (PLANNERS,),
            )
        ]
        buildings = {
            c: [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM building WHERE community_code = %s ORDER BY id", (c,)
                )
            ]
            for c in communities
        }
        # A draft left open by an interrupted run would be reused as is: start clean.
        conn.execute("DELETE FROM grid_plan WHERE status = 'draft'")
    engine = make_engine(url, poolclass=NullPool)
    accounts = []
    with Session(engine) as session, session.begin():
        for i, code in enumerate(communities, 1):
            name = f"bench_planner_{i}"
            if session.query(Account).filter_by(username=name).one_or_none() is None:
                create_account(
                    session, name, PASSWORD, AccountRole.community_planner, community_code=code
                )
            accounts.append((name, code, buildings[code]))
    engine.dispose()
    return accounts


def serve(url: str, port: int) -> subprocess.Popen:
    """The app on ``port`` with the lookup rate limit out of the way."""
    env = {
        "DATABASE_URL": libpq_url(url),
        "WANGGE_LOOKUP_RATE_PER_MINUTE": "100000000",
        "WANGGE_LOOKUP_BURST": "100000000",
    }
    return start_uvicorn("api.app:create_app", port, env, ROOT)


@dataclass
class Planning:
    published: int = 0
    moves: int = 0
    rebalances: int = 0
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # moves the engine refused (422)
    seconds: list[float] = field(default_factory=list)  # one draft → edit → publish cycle


def _caller(http: httpx.Client, prefix: str, out: Planning) -> Callable[..., dict | None]:
    """``call(method, path, **kwargs)``: the JSON answer, or None with the failure recorded."""

    def call(method: str, path: str, **kwargs) -> dict | None:
        try:
            response = http.request(method, prefix + path, **kwargs)
        except httpx.HTTPError as exc:
            out.errors.append(f"{method} {path}: {type(exc).__name__} {exc}")
            return None
        if response.status_code == 422 and path.endswith("/moves"):
            # The engine may refuse a move (the answer says why): a refusal, not an error.
            out.refused.append(response.json().get("detail", "")[:200])
            return None
        if response.status_code >= 300:
            out.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    return call


def _edit(call, draft: dict, buildings: list, rng: random.Random, cycle: int, out: Planning):
    """Move a building to a neighbouring grid, or re-balance every third cycle or when no move
    was taken; the edited draft, or None."""
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    if cycle % 3:
        for building in rng.sample(buildings, min(20, len(buildings))):
            near = call("GET", f"/plans/{plan}/buildings/{building}/neighbours")
            if near:
                move = {"revision": revision, "building_ids": [building], "to_grid": near[0]}
                edited = call("POST", f"/plans/{plan}/moves", json=move)
                out.moves += edited is not None
                if edited is not None:
                    return edited
                break
    edited = call("POST", f"/plans/{plan}/rebalance", json={"revision": revision, "seed": cycle})
    out.rebalances += edited is not None
    return edited


def plan_loop(base: str, account: tuple, stop: threading.Event, out: Planning, seed: int) -> None:
    """Open a draft, move a building (or re-balance every third time), publish; repeat."""
    name, community, buildings = account
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=120) as http:
        token = http.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        if token.status_code != 200:
            out.errors.append(f"{name} login: {token.status_code} {token.text[:200]}")
            return
        http.headers["Authorization"] = f"Bearer {token.json()['token']}"
        call = _caller(http, f"/api/v1/communities/{community}", out)
        cycle = 0
        while not stop.is_set():
            started = time.perf_counter()
            cycle += 1
            draft = call("POST", "/drafts")
            edited = draft and _edit(call, draft, buildings, rng, cycle, out)
            if not edited:
                continue
            done = call(
                "POST",
                f"/plans/{edited['plan']['id']}/publish",
                json={"revision": edited["plan"]["revision"], "reason": "压测：规划员并发发布"},
            )
            if done is not None:
                out.published += 1
                out.seconds.append(time.perf_counter() - started)


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run(base: str, accounts, script: Path, connections: int, seconds: int) -> dict:
    stop = threading.Event()
    planning = [Planning() for _ in accounts]
    planners = [
        threading.Thread(target=plan_loop, args=(base, a, stop, p, i), daemon=True)
        for i, (a, p) in enumerate(zip(accounts, planning, strict=True))
    ]
    for t in planners:
        t.start()
    busy0, total0 = cpu_busy()
    wrk = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    busy1, total1 = cpu_busy()
    stop.set()
    for t in planners:
        t.join(timeout=180)
    line = next((x for x in wrk.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        sys.exit(f"bench/load.py: wrk failed:\n{wrk.stdout}\n{wrk.stderr}")
    result = json.loads(line[4:])
    errors = sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    cycles = [s for p in planning for s in p.seconds]
    return {
        "connections": connections,
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "requests": result["requests"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        "errors": errors,
        "error_kinds": {k: result[k] for k in ("non2xx", "connect", "read", "write", "timeout")},
        "published": sum(p.published for p in planning),
        "moves": sum(p.moves for p in planning),
        "rebalances": sum(p.rebalances for p in planning),
        "publish_errors": [e for p in planning for e in p.errors],
        "refused": [e for p in planning for e in p.refused],
        "cycle_s": sorted(cycles)[len(cycles) // 2] if cycles else float("nan"),
        "cpu_busy": (busy1 - busy0) / max(1, total1 - total0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", default="32,64", help="comma-separated wrk -c values")
    parser.add_argument("--fresh", action="store_true", help="rebuild the bench database")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/load.py: wrk is missing (make system installs it)")
    url = database(args.fresh)
    accounts = planner_accounts(url)
    with psycopg.connect(libpq_url(url)) as conn:
        points = conn.execute(POINTS_SQL).fetchall()
        grids, households = conn.execute(
            "SELECT (SELECT count(*) FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
            "AND p.status = 'published'), (SELECT count(*) FROM household)"
        ).fetchone()
    print(
        f"{DB_NAME}: {grids} published grids, {households} households; "
        f"{len(points)} lookup points; planners in {', '.join(a[1] for a in accounts)}",
        flush=True,
    )
    port = free_port()
    server = serve(url, port)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "points.lua"
            script.write_text(
                WRK_SCRIPT % {"points": ",".join(f"{{{x:.7f},{y:.7f}}}" for x, y in points)}
            )
            for connections in (int(c) for c in args.connections.split(",")):
                print(f"wrk -c{connections} for {args.seconds} s, planners publishing ...")
                results.append(run(base, accounts, script, connections, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"\nlookups on loopback, uvicorn 2 workers, {os.cpu_count()} CPUs "
        "(shared with whatever else runs: figures are noisy)"
    )
    print(
        f"{'conc.':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6} "
        f"{'CPU':>5} | {'published':>9} {'moves':>5} {'rebal.':>6} {'refused':>7} {'pub. err':>8} "
        f"{'cycle s':>7}"
    )
    for r in results:
        print(
            f"{r['connections']:>5} {r['rps']:>8.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
            f"{r['max_ms']:>7.0f} {r['errors']:>6} {r['cpu_busy']:>5.0%} | "
            f"{r['published']:>9} {r['moves']:>5} {r['rebalances']:>6} {len(r['refused']):>7} "
            f"{len(r['publish_errors']):>8} {r['cycle_s']:>7.1f}"
        )
        for problem in r["publish_errors"][:5]:
            print(f"    publish error: {problem}")
        for reason in sorted(set(r["refused"]))[:3]:
            print(f"    move refused (422): {reason}")
        if r["errors"]:
            print(f"    lookup errors: {r['error_kinds']}")
    failed = any(r["errors"] or r["publish_errors"] for r in results)
    print("\nOK: 0 lookup errors, 0 publish errors" if not failed else "\nFAILED: errors above")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
