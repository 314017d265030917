"""`awsbroker login -method=oidc`: the OIDC browser flow from a terminal, as Vault's CLI runs it.

A listener on loopback (`http://localhost:8250/oidc/callback` by default) waits for the
provider's redirect; `auth/<path>/oidc/auth_url` is asked for the provider's URL with that
redirect URI and a fresh `client_nonce`; the browser is opened on it (Python's `webbrowser`,
which honours BROWSER) or the URL printed; when the provider sends the person back with a code
and state, they go to `auth/<path>/oidc/callback` with the same `client_nonce`, the browser is
shown a small page, and the token comes back. Waits two minutes at most (`timeout=`)."""

from __future__ import annotations

import html
import ipaddress
import queue
import secrets
import socket
import socketserver
import threading
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from awsbroker.cli.client import Client
from awsbroker.cli.errors import CLIError, RemoteError, UsageError
from awsbroker.cli.flags import parse_bool
from awsbroker.sdk.duration import parse_duration

CALLBACK_PATH = "/oidc/callback"
DEFAULT_TIMEOUT = 120.0
KEYS = (
    "role",
    "port",
    "listenaddress",
    "callbackhost",
    "callbackport",
    "callbackmethod",
    "skip_browser",
    "timeout",
)
SIGNED_IN = (
    "<!doctype html><html><head><meta charset='utf-8'><title>awsbroker</title></head>"
    "<body><h1>Signed in to awsbroker</h1><p>You may close this window.</p></body></html>"
)
FAILED = (
    "<!doctype html><html><head><meta charset='utf-8'><title>awsbroker</title></head>"
    "<body><h1>Sign-in failed</h1><p>{}</p><p>Return to the terminal.</p></body></html>"
)


@dataclass(frozen=True)
class Options:
    role: str
    port: int
    callback_port: int
    listen_address: str
    callback_host: str
    callback_method: str
    skip_browser: bool
    timeout: float

    @property
    def redirect_uri(self) -> str:
        return f"{self.callback_method}://{self.callback_host}:{self.callback_port}{CALLBACK_PATH}"


def options(pairs: Mapping[str, str]) -> Options:
    """The key=value arguments of `login -method=oidc`; a wrong one is a one-line error."""
    unknown = sorted(set(pairs) - set(KEYS))
    if unknown:
        raise UsageError(
            f"unknown argument for -method=oidc: {', '.join(unknown)} (known: {', '.join(KEYS)})"
        )
    port = _port(pairs.get("port", "8250"), "port")
    method = pairs.get("callbackmethod", "http")
    if method not in ("http", "https"):
        raise UsageError(f"callbackmethod must be http or https, not {method!r}")
    timeout = DEFAULT_TIMEOUT
    if "timeout" in pairs:
        try:
            timeout = float(parse_duration(pairs["timeout"]))
        except ValueError:
            raise UsageError(
                f"timeout must be a duration (e.g. 2m or 90s), not {pairs['timeout']!r}"
            ) from None
        if timeout <= 0:
            raise UsageError("timeout must be more than zero")
    return Options(
        role=pairs.get("role", ""),
        port=port,
        callback_port=_port(pairs.get("callbackport", str(port)), "callbackport"),
        listen_address=pairs.get("listenaddress", "localhost"),
        callback_host=pairs.get("callbackhost", "localhost"),
        callback_method=method,
        skip_browser=parse_bool(pairs.get("skip_browser", "false"), "skip_browser"),
        timeout=timeout,
    )


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{name} must be a TCP port number (1-65535), not {text!r}")
    return int(text)


def loopback_address(host: str, port: int) -> tuple[int, str]:
    """The address family and address to listen on for `host`: every address it names must
    be a loopback one, so that only this machine can reach the listener."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"listenaddress {host!r} cannot be resolved: {exc.strerror}") from None
    addresses = [(family, str(sockaddr[0])) for family, _, _, _, sockaddr in found]
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for _, a in addresses):
        raise UsageError(
            f"listenaddress {host!r} is not a loopback address: the callback listener only "
            "listens on this machine (localhost, 127.0.0.1 or ::1)"
        )
    addresses.sort(key=lambda fa: fa[0] != socket.AF_INET)  # 127.0.0.1 first, as Vault's
    return addresses[0]


class _Listener(HTTPServer):
    def __init__(self, family: int, address: str, port: int, finish: Any) -> None:
        self.address_family = family
        self.finish_login = finish
        self.results: queue.Queue[Mapping[str, Any] | CLIError] = queue.Queue()
        try:
            super().__init__((address, port), _Handler)
        except OSError as exc:
            raise CLIError(
                f"cannot listen on {address}:{port} for the OIDC callback: {exc.strerror}; "
                "choose another with port=PORT"
            ) from None

    def server_bind(self) -> None:
        # HTTPServer's would look the address's name up (getfqdn): a DNS query for nothing.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: _Listener

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._page(404, FAILED.format("Not found."))
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            auth = self.server.finish_login(query)
        except CLIError as exc:
            self._page(400, FAILED.format(html.escape(exc.message)))
            self.server.results.put(exc)
            return
        self._page(200, SIGNED_IN)
        self.server.results.put(auth)

    def _page(self, status: int, body: str) -> None:
        encoded = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the authorization code: never logged


def login(client: Client, mount: str, opts: Options, stderr: TextIO) -> Mapping[str, Any]:
    """Run the flow; the `auth` block of the callback's answer."""
    family, address = loopback_address(opts.listen_address, opts.port)
    client_nonce = secrets.token_urlsafe(24)

    def finish(query: Mapping[str, str]) -> Mapping[str, Any]:
        if "error" in query:
            detail = query.get("error_description") or ""
            raise RemoteError(
                f"the OIDC provider refused the login: {query['error']}"
                + (f": {detail}" if detail else "")
            )
        if not query.get("code") or not query.get("state"):
            raise RemoteError("the OIDC provider's redirect had no code or state")
        data = {"state": query["state"], "code": query["code"], "client_nonce": client_nonce}
        body = client.put(f"auth/{mount}/oidc/callback", data) or {}
        auth = body.get("auth")
        if not isinstance(auth, Mapping) or not auth.get("client_token"):
            raise RemoteError("the server's OIDC callback answered without a token")
        return auth

    listener = _Listener(family, address, opts.port, finish)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        body = {"redirect_uri": opts.redirect_uri, "client_nonce": client_nonce}
        if opts.role:
            body["role"] = opts.role
        answer = client.put(f"auth/{mount}/oidc/auth_url", body) or {}
        url = str((answer.get("data") or {}).get("auth_url") or "")
        if not url:
            raise RemoteError(f"auth/{mount}/oidc/auth_url returned no URL")
        _send_person(url, opts.skip_browser, stderr)
        try:
            result = listener.results.get(timeout=opts.timeout)
        except queue.Empty:
            raise RemoteError(
                f"timed out after {opts.timeout:g}s waiting for the OIDC provider to redirect "
                f"to {opts.redirect_uri}"
            ) from None
    finally:
        listener.shutdown()
        listener.server_close()
    if isinstance(result, CLIError):
        raise result
    return result


def _send_person(url: str, skip_browser: bool, stderr: TextIO) -> None:
    if skip_browser:
        stderr.write(
            f"Complete the login via your OIDC provider. Open the following link in your "
            f"browser:\n\n    {url}\n\n\n"
        )
    else:
        stderr.write(
            f"Complete the login via your OIDC provider. Launching browser to:\n\n    {url}\n\n\n"
        )
        # In a thread: a BROWSER command is waited for, and must not hold up the listener.
        threading.Thread(target=_open, args=(url, stderr), daemon=True).start()
    stderr.write("Waiting for OIDC authentication to complete...\n")
    stderr.flush()


def _open(url: str, stderr: TextIO) -> None:
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        stderr.write("Could not open a browser: open the link above in one.\n")
        stderr.flush()
