"""The provider emulator's HTTP server: spec A, spec C, control endpoints and the operator page.

One ``ThreadingHTTPServer`` on loopback, served from a background thread. HTTP/1.1 keep-alive, so
a client's one connection is reused across polls, as it would be against WeCom. ``stop()`` closes
every open connection and joins every handler thread, so tests end without leaked sockets.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.emulator.api import (
    PARTNER_PREFIX,
    WECOM_PREFIX,
    PartnerApi,
    WecomApi,
    device_info,
)
from installer_app.provider.emulator.control import (
    CONTROL_PREFIX,
    ControlApi,
    device_row,
    device_view,
)
from installer_app.provider.emulator.faults import Injection
from installer_app.provider.emulator.page import render_page, render_rows
from installer_app.provider.emulator.records import ApiError
from installer_app.provider.emulator.state import EmulatorState
from installer_app.provider.emulator.suite import SuiteSide
from installer_app.provider.emulator.wire import Request, Response, error_response, json_response

log = logging.getLogger(__name__)

DEFAULT_MODEL_IDS = ("WX-ATT-200", "WX-DOOR-100", "WX-PRN-300", "WX-CAST-400")
_MAX_BODY = 1 << 20
_SN_PATH = re.compile(r"/v1/devices/([^/]+)")
_CORP_PATH = re.compile(r"/v1/installations/([^/]+)")


class EmulatorStartError(InstallerError):
    exit_code = ExitCode.USAGE


class _Server(ThreadingHTTPServer):
    # Handler threads are joined at close (not daemons) after their connections are shut down.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: ProviderEmulator) -> None:
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a machine without
        # DNS; the emulator never needs it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (or stop() shutting its connection) is normal here; the default
        # would print a traceback to stderr.
        log.debug("emulator: connection from %s ended abruptly", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the client's delayed ACK
    # holds the body back ~40 ms on every request.
    disable_nagle_algorithm = True
    server_version = "ProviderEmulator/1"
    timeout = 120  # an idle keep-alive connection is dropped after this
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(json_response({"errcode": 413, "errmsg": "body too large"}, 413))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(method, parts.path, query, headers, body)
        try:
            response = self.server.emulator.dispatch(request)
        except Exception:
            log.exception("emulator: %s %s failed", method, parts.path)
            response = json_response({"errcode": -1, "errmsg": "emulator internal error"}, 500)
        self._send(response)
        # The query may hold a token: log the path only.
        log.debug("emulator: %s %s -> %d", method, parts.path, response.status)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler would print request lines (with the token in the query) to
        # stderr; the emulator logs its own line without the query instead.
        pass


class ProviderEmulator:
    """WeCom's provider API and the partner service on one loopback port, for demos and tests.

    The control methods (``bind``, ``unbind``, ``expire_tokens``, ``inject``, ``set_latency``,
    ``reset``...) are the same operations as the HTTP endpoints under ``/_emulator/``.
    """

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        corpid: str = "wwemulator0000001",
        provider_secret: str = "emulator-provider-secret",
        partner_token: str = "emulator-installer-token",
        model_ids: Iterable[str] = DEFAULT_MODEL_IDS,
        install_delay_s: float = 3.0,
        token_ttl_s: float = 7200,
        auto_scan_after_s: float | None = None,
    ) -> None:
        self.state = EmulatorState(
            state_file,
            corpid=corpid,
            provider_secret=provider_secret,
            model_ids=model_ids,
            install_delay_s=install_delay_s,
            token_ttl_s=token_ttl_s,
            auto_scan_after_s=auto_scan_after_s,
        )
        self.corpid = corpid
        self.provider_secret = provider_secret
        self.partner_token = partner_token
        # The companion app's suite side (suite.py); set suite.config.callback_url to push.
        self.suite = SuiteSide()
        self.state.on_new_installation = self._companion_installed
        self._wecom = WecomApi(self.state, self.suite)
        self._partner = PartnerApi(self.state, partner_token)
        self._control = ControlApi(self.state)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url: str | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        try:
            server = _Server((host, port), self)
        except OSError as exc:
            raise EmulatorStartError(
                Message(
                    QT_TRANSLATE_NOOP("emulator", "Cannot listen on {host}:{port}: {reason}"),
                    host=host,
                    port=port,
                    reason=exc.strerror or str(exc),
                ),
                Message(
                    QT_TRANSLATE_NOOP(
                        "emulator", "Choose another --port, or stop the program using this one."
                    )
                ),
            ) from exc
        self._stopping.clear()
        self._server = server
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{url_host}:{bound_port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="provider-emulator",
            daemon=True,
        )
        self._thread.start()
        log.info("provider emulator listening on %s", self._base_url)
        return self._base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # ends injected latency waits at once
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._server = self._thread = None
        log.info("provider emulator stopped")

    def __enter__(self) -> ProviderEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the emulator has not been started")
        return self._base_url

    @property
    def operator_url(self) -> str:
        return self.base_url + "/"

    def _companion_installed(self, corpid: str, corp_name: str) -> None:
        """After the install delay, WeCom's create_auth goes to the suite's callback URL (if one
        is set); from a timer thread, so a bind never waits for the partner's server."""
        if not self.suite.config.callback_url:
            return
        timer = threading.Timer(
            self.state.install_delay_s, self.suite.install, args=(corpid, corp_name)
        )
        timer.daemon = True
        timer.start()

    # --- control (the same as /_emulator/...) ----------------------------------------------

    @property
    def token_fetches(self) -> int:
        return self.state.token_fetches

    def register(self, device_sn: str, model_id: str | None = None) -> dict[str, Any]:
        """Register an SN as A2 would (for test set-up); returns A2's ``device_info``."""
        return device_info(self.state.add_device(model_id or self.state.model_ids[0], device_sn))

    def bind(
        self,
        device_sn: str,
        corpid: str | None = None,
        corp_name: str | None = None,
        remark_name: str | None = None,
    ) -> dict[str, Any]:
        return device_view(self.state, self.state.bind(device_sn, corpid, corp_name, remark_name))

    def scan(
        self, qr_url: str, corpid: str | None = None, corp_name: str | None = None
    ) -> dict[str, Any]:
        """An admin scans a static or dynamic binding QR code (the signature is checked)."""
        return device_view(self.state, self.state.scan(qr_url, corpid, corp_name))

    def unbind(self, device_sn: str) -> dict[str, Any]:
        return device_view(self.state, self.state.unbind(device_sn))

    def expire_tokens(self, *, invalidate: bool = False) -> int:
        return self.state.expire_tokens(invalidate=invalidate)

    def inject(
        self,
        path: str = "*",
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        self.state.faults.inject(
            path, errcode=errcode, http_status=http_status, retry_after=retry_after, count=count
        )

    def set_latency(self, seconds: float) -> None:
        self.state.faults.set_latency(seconds)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def reset(self) -> None:
        self.state.reset()

    def devices(self) -> list[dict[str, Any]]:
        return [device_row(self.state, d) for d in self.state.all_devices()]

    def device(self, device_sn: str) -> dict[str, Any] | None:
        found = self.state.find(device_sn)
        return None if found is None else device_view(self.state, found)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    # --- request dispatch ------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        path = req.path
        try:
            if path.startswith(WECOM_PREFIX):
                name = path.removeprefix(WECOM_PREFIX)
                self.state.count(path)
                return self._faulted(req, path, path) or self._wecom.handle(req, name)
            if path.startswith(PARTNER_PREFIX):
                return self._partner_route(req)
            if path.startswith(CONTROL_PREFIX):
                name = path.removeprefix(CONTROL_PREFIX)
                template = "/_emulator/devices/{sn}" if name.startswith("devices/") else path
                self.state.count(template)
                return self._control.handle(req, name)
            if path == "/" and req.method == "GET":
                return self._page(req)
            raise ApiError(404, "not found", 404)
        except ApiError as exc:
            return error_response(exc)

    def _partner_route(self, req: Request) -> Response:
        path = req.path
        if path == "/v1/devices":
            template, method, handler = path, "POST", self._partner.register
        elif match := _SN_PATH.fullmatch(path):
            req.params["sn"] = match.group(1)
            template, method, handler = "/v1/devices/{sn}", "GET", self._partner.device
        elif match := _CORP_PATH.fullmatch(path):
            req.params["corpid"] = match.group(1)
            template, method, handler = (
                "/v1/installations/{corpid}",
                "GET",
                self._partner.installation,
            )
        else:
            self.state.count(path)
            raise ApiError(404, "not found", 404)
        self.state.count(template)
        faulted = self._faulted(req, path, template)
        if faulted is not None:
            return faulted
        self._partner.authorize(req)
        if req.method != method:
            raise ApiError(405, "method not allowed", 405)
        return handler(req)

    def _faulted(self, req: Request, path: str, template: str) -> Response | None:
        """Injected latency, then an injected error when one is armed for this path."""
        latency = self.state.faults.latency_s
        if latency > 0:
            self._stopping.wait(latency)
        injection = self.state.faults.take(path, template)
        if injection is None:
            return None
        log.debug("emulator: injecting %s into %s", injection, path)
        return _injected_response(injection, partner=path.startswith(PARTNER_PREFIX))

    def _page(self, req: Request) -> Response:
        if req.query.get("part") == "rows":
            html = render_rows(self.state)
        else:
            html = render_page(self.state, self.base_url, req.query.get("note"))
        return Response(200, html.encode("utf-8"), "text/html; charset=utf-8")


_ERRMSGS = {
    -1: "system busy",
    40001: "invalid provider_secret",
    40013: "invalid corpid",
    40014: "invalid provider_access_token",
    42001: "provider_access_token expired",
    45009: "reach max api daily quota limit",
    45033: "api concurrent out of limit",
    401: "invalid or revoked installer token",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
}


def _injected_response(injection: Injection, partner: bool) -> Response:
    headers: dict[str, str] = {}
    if injection.retry_after is not None:
        headers["Retry-After"] = f"{injection.retry_after:g}"
    if injection.http_status is not None:
        status = injection.http_status
        if status == 429 and "Retry-After" not in headers:
            headers["Retry-After"] = "1"
        code = status
    else:
        assert injection.errcode is not None
        code = injection.errcode
        # WeCom answers errcodes with HTTP 200; the partner service has its own statuses.
        status = {401: 401, 429: 429, 600001: 404}.get(code, 200) if partner else 200
        if status == 429 and "Retry-After" not in headers:
            headers["Retry-After"] = "1"
    errmsg = _ERRMSGS.get(code, f"injected error {code}") + " (injected by the emulator)"
    return json_response({"errcode": code, "errmsg": errmsg}, status, headers)
