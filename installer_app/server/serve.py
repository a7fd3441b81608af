"""``installer-app serve``: migrate, bind the socket, run uvicorn with N worker processes.

The socket is bound here, before any worker starts, so ``listening on http://H:P`` names the real
port (``--port 0`` picks a free one) and the workers share it. With ``--workers 1`` the server runs
in this process; with more, uvicorn's supervisor runs them and replaces a worker that dies.
SIGTERM lets the requests in flight finish, then the process exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from installer_app.server.config import ENV_CONFIG_FILE, ENV_DATABASE_URL

FACTORY = "installer_app.server.app:app_from_environment"
GRACEFUL_S = 10


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says so, and without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in str(host) else str(host)
    return f"http://{shown}:{port}"


def run(sock: socket.socket, workers: int, config_file: str | None, db_url: str) -> None:
    # The workers read these (app_from_environment): spawned processes inherit the environment.
    if config_file:
        os.environ[ENV_CONFIG_FILE] = config_file
    os.environ[ENV_DATABASE_URL] = db_url
    options: dict[str, Any] = {
        "factory": True,
        "workers": workers,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_S,
        "proxy_headers": True,
        "server_header": False,
    }
    config = uvicorn.Config(FACTORY, **options)
    # uvicorn handles SIGTERM (finish the requests in flight, stop) and then raises the signal
    # again for the handler it found: a no-op one here, so the process ends with exit code 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    print(f"listening on {url_of(sock)}", flush=True)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        config.load()
        uvicorn.Server(config).run(sockets=[sock])
    sys.stdout.flush()


class InProcessServer:
    """The app served from a thread of this process (tests, the benchmark, ``demo --team``)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = bind(host, port)
        self.url = url_of(self._sock)
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="team-server",
            daemon=True,
        )

    def start(self, timeout_s: float = 20) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the team server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(15)
        self._sock.close()
