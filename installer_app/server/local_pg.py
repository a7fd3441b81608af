"""A private, throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl`` in a folder), for the tests,
the benchmark and ``demo --team``.

PostgreSQL refuses to run as root: when this process is root, the cluster belongs to an unprivileged
system user (``installer-pg``, created when missing) and the binaries run through ``runuser``.
It listens on 127.0.0.1 on a free port, trust authentication, never on a public address. The
folder's parents must be reachable by that user: ``temporary_folder()`` makes one in the system's
temporary directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

PG_USER = "installer-pg"
INSTALL_HINT = "apt-get install postgresql"


class PostgresMissing(InstallerError):
    exit_code = ExitCode.USAGE

    def __init__(self) -> None:
        super().__init__(
            Message(QT_TRANSLATE_NOOP("server", "PostgreSQL's server programs are not installed.")),
            Message(
                QT_TRANSLATE_NOOP("server", "Install the postgresql package ({command})."),
                command=INSTALL_HINT,
            ),
        )


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def temporary_folder() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="installer-pg-"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalPostgres:
    def __init__(self, folder: Path, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise PostgresMissing()
        self.bin_dir = found
        self.folder = folder
        self.data_dir = folder / "data"
        self.socket_dir = folder / "sock"
        self.port = _free_port()
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", PG_USER, "--", *cmd] if self._as_root else cmd

    def _ensure_user(self) -> None:
        import pwd

        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_USER,
                ],
                check=True,
                capture_output=True,
            )

    def start(self) -> LocalPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._as_root:
            self._ensure_user()
            import pwd

            user = pwd.getpwnam(PG_USER)
            for path in (self.folder, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                self._cmd(
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",
                ),
                check=True,
                capture_output=True,
            )
        self.start_server()
        return self

    def start_server(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-w",
                "-t",
                "30",
                "-l",
                str(self.folder / "server.log"),
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop_server(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop"),
            check=False,
            capture_output=True,
        )

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def wait_ready(self, timeout_s: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
