"""Which sites may talk to the server: the `Host` a request is addressed to, the `Origin` a
browser sends, and the CORS headers for origins allowed besides the server's own.

A web page can make a browser send requests anywhere, and a `text/plain` POST needs no CORS
preflight; a page that points its own DNS name at 127.0.0.1 (DNS rebinding) can even read the
answers, since to the browser they come from the page's own origin. So:

- `Host` must be one of the names the listener answers to (`None`: any), checked first: with
  DNS rebinding it is the page's name, not ours. A wrong one is 421 Misdirected Request: the
  request reached a server that does not serve that name, whoever sent it.
- A request with an `Origin` header (browsers send it on every cross-origin request and every
  POST) must come from the server's own origin (the scheme, host and port it was sent to) or an
  allowed one; else 403, as Vault answers an origin its CORS configuration does not allow.
  Requests without `Origin` (CLIs, SDKs, hvac) are not browsers' and are not affected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from starlette.types import Scope

_DEFAULT_PORTS = {"http": 80, "https": 443}
# What Vault's CORS answers a preflight with (vault/cors.go's StdAllowedHeaders, and methods).
ALLOWED_METHODS = "DELETE, GET, HEAD, LIST, OPTIONS, POST, PUT"
ALLOWED_HEADERS = (
    "Content-Type, X-Requested-With, X-Vault-AWS-IAM-Server-ID, X-Vault-MFA, "
    "X-Vault-No-Request-Forwarding, X-Vault-Wrap-Format, X-Vault-Wrap-TTL, "
    "X-Vault-Policy-Override, Authorization, X-Vault-Token, X-Vault-Namespace"
)
PREFLIGHT_MAX_AGE = "300"

Origin = tuple[str, str, int]  # scheme, host, port


class Refused(Exception):
    """The request is refused before it is decoded: `status` and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def host_name(value: str) -> str:
    """The host part of a `Host` header or origin netloc, as allowed host names are kept: lower
    case, without port, trailing dot or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        bracket = value.find("]")
        host = value[1:bracket] if bracket > 0 else value
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            return host
    return value.rpartition(":")[0].rstrip(".") if ":" in value else value.rstrip(".")


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` as (scheme, host, port), the port made explicit; None if it is
    not one (`null`, a path, an unknown scheme)."""
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    host = parts.hostname
    return parts.scheme, host_name(f"[{host}]" if ":" in host else host), port


class SitePolicy:
    """The listener's `answers_to` host names (None: any) and `allowed_origins`."""

    def __init__(self, hosts: Collection[str] | None = None, origins: Collection[str] = ()) -> None:
        # Kept as the configuration gives them: lower case, IPv6 addresses without brackets.
        self._hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._any_origin = "*" in origins
        self._origins = {o for o in (parse_origin(v) for v in origins if v != "*") if o is not None}

    def check(self, scope: Scope, headers: Mapping[str, str]) -> str | None:
        """Refuses a request for another host or from a foreign origin (raises `Refused`).
        Returns the `Origin` to answer with CORS headers (an allowed foreign one), else None.
        `headers` by lower-case name: the request's first of each (`asgi.request_headers`)."""
        host = headers.get("host")
        if self._hosts is not None and host is not None and host_name(host) not in self._hosts:
            raise Refused(
                421,
                f"this server does not answer to host {host_name(host)[:200]!r}: add it to the "
                "listener's allowed_hosts",
            )
        origin = headers.get("origin")
        if origin is None:
            return None
        parsed = parse_origin(origin)
        if parsed is not None and host is not None and parsed == self._own(scope, host):
            return None
        if self._any_origin or (parsed is not None and parsed in self._origins):
            return origin
        raise Refused(
            403,
            f"origin not allowed: {origin[:200]!r} is neither this server's own origin nor in the "
            "listener's allowed_origins",
        )

    @staticmethod
    def _own(scope: Scope, host: str) -> Origin | None:
        scheme = str(scope.get("scheme", "http"))
        return parse_origin(f"{scheme}://{host}")


def cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
