"""Fuzz the whole HTTP API with schemathesis, anonymously and as every role (issue 7).

Cases are generated from the app's own OpenAPI schema (valid and invalid inputs) and sent to a
real uvicorn on loopback, with a Bearer token per role; half of them carry real path
parameters (the fixture's community, plans, grids) so that they reach past the 404s. Prints the
cases run, the status histogram and every 500 (there must be none).

Run: ``.venv/bin/python bench/fuzz.py [--cases 10000] [--seed 0]`` — builds its own database
``<dbname>_fuzz`` (the one-community fixture plus an account of each role), dropped afterwards.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

ROLES = ("anonymous", "admin", "street", "planner", "worker")


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
    from tests.conftest import serving

    admin, url, passwords, known = _prepare_database()
    try:
        with serving(url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
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
            elapsed = time.perf_counter() - started
    finally:
        drop_database(admin, make_url(url).database)
    report.print()
    print(f"time: {elapsed:.0f} s ({report.cases / elapsed:.0f} cases/s)")
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
