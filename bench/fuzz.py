"""Fuzz the whole HTTP API with schemathesis, anonymously and as every role (issue 7).

Cases are generated from the app's own OpenAPI schema (valid and invalid inputs) and sent to a
real uvicorn on loopback, with a Bearer token per role; half of them carry real path
parameters (the fixture's community, plans, grids) so that they reach past the 404s. Then
hostile values (issue 13): NUL bytes and integers beyond any column in every query, path and
JSON body field of every operation, as every role; and every write sent eight times at once
(concurrent creates of the one draft, edits, deletes). Prints the cases run, the status
histogram and every 500 (there must be none).

Run: ``.venv/bin/python bench/fuzz.py [--cases 10000] [--seed 0]`` — builds its own database
``<dbname>_fuzz`` (the one-community fixture plus an account of each role), dropped afterwards.
"""

from __future__ import annotations

import argparse
import math
import re
import secrets
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):  # the project, and bench/served.py
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import requests  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from served import free_port, start_uvicorn  # noqa: E402  (bench/served.py)

ROLES = ("anonymous", "admin", "street", "planner", "worker")
HOSTILE = ("\x00", "a\x00b", "99999999999999999999", "-99999999999999999999")
"""A NUL byte alone and inside text, and integers beyond PostgreSQL's bigint either way."""
QUERY_DEFAULTS = {"layer": "grids", "revision": "1"}
"""Values for required query parameters that are not under attack, so the attack gets past
them."""
HOSTILE_JSON = ("a\x00b", 99999999999999999999, -99999999999999999999)
TOGETHER = 8
"""How many copies of each write are sent at the same moment."""


@dataclass
class Report:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    """Time spent per operation."""
    errors: list[str] = field(default_factory=list)
    """One line per 500 (or transport error): role, method, path and the reproducing curl."""

    def print(self) -> None:
        print(f"cases run: {self.cases}")
        print(
            "status histogram: "
            + ", ".join(
                f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0]))
            )
        )
        slow = ", ".join(f"{op} {t:.0f} s" for op, t in self.seconds.most_common(4))
        print(f"slowest operations: {slow}")
        print(f"500s found: {len(self.errors)}")
        for line in self.errors[:50]:
            print("  " + line)


def _fixed(path: str, known: dict[str, str]) -> dict[str, str]:
    """Real values for the path parameters of ``path``."""
    params = {name for name in known if "{" + name + "}" in path}
    values = {name: known[name] for name in params}
    if "code" in params:
        grid_path = path.startswith(("/g/", "/api/v1/lookup/grids"))
        values["code"] = known["grid_code"] if grid_path else known["code"]
    if "name" in params:
        values["name"] = "grids"
    if "layer" in params:
        values["layer"] = "grids"
    return values


def fuzz(
    base_url: str,
    tokens: dict[str, str | None],
    cases: int,
    *,
    known: dict[str, str] | None = None,
    seed: int = 0,
    timeout: float = 60.0,
    skip: tuple[str, ...] = (),
    both: bool = True,
) -> Report:
    """Send at least ``cases`` generated requests to ``base_url``, spread over every operation
    and every role in ``tokens`` (role → Bearer token, None for anonymous); ``both`` sends
    every operation with generated and with real path parameters, else alternately."""
    raw = requests.get(base_url + "/openapi.json", timeout=timeout).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [op for r in schema.get_all_operations() if (op := r.ok()).path not in skip]
    known = known or {}
    report = Report()
    sessions = {}
    for role, token in tokens.items():
        s = requests.Session()
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        sessions[role] = s
    combos = [(role, op) for role in tokens for op in operations]
    round_no = 0
    while report.cases < cases:
        # Each round: every (role, operation) pair gets its share, valid and invalid inputs.
        per_combo = max(1, math.ceil((cases - report.cases) / (2 * len(combos))))
        mode = GenerationMode.NEGATIVE if round_no % 2 else GenerationMode.POSITIVE
        for i, (role, op) in enumerate(combos):
            # alternate known path ids and generated ones; with ``both``, try the other too
            first = _fixed(op.path, known) if i % 2 == 0 else {}
            other = {} if first else _fixed(op.path, known)
            for fixed in [first, other] if other and both else [first]:
                _run(
                    op,
                    sessions[role],
                    role,
                    base_url,
                    mode,
                    fixed,
                    per_combo,
                    seed + round_no,
                    report,
                    timeout,
                )
        round_no += 1
        if round_no > 20:
            break
    return report


def _run(op, session, role, base_url, mode, fixed, examples, seed, report, timeout) -> None:
    try:
        strategy = op.as_strategy(generation_mode=mode, path_parameters=fixed or None)
    except Exception as exc:  # an operation schemathesis cannot generate for in this mode
        report.statuses[f"skipped ({type(exc).__name__})"] += 1
        return

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def send(case) -> None:
        report.cases += 1
        started = time.perf_counter()
        try:
            response = case.call(base_url=base_url, session=session, timeout=timeout)
        except Exception as exc:
            report.statuses["transport error"] += 1
            report.errors.append(f"{role} {op.method.upper()} {op.path}: {type(exc).__name__}")
            return
        report.seconds[f"{op.method.upper()} {op.path}"] += time.perf_counter() - started
        report.statuses[response.status_code] += 1
        if response.status_code >= 500 and response.status_code != 503:
            report.errors.append(
                f"{role} {response.status_code} {op.method.upper()} {op.path}: "
                f"{case.as_curl_command()}"
            )

    try:
        send()
    except Unsatisfiable:  # nothing invalid to generate (an operation without parameters)
        report.statuses["nothing to generate"] += 1


def _sample(schema: dict, node: dict) -> object:
    """A small instance of a JSON schema (every property filled), for bodies to poison."""
    if "$ref" in node:
        return _sample(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if node.get(key):
            return _sample(schema, node[key][0])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: _sample(schema, prop) for name, prop in node.get("properties", {}).items()}
    if kind == "array":
        return [_sample(schema, node.get("items", {}))]
    return {"integer": 1, "number": 1.0, "boolean": True, "string": "x"}.get(kind, "x")


def _poisoned(value: object, bad: object) -> list[object]:
    """``value`` with each leaf in turn replaced by ``bad``."""
    if isinstance(value, dict):
        return [{**value, k: v} for k, sub in value.items() for v in _poisoned(sub, bad)]
    if isinstance(value, list):
        return [[v, *value[1:]] for v in _poisoned(value[0], bad)] if value else []
    return [bad]


def _json_body(schema: dict, operation: dict) -> object | None:
    content = operation.get("requestBody", {}).get("content", {})
    json_schema = content.get("application/json", {}).get("schema")
    return None if json_schema is None else _sample(schema, json_schema)


def _send(
    headers: dict, report: Report, role: str, method: str, url: str, **kwargs
) -> requests.Response | None:
    """One request (its own connection, so threads may share nothing); its status goes in
    ``report``, a 5xx (not 503) or a transport error as an error line."""
    report.cases += 1
    try:
        response = requests.request(method, url, headers=headers, timeout=300, **kwargs)
    except Exception as exc:
        report.statuses["transport error"] += 1
        report.errors.append(f"{role} {method} {url}: {type(exc).__name__}")
        return None
    report.statuses[response.status_code] += 1
    if response.status_code >= 500 and response.status_code != 503:
        sent = kwargs.get("json") or kwargs.get("params") or ""
        report.errors.append(f"{role} {response.status_code} {method} {url} {sent!r:.200}")
    return response


def hostile_values(
    base_url: str,
    tokens: dict[str, str | None],
    known: dict[str, str],
    report: Report,
    skip: tuple[str, ...] = (),
) -> None:
    """Every query and path parameter of every operation set in turn to each of ``HOSTILE``,
    and every field of a JSON body to each of ``HOSTILE_JSON``, as every role; the other
    parameters get the known real values."""
    schema = requests.get(base_url + "/openapi.json", timeout=60).json()
    for path, operations in schema["paths"].items():
        if path in skip:
            continue
        values = {**QUERY_DEFAULTS, **_fixed(path, known)}
        for method, operation in operations.items():
            params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
            body = _json_body(schema, operation)
            for role, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                send = partial(_send, headers, report, role, method.upper())
                for target in params:
                    for bad in HOSTILE:
                        url, query = _request(path, params, values, target["name"], bad)
                        send(base_url + url, params=query, json=body)
                if body is not None:
                    url, query = _request(path, params, values, None, None)
                    for bad in HOSTILE_JSON:
                        for poisoned in _poisoned(body, bad):
                            send(base_url + url, params=query, json=poisoned)


def _request(
    path: str, params: list[dict], values: dict[str, str], target: str | None, bad: str | None
) -> tuple[str, dict[str, str]]:
    """(the path filled in, the query): ``target`` gets ``bad``, required parameters a known
    value (or 1)."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return requests.utils.quote(bad if name == target else values.get(name, "1"), safe="")

    query = {
        p["name"]: values.get(p["name"], "1")
        for p in params
        if p["in"] == "query" and p.get("required") and p["name"] != target
    }
    if target is not None and any(p["name"] == target and p["in"] == "query" for p in params):
        query[target] = bad
    return re.sub(r"\{([\w-]+)\}", fill, path), query


def concurrent_writes(
    base_url: str, tokens: dict[str, str | None], known: dict[str, str], report: Report
) -> None:
    """Every write under /api/v1 except the imports sent ``TOGETHER`` times at once as the
    community planner: the one draft opened by all of them, then each edit, publish, staffing
    and delete raced on that draft with its current revision."""
    schema = requests.get(base_url + "/openapi.json", timeout=60).json()
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    together = partial(_together, headers, report)
    community = f"{base_url}/api/v1/communities/{known['code']}"
    opened = together("POST", community + "/drafts", None)
    drafts = {r.json()["plan"]["id"] for r in opened if r is not None and r.status_code == 201}
    if len(drafts) != 1:
        report.errors.append(f"planner POST /drafts x{TOGETHER}: drafts opened {sorted(drafts)}")
        return
    draft = drafts.pop()
    writes = sorted(
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/communities/{code}/plans/{plan_id}")
        for method, operation in operations.items()
        if method in ("post", "put", "delete")
    )
    # publish, then delete, last: after them the draft is gone
    writes.sort(key=lambda w: (w[0] == "DELETE", w[1].endswith("/publish")))
    for method, path, operation in writes:
        detail = requests.get(f"{community}/plans/{draft}", headers=headers, timeout=60)
        if detail.status_code != 200:
            break
        revision = detail.json()["plan"]["revision"]
        values = {**known, "plan_id": str(draft), "revision": str(revision)}
        body = _json_body(schema, operation)
        if isinstance(body, dict) and "revision" in body:
            body["revision"] = revision
        url = base_url + re.sub(r"\{(\w+)\}", lambda m, v=values: v.get(m.group(1), "1"), path)
        params = {"revision": revision} if method == "DELETE" else None
        together(method, url, body, params)


def _together(
    headers: dict, report: Report, method: str, url: str, body, params=None
) -> list[requests.Response | None]:
    """Send one request ``TOGETHER`` times at once, as the planner; the responses."""

    def one(_: int) -> requests.Response | None:
        return _send(headers, report, "planner", method, url, json=body, params=params)

    with ThreadPoolExecutor(TOGETHER) as pool:
        return list(pool.map(one, range(TOGETHER)))


def _prepare_database() -> tuple[str, str, dict[str, str], dict[str, str]]:
    """(admin URL, fuzz database URL, role → password, known path values)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import NullPool

    from data.access.accounts import create_account
    from data.db import create_database, drop_database, make_engine, resolve_url
    from data.models import AccountRole, Community
    from data.settings import Settings
    from data.store import migrate
    from data.store.setup import load_sample

    url = make_url(resolve_url(Settings()))
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    name = f"{url.database}_fuzz"
    drop_database(admin, name)
    create_database(admin, name)
    target = url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(target)
    engine = make_engine(target, poolclass=NullPool)
    load_sample(engine, 7, communities=1)
    password = secrets.token_urlsafe(16)
    with Session(engine) as session, session.begin():
        home = session.scalar(text("SELECT code FROM community ORDER BY code"))
        street = session.get(Community, home).street_code
        staff = session.scalar(text("SELECT staff_id FROM grid_staff ORDER BY staff_id LIMIT 1"))
        create_account(session, "admin", password, AccountRole.admin)
        create_account(session, "street", password, AccountRole.street_planner, street_code=street)
        create_account(
            session, "planner", password, AccountRole.community_planner, community_code=home
        )
        create_account(session, "worker", password, AccountRole.grid_worker, staff_id=staff)
        plan = session.scalar(text("SELECT id FROM grid_plan ORDER BY id LIMIT 1"))
        grid = session.scalar(text("SELECT code FROM grid ORDER BY code LIMIT 1"))
        building = session.scalar(text("SELECT id FROM building ORDER BY id LIMIT 1"))
    engine.dispose()
    known = {
        "code": home,
        "grid_code": grid,
        "plan_id": str(plan),
        "building_id": str(building),
        "number": "1",
    }
    return admin, target, {r: password for r in ROLES if r != "anonymous"}, known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sqlalchemy.engine import make_url

    from data.db import drop_database
    from data.settings import libpq_url

    admin, url, passwords, known = _prepare_database()
    port = free_port()
    env = {"DATABASE_URL": libpq_url(url), "WANGGE_LOOKUP_RATE_PER_MINUTE": "0"}
    server = start_uvicorn("api.app:create_app", port, env, ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        tokens: dict[str, str | None] = {"anonymous": None}
        for role, password in passwords.items():
            answer = requests.post(
                base + "/api/v1/auth/token",
                json={"username": role, "password": password},
                timeout=30,
            )
            answer.raise_for_status()
            tokens[role] = answer.json()["token"]
        started = time.perf_counter()
        report = fuzz(base, tokens, args.cases, known=known, seed=args.seed)
        hostile_values(base, tokens, known, report)
        concurrent_writes(base, tokens, known, report)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(admin, make_url(url).database)
    report.print()
    print(f"time: {elapsed:.0f} s ({report.cases / elapsed:.0f} cases/s)")
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
