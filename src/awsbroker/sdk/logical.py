"""A request as a backend sees it, and the response it gives back.

These are transport-free: `http/` turns HTTP into a `Request` and a `Response` into HTTP.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


class Operation(enum.StrEnum):
    """What a request wants to do. The names are Vault's, and so are the capabilities they need."""

    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    HEAD = "head"
    # `?help=1` on any path (Vault's `logical.HelpOperation`): the path's documentation, never
    # its handler. Any valid token may ask, whatever its policies, as in Vault.
    HELP = "help"


JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]


@dataclass(frozen=True)
class CallerIdentity:
    """Who made a request, as the core authorized it: never the token itself.

    Set by the core (`Core._authorize`) on every authenticated request, for every backend;
    None on unauthenticated paths. The auth mount is the one whose path created the token
    (`auth/token/` for the token store and the root token, `auth/<method>/` for a login), so a
    backend can tell metadata an auth method set from metadata a token's creator chose.
    """

    display_name: str
    # The token's metadata: set by an auth method at login, or chosen by whoever created the
    # token through `auth/token/create` (`meta`). Typed read-only; the core gives a copy.
    metadata: Mapping[str, str]
    policies: tuple[str, ...]
    auth_mount_path: str  # "auth/token/", "auth/approle/", ...; "" if the mount is gone
    auth_mount_type: str  # "token", "approle", "jwt", ...
    auth_mount_accessor: str
    entity_id: str = ""  # no identity store yet


@dataclass
class Request:
    """One logical request. `path` is relative to the mount once it reaches a backend."""

    operation: Operation
    path: str
    data: JSONObject = field(default_factory=dict)
    client_token: str = ""
    id: str = ""
    mount_point: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    display_name: str = ""
    # The ID a lease of this request's secret will have, chosen by the core before the backend
    # runs, so an engine can name it in a write-ahead entry (and later ask if it was stored).
    lease_id: str = ""
    remote_address: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    # Filled by the core for its own backends (token store, sys); engines never see the token.
    token_hash: str = ""
    sudo: bool = False
    # Who asked (set by the core after it authorized the token); None when unauthenticated.
    caller: CallerIdentity | None = None
    # A bare `Authorization` header (no "Bearer"), as AWS SDKs' container-credentials provider
    # sends its token. Whether it is the token depends on the backend serving the path, which
    # only the core knows: it decides, then clears this (`Core.handle`).
    bare_authorization: str = field(default="", repr=False)
    # Set by a handler of a credential-checking path (`Path.checks_credential`) that answers
    # "no such credential" without an error: the core counts it as a failed login attempt
    # (core/login_limits.py).
    refused_credential: bool = False
    # Set by a handler of such a path that stored something for its unauthenticated caller
    # (the OIDC flow's state): the core spends one attempt of the caller's bucket, so what a
    # caller can make us store is bounded, without counting a failure.
    spent_attempt: bool = False
    # Response wrapping asked for (`X-Vault-Wrap-TTL`, seconds; 0: none), and its format
    # (`X-Vault-Wrap-Format`: "jwt" for a signed JWT; "" for Vault's default, a token).
    wrap_ttl: int = 0
    wrap_format: str = ""


@dataclass
class Secret:
    """A secret that gets a lease. `internal_data` comes back to the backend on renew and revoke."""

    secret_type: str
    ttl: int = 0
    max_ttl: int = 0
    renewable: bool = True
    internal_data: JSONObject = field(default_factory=dict)
    # Set by the lease manager when it hands the secret back for renewal or revocation.
    issue_time: float = 0.0
    # Why the caller asked for it (awsbroker extension, not a secret): kept with the lease and
    # shown by `sys/leases/lookup`. The backend validates it (engines/aws/reason.py).
    reason: str = ""


@dataclass
class Auth:
    """The `auth` block of a response: a token that was created or renewed.

    An auth method's login answers one without a token (`client_token` empty): it says who
    logged in and what the token may do (policies, metadata, TTLs, uses, CIDRs), and the core
    creates the token from it (Vault's `logical.Auth`). The fields after `entity_id` are that
    request; they are never rendered.
    """

    client_token: str = ""
    accessor: str = ""
    policies: list[str] = field(default_factory=list)
    token_policies: list[str] = field(default_factory=list)
    metadata: dict[str, str] | None = None
    lease_duration: int = 0
    renewable: bool = True
    orphan: bool = True
    num_uses: int = 0
    token_type: str = "service"  # noqa: S105 - a token kind, not a secret
    entity_id: str = ""
    # What a login asks of the token the core creates (seconds; 0: the mount's default).
    display_name: str = ""
    ttl: int = 0
    max_ttl: int = 0
    period: int = 0
    explicit_max_ttl: int = 0
    bound_cidrs: list[str] = field(default_factory=list)
    no_default_policy: bool = False
    internal_data: JSONObject = field(default_factory=dict)


@dataclass
class WrapInfo:
    """The `wrap_info` of a wrapped response (core/wrapping.py). A handler may answer one with
    only `ttl` and `creation_path` set to ask for its response to be wrapped (a rewrap)."""

    token: str = ""
    accessor: str = ""
    ttl: int = 0
    creation_time: str = ""  # RFC 3339
    creation_path: str = ""
    # The accessor of the token (or AppRole secret ID) inside, if the response holds one.
    wrapped_accessor: str = ""


@dataclass(frozen=True)
class RawBody:
    """A body that is not JSON (the Prometheus exposition of `sys/metrics`)."""

    content: bytes
    content_type: str


@dataclass
class Response:
    """What a backend answers.

    `raw` answers bypass Vault's envelope (sys/init, sys/health...), and so does `body`, a
    body that is not JSON at all. `status` overrides the status the HTTP layer would choose
    (202 for async work, health codes).
    """

    data: JSONObject | None = None
    secret: Secret | None = None
    auth: Auth | None = None
    warnings: list[str] = field(default_factory=list)
    raw: JSONObject | None = None
    body: RawBody | None = None
    status: int | None = None
    # Set by the core once a lease is registered.
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    mount_type: str = ""
    # Keys of `data` copied to the top level of the envelope (legacy sys routes).
    inject_top_level: bool = False
    # Once the core wrapped the response (its token set), the envelope shows only this and
    # the warnings; the rest stays on the object for the core (a failed audit withdraws it).
    wrap_info: WrapInfo | None = None
    # Run by the core once the secret's lease is durably stored (e.g. to clear a write-ahead
    # entry). Not run when there is no secret or the lease could not be stored.
    on_registered: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def add_warning(self, message: str) -> None:
        self.warnings.append(message)
