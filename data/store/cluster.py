"""A project-local PostGIS cluster, started on demand when no ``DATABASE_URL`` is given.

The cluster lives in ``var/pg`` (git-ignored), listens on 127.0.0.1 on a non-default port and
is reused by every later run. PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` system user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class ClusterError(RuntimeError):
    """The local cluster could not be created, started or stopped."""


@dataclass(frozen=True)
class LocalCluster:
    """A PostgreSQL data directory under the project, served on ``127.0.0.1:port``."""

    root: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def is_running(self) -> bool:
        if not (self.datadir / "PG_VERSION").exists():
            return False
        result = self._run("pg_ctl", "status", "-D", str(self.datadir), check=False)
        return result.returncode == 0

    def ensure_running(self) -> None:
        """Create the cluster if it does not exist and start it if it is stopped."""
        if not (PG_BIN / "initdb").exists():
            raise ClusterError(
                "找不到 PostgreSQL 15 服务器程序：请运行 `make setup`"
                "（会安装 postgresql-15-postgis-3），或设置 DATABASE_URL"
            )
        if not (self.datadir / "PG_VERSION").exists():
            self._init()
        if not self.is_running():
            self._start()

    def stop(self) -> bool:
        """Stop the server; returns False when it was not running."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w")
        return True

    def _init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self._give_to_server_user(self.root)
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        settings = (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "max_connections = 200\nshared_buffers = 256MB\nfsync = on\n"
            # A hot standby can be cloned from it (``wangge db replica start``); initdb's
            # pg_hba.conf already trusts replication connections from 127.0.0.1.
            "wal_level = replica\nmax_wal_senders = 10\n"
        )
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def _start(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        self._give_to_server_user(self.socket_dir)
        # The log goes beside the data directory, which the server user owns.
        self._run(
            "pg_ctl", "start", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "300"
        )
        deadline = time.monotonic() + 30
        while not self.is_running():
            if time.monotonic() > deadline:
                raise ClusterError(f"PostgreSQL 没有启动，请查看日志 {self.logfile}")
            time.sleep(0.2)

    def _give_to_server_user(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
            _make_traversable(path.parent)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            # The cause is the first error line; the last is often only the clean-up's.
            errors = [line for line in lines if "error" in line.lower() or "FATAL" in line]
            reason = (errors or lines or [str(result.returncode)])[0]
            raise ClusterError(f"{tool} 运行失败：{reason}")
        return result


@dataclass(frozen=True)
class LocalStandby(LocalCluster):
    """A hot standby of a local cluster: cloned with ``pg_basebackup -R`` into its own folder
    and served on its own port, streaming the primary's WAL and answering read-only queries."""

    primary: LocalCluster

    def ensure_running(self) -> None:
        """Clone the primary if the standby does not exist yet, and start it if stopped."""
        if not (self.datadir / "PG_VERSION").exists():
            if not self.primary.is_running():
                raise ClusterError(f"主库（{self.primary.datadir}）没有运行")
            self._clone()
        if not self.is_running():
            self._start()

    def _clone(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self._give_to_server_user(self.root)
        self._run(
            "pg_basebackup",
            "-D",
            str(self.datadir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-R",  # standby.signal and primary_conninfo: it starts as a streaming standby
            "-X",
            "stream",
            "--checkpoint=fast",
        )
        # The copied postgresql.conf names the primary's port and socket; later lines win.
        settings = (
            f"\nport = {self.port}\nunix_socket_directories = '{self.socket_dir}'\n"
            "hot_standby = on\nhot_standby_feedback = on\n"
        )
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(settings)


def _make_traversable(path: Path) -> None:
    """Let the server user reach a data directory below root-owned folders (o+x only)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
