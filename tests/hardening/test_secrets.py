"""Secrets come from the environment; outside development the app refuses default or empty ones
with one line (issue 7, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from api.app import create_app
from data.settings import InsecureSettings, Settings, refuse_default_secrets

REMOTE_NO_PASSWORD = "postgresql://wangge@db.example.cn:5432/wangge"
REMOTE_DEFAULT = "postgresql://postgres:postgres@10.0.0.5/wangge"
REMOTE_GOOD = "postgresql://wangge:Vq7-rT2pLx9wZ3kM@db.example.cn/wangge"
LOCAL_NO_PASSWORD = "postgresql://postgres@127.0.0.1:54329/wangge"


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": REMOTE_NO_PASSWORD},
        {"DATABASE_URL": REMOTE_DEFAULT},
        {"DATABASE_URL": REMOTE_GOOD, "WANGGE_BASEMAP": "tianditu"},
        {"DATABASE_URL": REMOTE_GOOD, "WANGGE_BASEMAP": "tianditu", "WANGGE_TIANDITU_KEY": "test"},
    ],
)
def test_production_refuses_default_secrets(monkeypatch, env):
    monkeypatch.setenv("WANGGE_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InsecureSettings) as refused:
        create_app()
    assert "\n" not in str(refused.value)
    assert "WANGGE_ENV=production" in str(refused.value)


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": REMOTE_GOOD},
        {"DATABASE_URL": LOCAL_NO_PASSWORD},  # a loopback server with local trust
        {"DATABASE_URL": REMOTE_GOOD, "WANGGE_BASEMAP": "amap"},
        {
            "DATABASE_URL": REMOTE_GOOD,
            "WANGGE_BASEMAP": "tianditu",
            "WANGGE_TIANDITU_KEY": "0f3c9a7be41d4c2a8e5b6f7a9c1d2e3f",
        },
    ],
)
def test_production_starts_with_real_secrets(monkeypatch, env):
    monkeypatch.setenv("WANGGE_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    refuse_default_secrets(Settings())
    create_app()  # the engine is made at start-up, not here: nothing connects


def test_development_is_the_default_and_allows_defaults():
    settings = Settings(database_url=REMOTE_NO_PASSWORD, _env_file=None)
    assert Settings.model_fields["env"].default == "development"
    refuse_default_secrets(settings.model_copy(update={"env": "development"}))


def test_wangge_serve_refuses_to_start_with_one_line():
    env = {**os.environ, "WANGGE_ENV": "production", "DATABASE_URL": REMOTE_DEFAULT}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "wangge: WANGGE_ENV=production：DATABASE_URL 连到 10.0.0.5 用的是空密码或默认密码；"
        "请设置真正的密码"
    ]
