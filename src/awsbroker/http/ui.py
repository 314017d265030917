"""The web console's files, served at `/ui/` from the package (`awsbroker/http/ui/`).

Plain files, no build step: any path under `/ui/` that is not one of them gets `index.html`
(the page routes itself, the OIDC callback included). The server's console settings reach the
page in `index.html`'s `<meta name="awsbroker-idle-seconds">` (no inline script, so the CSP
holds); a server configured `ui = false` answers 404 under `/ui/` instead. Every answer
carries a strict Content-Security-Policy: the page's own scripts and styles only, requests to
its own origin only, no frames, no inline code, no plugins.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from starlette.responses import JSONResponse
from starlette.responses import Response as HTTPResponse
from starlette.types import Scope

from awsbroker.http.asgi import request_headers
from awsbroker.http.errors import HEADERS
from awsbroker.http.sites import Refused, SitePolicy

PREFIX = "/ui"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def _files() -> dict[str, bytes]:
    root = resources.files("awsbroker.http") / "ui"
    found: dict[str, bytes] = {}
    for item in root.iterdir():
        if item.is_file() and not item.name.startswith("."):
            found[item.name] = item.read_bytes()
    return found


_FILES = _files()
IDLE_MARKER = b"__IDLE_SECONDS__"
DEFAULT_IDLE_SECONDS = 15 * 60


@dataclass(frozen=True)
class Console:
    """The console as the server's configuration has it: on or off (`ui`), and the idle time
    after which a page signs out (`ui_idle_timeout`, seconds)."""

    enabled: bool = True
    idle_seconds: int = DEFAULT_IDLE_SECONDS

    @cached_property
    def files(self) -> dict[str, bytes]:
        page = _FILES["index.html"].replace(IDLE_MARKER, str(int(self.idle_seconds)).encode())
        return {**_FILES, "index.html": page}


_DEFAULT = Console()


def is_ui(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer(scope: Scope, sites: SitePolicy, console: Console | None = None) -> HTTPResponse:
    """The console's answer to an HTTP request under /ui/, for the hosts the listener answers
    to only (as the API: the listener's `allowed_hosts`, docs/production.md); 404 when the
    configuration turns the console off (with the console's security headers, as every answer
    under /ui/)."""
    console = console or _DEFAULT
    if not console.enabled:
        return _error(404, [])
    try:
        sites.check(scope, request_headers(scope))
    except Refused as exc:
        return _error(exc.status, [exc.message])
    return serve(scope["method"], scope["path"], console)


def _error(status: int, messages: list[str]) -> JSONResponse:
    """The API's error body and headers, with the console's security headers."""
    answer = JSONResponse({"errors": messages}, status_code=status, headers=HEADERS)
    answer.headers.update(SECURITY_HEADERS)
    return answer


def serve(method: str, path: str, console: Console | None = None) -> HTTPResponse:
    """The file named by `path` (one level under /ui/), else the page itself."""
    files = (console or _DEFAULT).files
    if method not in ("GET", "HEAD"):
        return HTTPResponse(
            "method not allowed", status_code=405, headers={**SECURITY_HEADERS, "Allow": "GET"}
        )
    if path == PREFIX:
        return HTTPResponse(status_code=308, headers={**SECURITY_HEADERS, "Location": "/ui/"})
    name = path[len(PREFIX) + 1 :]
    if name not in files or "/" in name:
        name = "index.html"
    suffix = name[name.rfind(".") :]
    media_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    body = files[name]
    if method == "HEAD":  # the headers a GET would have, without the body
        headers = {**SECURITY_HEADERS, "Content-Length": str(len(body))}
        return HTTPResponse(b"", headers=headers, media_type=media_type)
    return HTTPResponse(body, headers=SECURITY_HEADERS, media_type=media_type)
