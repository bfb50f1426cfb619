"""The client address behind (or without) a reverse proxy: ``X-Forwarded-For`` is believed
only from the proxies listed in ``WANGGE_TRUSTED_PROXY``, and then its right-most hop that is
not one of them is the client (issue 13, item 3). The lookups' rate limit and the login
throttle key on that address, so a client rotating a spoofed header gains nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.conftest import serving
from tests.planning.conftest import World, world  # noqa: F401

POINT = {"lon": 109.19, "lat": 27.72}
BURST = 20
SLOW = {"WANGGE_LOOKUP_RATE_PER_MINUTE": "1", "WANGGE_LOOKUP_BURST": str(BURST)}


def _lookups(base: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=base, timeout=30) as http:
        return [
            http.get("/api/v1/lookup", params=POINT, headers={"X-Forwarded-For": f}).status_code
            for f in forwarded
        ]


def test_without_a_trusted_proxy_a_spoofed_header_is_ignored(isolated_url: str) -> None:
    with serving(isolated_url, **SLOW) as base:
        codes = _lookups(base, [f"203.0.113.{n}" for n in range(40)])
    assert 429 not in codes[:BURST], codes
    assert codes[BURST:] == [429] * (40 - BURST), codes


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_limited(isolated_url: str) -> None:
    with serving(isolated_url, WANGGE_TRUSTED_PROXY="127.0.0.1,10.0.0.0/8", **SLOW) as base:
        # The client writes anything left of its own address; proxies 10.x append theirs.
        chains = [f"203.0.113.{n}, 198.51.100.7, 10.0.0.2" for n in range(40)]
        codes = _lookups(base, chains)
        other = _lookups(base, ["198.51.100.8"])
    assert 429 not in codes[:BURST], codes
    assert codes[BURST:] == [429] * (40 - BURST), codes
    assert other != [429]  # another client behind the proxy has its own budget


def test_login_throttling_keys_on_the_same_address(world: World) -> None:  # noqa: F811
    limits = {"WANGGE_LOGIN_MAX_FAILURES": "3", "WANGGE_LOGIN_WINDOW_SECONDS": "600"}

    def token(http: httpx.Client, username: str, password: str, forwarded: str) -> int:
        body = {"username": username, "password": password}
        headers = {"X-Forwarded-For": forwarded}
        return http.post("/api/v1/auth/token", json=body, headers=headers).status_code

    with serving(world.url, **limits) as base, httpx.Client(base_url=base) as http:
        codes = [token(http, f"nobody{n}", "x", f"203.0.113.{n}") for n in range(4)]
    assert codes == [401, 401, 401, 429]  # spoofing a new address each time does not help

    with (
        serving(world.url, WANGGE_TRUSTED_PROXY="127.0.0.1", **limits) as base,
        httpx.Client(base_url=base) as http,
    ):
        codes = [token(http, f"someone{n}", "x", f"1.2.3.{n}, 198.51.100.9") for n in range(3)]
        assert codes == [401, 401, 401]
        assert token(http, "admin", "correct horse battery", "198.51.100.9") == 429
        assert token(http, "admin", "correct horse battery", "198.51.100.10") == 200


def test_a_proxy_setting_that_is_not_an_address_is_refused_in_one_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WANGGE_TRUSTED_PROXY": "true"},
    )
    assert run.returncode == 2, run.stderr
    assert "WANGGE_TRUSTED_PROXY" in run.stderr and "Traceback" not in run.stderr
