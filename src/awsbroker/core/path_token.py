"""`auth/token/`: create, look up, renew and revoke tokens, with Vault's policy and TTL rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from awsbroker.core import path_token_roles
from awsbroker.core.token_roles import TokenRole, role_policies
from awsbroker.core.tokens import TokenEntry, TokenStore, random_id
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import FrameworkBackend, Path
from awsbroker.sdk.logical import Auth, JSONObject, JSONValue, Operation, Request, Response

R, U, L = Operation.READ, Operation.UPDATE, Operation.LIST
# The token the core authorized for the request being handled, with its use spent (the core
# sets it around a call of its own backends). `lookup-self` answers from it: another request
# spending the token's last use may have revoked it since, on any node, but this request was
# admitted with a use of its own, and is served.
AUTHORIZED: ContextVar[TokenEntry | None] = ContextVar("awsbroker_authorized_token", default=None)
NON_ASSIGNABLE_POLICY = "response-wrapping"
_CREATE_FIELDS = {
    "id": Field(T.STRING, "Custom token ID (root or sudo only)"),
    # Vault decodes `policies` as a []string: "a,b" is the one policy "a,b", never two.
    "policies": Field(T.STRING_SLICE, "Policies of the token; the parent's when omitted"),
    "meta": Field(T.MAP, "Arbitrary key/value metadata"),
    "no_parent": Field(T.BOOL, "Create an orphan (root or sudo only)"),
    "no_default_policy": Field(T.BOOL, "Do not attach the default policy"),
    "renewable": Field(T.BOOL, "Whether the token can be renewed", default=True),
    "ttl": Field(T.DURATION, "Time to live"),
    "lease": Field(T.DURATION, "Deprecated alias of ttl"),
    "type": Field(T.STRING, "Token type; only 'service' is supported"),
    "explicit_max_ttl": Field(T.DURATION, "Hard cap on the token's lifetime"),
    "display_name": Field(T.STRING, "Name shown in lookups and audit logs"),
    "num_uses": Field(T.INT, "Number of uses; 0 is unlimited"),
    "period": Field(T.DURATION, "Renewal period of a periodic token (root or sudo only)"),
    "entity_alias": Field(T.STRING, "Not supported (no identity store): a 400 when set"),
    "role_name": Field(T.STRING, "Token role"),
}
_TOKEN = {"token": Field(T.STRING, "The token")}
_ACCESSOR = {"accessor": Field(T.STRING, "The token's accessor")}
_INCREMENT = {"increment": Field(T.DURATION, "Requested TTL, from now")}


def paths() -> list[Path[TokenBackend]]:
    return [
        Path("create-orphan", {U: create_orphan}, _CREATE_FIELDS, summary="Create an orphan token"),
        Path("create", {U: create_token}, _CREATE_FIELDS, summary="Create a token"),
        Path(r"create/(?P<role_name>\w(?:[\w.-]*\w)?)", {U: create_with_role}, _CREATE_FIELDS),
        Path("lookup", {U: lookup, R: lookup}, _TOKEN, summary="Look up a token"),
        Path(r"lookup/(?P<token>.+)", {R: lookup}, _TOKEN),
        Path("lookup-self", {R: lookup_self, U: lookup_self}, summary="Look up the calling token"),
        Path("lookup-accessor", {U: lookup_accessor}, _ACCESSOR),
        Path("renew", {U: renew}, {**_TOKEN, **_INCREMENT}, summary="Renew a token"),
        Path(r"renew/(?P<token>.+)", {U: renew}, {**_TOKEN, **_INCREMENT}),
        Path("renew-self", {U: renew_self}, _INCREMENT, summary="Renew the calling token"),
        Path("renew-accessor", {U: renew_accessor}, {**_ACCESSOR, **_INCREMENT}),
        Path("revoke", {U: revoke}, _TOKEN, summary="Revoke a token and its children"),
        Path("revoke-self", {U: revoke_self}, summary="Revoke the calling token"),
        Path("revoke-accessor", {U: revoke_accessor}, _ACCESSOR),
        Path("revoke-orphan", {U: revoke_orphan}, _TOKEN, summary="Revoke, orphaning children"),
        Path("accessors/?", {L: list_accessors}, summary="List token accessors (sudo)"),
        *path_token_roles.paths(),
        Path("tidy", {U: tidy}, summary="Remove dangling token index entries"),
    ]


class TokenBackend(FrameworkBackend["TokenBackend"]):
    def __init__(
        self,
        store: TokenStore,
        ttls: Callable[[], tuple[int, int]],
        policy_exists: Callable[[str], bool],
        renew_check: Callable[[TokenEntry], LoginTerms | None] = lambda entry: None,
    ) -> None:
        super().__init__(
            self,
            paths(),
            root_paths=["revoke-orphan", "revoke-orphan/*", "accessors", "accessors/*"],
        )
        self.store = store
        self.ttls = ttls
        self.policy_exists = policy_exists
        # Asks the auth method that made a login's token whether it may be renewed (raises),
        # and on what terms now (its role's TTLs, capped by its mount's max as tuned now).
        self.renew_check = renew_check

    def caller(self, request: Request) -> TokenEntry:
        entry = self.store.get_by_hash(request.token_hash) if request.token_hash else None
        if entry is None:
            raise PermissionDenied("permission denied")
        return entry


def normalize_policies(names: list[str]) -> list[str]:
    cleaned = sorted({n.strip().lower() for n in names if n.strip()})
    return ["root"] if "root" in cleaned else cleaned


def _display_name(raw: str) -> str:
    """Vault's rule: `token-<name>`, each run of other characters made one `-`, no trailing `-`."""
    if not raw:
        return "token"
    return re.sub(r"[^a-zA-Z0-9-]+", "-", f"token-{raw}").removesuffix("-")


def create_orphan(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    # As Vault's: `role_name` in the body of create-orphan is not a role token.
    return _create(b, req, fd, orphan=True, role=None)


def create_token(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    # As Vault's `handleCreate`: a role is named only by the path (`create/<role>`, which the
    # ACL guards); `role_name` in the body of `create` is ignored, or any caller allowed
    # `create` could take a role's policies past the ACL on `create/<role>`.
    if fd.get_bool("no_parent") and not req.sudo:
        raise InvalidRequest("root or sudo privileges required to create orphan token")
    return _create(b, req, fd, orphan=fd.get_bool("no_parent"), role=None)


def create_with_role(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    name = fd.get_str("role_name")  # from the path: a path's captures win over the body
    role = b.store.roles.get(name)
    if role is None:
        raise InvalidRequest(f"unknown role {name}")  # Vault's words
    # The role alone says whether the token is an orphan (`no_parent` is not read, as in
    # Vault): orphan=true makes orphans for whoever the ACL lets use the role, no sudo.
    return _create(b, req, fd, orphan=role.orphan, role=role)


def _create(
    b: TokenBackend, req: Request, fd: FieldData, *, orphan: bool, role: TokenRole | None
) -> Response:
    parent = b.caller(req)
    if parent.num_uses != 0:  # uses left, or -1 while its last use is spent (Vault: > 0)
        # A child would outlive the count: the uses would no longer limit anything.
        raise InvalidRequest("restricted use token cannot generate child tokens")
    if fd.get_str("type") not in ("", "service"):
        raise InvalidRequest(
            "only service tokens are supported; omit 'type' or set it to 'service'"
        )
    if fd.get_int("num_uses") < 0:
        raise InvalidRequest("number of uses cannot be negative")
    if fd.get_str("entity_alias"):
        raise InvalidRequest("entity_alias is not supported: there is no identity store")
    token = _custom_id(req, fd) or b.store.new_token()
    policies, warnings = _policies(b, req, fd, parent, role)
    path = req.mount_point + req.path
    if role is not None and role.path_suffix:
        path = f"{path.rstrip('/')}/{role.path_suffix}"
    entry = TokenEntry(
        hash=b.store.hash(token),
        accessor=random_id(24),
        policies=policies,
        path=path,
        display_name=_display_name(fd.get_str("display_name")),
        creation_time=b.store.clock.now(),
        num_uses=_num_uses(fd.get_int("num_uses"), role),
        parent="" if orphan else parent.hash,
        meta=fd.get_map("meta") or None,
        renewable=fd.get_bool("renewable") and (role is None or role.renewable),
        bound_cidrs=_bound_cidrs(role, parent, orphan=orphan),
        role=role.name if role is not None else "",
    )
    warnings += _set_ttl(b, req, fd, parent, entry, role=role)
    try:
        b.store.create(entry)
    except ValueError:
        raise InvalidRequest("a token with that ID already exists") from None
    resp = Response(auth=auth_block(entry, token))
    for warning in warnings:
        resp.add_warning(warning)
    return resp


def _bound_cidrs(role: TokenRole | None, parent: TokenEntry, *, orphan: bool) -> list[str] | None:
    """Vault's rule: a role's token takes the role's CIDR blocks (a role may widen them: the
    ACL on the role decides); any other child keeps its parent's, so a CIDR-bound token cannot
    shed its binding by making a child. An orphan without a role has none."""
    if role is not None:
        return list(role.token.bound_cidrs) or None
    if orphan or not parent.bound_cidrs:
        return None
    return list(parent.bound_cidrs)


def _custom_id(req: Request, fd: FieldData) -> str:
    token = fd.get_str("id")
    if not token:
        return ""
    if not req.sudo:
        raise InvalidRequest("root or sudo privileges required to specify token id")
    if "." in token:
        raise InvalidRequest("token IDs can not contain periods")
    return token


def _num_uses(requested: int, role: TokenRole | None) -> int:
    """The fewer of the request's and the role's uses (0 is unlimited), as Vault's."""
    limit = role.token.num_uses if role is not None else 0
    return limit if limit and (not requested or limit < requested) else requested


def _policies(
    b: TokenBackend, req: Request, fd: FieldData, parent: TokenEntry, role: TokenRole | None
) -> tuple[list[str], list[str]]:
    requested = normalize_policies(fd.get_list("policies"))
    if NON_ASSIGNABLE_POLICY in requested:
        raise InvalidRequest(f'cannot assign policy "{NON_ASSIGNABLE_POLICY}"')
    no_default = fd.get_bool("no_default_policy")
    if role is not None and role.restricts_policies:
        # The role's lists, not the parent's policies, bound what the token may have. Its
        # token_no_default_policy only stops `default` being added (as in Vault, which reads
        # it nowhere else).
        policies = normalize_policies(
            role_policies(
                role, requested, no_default or role.token.no_default_policy, parent.policies
            )
        )
        if no_default:
            policies = [p for p in policies if p != "default"]
        if "root" in policies and not parent.is_root:
            raise InvalidRequest("root tokens may not be created by non-root tokens")
        if NON_ASSIGNABLE_POLICY in policies:
            raise InvalidRequest(f'cannot assign policy "{NON_ASSIGNABLE_POLICY}"')
    else:
        policies = _parent_bound_policies(req, requested, no_default, parent)
    warnings = [
        f'Policy "{p}" does not exist' for p in policies if p != "root" and not b.policy_exists(p)
    ]
    return policies, warnings


def _parent_bound_policies(
    req: Request, requested: list[str], no_default: bool, parent: TokenEntry
) -> list[str]:
    """Without a role that lists policies: the parent's, or a subset of them (unless sudo)."""
    # An empty list is "not given", as in Vault: the child inherits the parent's policies.
    policies = requested or list(parent.policies)
    if no_default:
        policies = [p for p in policies if p != "default"]
    if "root" in policies and not parent.is_root:
        raise InvalidRequest("root tokens may not be created by non-root tokens")
    if not req.sudo and not set(policies) <= set(parent.policies):
        raise InvalidRequest("child policies must be subset of parent")
    add_default = req.sudo or "default" in parent.policies
    if policies != ["root"] and not no_default and add_default:
        policies = sorted({*policies, "default"})
    return policies


def _set_ttl(
    b: TokenBackend,
    req: Request,
    fd: FieldData,
    parent: TokenEntry,
    entry: TokenEntry,
    *,
    role: TokenRole | None,
) -> list[str]:
    """Set the token's TTL, period and explicit max TTL; returns warnings."""
    default_ttl, max_ttl = b.ttls()
    ttl = fd.get_duration("ttl") or fd.get_duration("lease")
    period = fd.get_duration("period")
    explicit = fd.get_duration("explicit_max_ttl")
    if period and not req.sudo:
        raise InvalidRequest("root or sudo privileges required to create periodic token")
    warnings: list[str] = []
    if role is not None:
        # The role's period needs no sudo; given both, the lesser of each wins (Vault's rule).
        if role.token.explicit_max_ttl:
            if explicit:
                explicit = min(explicit, role.token.explicit_max_ttl)
                warnings.append(
                    "Explicit max TTL specified both during creation call and in role; "
                    f"using the lesser value of {explicit} seconds"
                )
            else:
                explicit = role.token.explicit_max_ttl
        if role.token.period:
            if period:
                period = min(period, role.token.period)
                warnings.append(
                    "Period specified both during creation call and in role; "
                    f"using the lesser value of {period} seconds"
                )
            else:
                period = role.token.period
    if entry.is_root and not ttl and not period and not explicit:
        if parent.expire_time:
            raise InvalidRequest("expiring root tokens cannot create non-expiring root tokens")
        entry.renewable = False
        entry.bound_cidrs = None  # as Vault: a token that never expires is not CIDR-bound
        return warnings
    if period:
        ttl = period
    elif not ttl:
        ttl = default_ttl
    if not period and max_ttl:
        ttl = min(ttl, max_ttl)
    if explicit:
        ttl = min(ttl, explicit)
    entry.period, entry.explicit_max_ttl = period, explicit
    entry.ttl = entry.creation_ttl = ttl
    entry.expire_time = entry.creation_time + ttl if ttl else 0.0
    return warnings


def auth_block(entry: TokenEntry, token: str) -> Auth:
    return Auth(
        client_token=token,
        accessor=entry.accessor,
        policies=list(entry.policies),
        token_policies=list(entry.policies),
        metadata=entry.meta,
        lease_duration=entry.ttl,
        renewable=entry.renewable,
        orphan=entry.orphan,
        num_uses=max(entry.num_uses, 0),
    )


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def lookup_data(entry: TokenEntry, token: str, now: float) -> JSONObject:
    data: JSONObject = {
        "accessor": entry.accessor,
        "creation_time": int(entry.creation_time),
        "creation_ttl": entry.creation_ttl,
        "display_name": entry.display_name,
        "entity_id": "",
        "expire_time": _rfc3339(entry.expire_time) if entry.expire_time else None,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": token,
        "issue_time": _rfc3339(entry.creation_time),
        "meta": dict(entry.meta) if entry.meta else None,
        "num_uses": max(entry.num_uses, 0),
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": list(entry.policies),
        "renewable": entry.renewable,
        "ttl": entry.remaining(now),
        "type": entry.type,
    }
    if entry.period:
        data["period"] = entry.period
    if entry.role:
        data["role"] = entry.role
    if entry.bound_cidrs:
        data["bound_cidrs"] = list[JSONValue](entry.bound_cidrs)
    if entry.last_renewal:
        data["last_renewal"] = _rfc3339(entry.last_renewal)
        data["last_renewal_time"] = int(entry.last_renewal)
    return data


def lookup(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    token = fd.get_str("token") or req.client_token
    entry = b.store.lookup(token)
    if entry is None:
        raise PermissionDenied("bad token")
    return Response(data=lookup_data(entry, token, b.store.clock.now()))


def lookup_self(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    authorized = AUTHORIZED.get()
    entry = authorized if authorized is not None else b.caller(req)
    return Response(data=lookup_data(entry, req.client_token, b.store.clock.now()))


def _by_accessor(b: TokenBackend, fd: FieldData) -> TokenEntry:
    fd.require("accessor")
    entry = b.store.lookup_accessor(fd.get_str("accessor"))
    if entry is None:
        raise InvalidRequest("invalid accessor")
    return entry


def lookup_accessor(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    return Response(data=lookup_data(_by_accessor(b, fd), "", b.store.clock.now()))


@dataclass(frozen=True)
class LoginTerms:
    """A login's token's terms at renewal: its auth method's role as it is now (TTL, max TTL,
    period), the max TTL already capped by the auth mount's max as tuned now."""

    ttl: int
    max_ttl: int
    period: int


def _renew(b: TokenBackend, entry: TokenEntry, fd: FieldData, token: str) -> Response:
    if not entry.renewable:
        raise InvalidRequest("lease is not renewable")
    terms = b.renew_check(entry)
    if not entry.expire_time:
        return Response(auth=auth_block(entry, token))
    now = b.store.clock.now()
    _, max_ttl = b.ttls()
    by_role = _role_renewal(b, entry)

    def extend(current: TokenEntry) -> None:
        period, explicit = by_role or (current.period, current.explicit_max_ttl)
        ttl = period or fd.get_duration("increment") or current.creation_ttl
        cap = current.max_ttl or max_ttl  # a login's token: its mount's max at login
        if terms is not None:
            # As Vault's methods renew: the role's TTLs now, not those stored at login; the
            # token's own explicit max TTL still binds.
            current.period = period = terms.period
            current.max_ttl = cap = 0 if terms.period else terms.max_ttl
            ttl = period or fd.get_duration("increment") or terms.ttl
        limits = [current.creation_time + explicit - now] if explicit else []
        if not period and cap:
            limits.append(current.creation_time + cap - now)
        ttl = int(max(0, min([ttl, *limits])))
        current.ttl, current.expire_time, current.last_renewal = ttl, now + ttl, now

    # On the stored record (compare-and-set): a token revoked meanwhile stays revoked.
    renewed = b.store.update(entry.hash, extend)
    if renewed is None:
        raise PermissionDenied("bad token")
    return Response(auth=auth_block(renewed, token))


def _role_renewal(b: TokenBackend, entry: TokenEntry) -> tuple[int, int] | None:
    """A role's token renews by the role as it is now (period, explicit max TTL), as in Vault;
    a token whose role is gone is not renewed."""
    if not entry.role:
        return None
    role = b.store.roles.get(entry.role)
    if role is None:
        raise InvalidRequest(f'original token role "{entry.role}" could not be found, not renewing')
    return role.token.period, role.token.explicit_max_ttl


def renew(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    fd.require("token")
    entry = b.store.lookup(fd.get_str("token"))
    if entry is None:
        # Vault's 400, not a 403: a client (Vault Agent) reading 403 blames its own token.
        raise InvalidRequest("token not found")
    return _renew(b, entry, fd, fd.get_str("token"))


def renew_self(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    return _renew(b, b.caller(req), fd, req.client_token)


def renew_accessor(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    return _renew(b, _by_accessor(b, fd), fd, "")


def revoke(b: TokenBackend, req: Request, fd: FieldData) -> None:
    fd.require("token")
    entry = b.store.lookup(fd.get_str("token"))
    if entry is not None:
        b.store.revoke_tree(entry)


def revoke_self(b: TokenBackend, req: Request, fd: FieldData) -> None:
    b.store.revoke_tree(b.caller(req))


def revoke_accessor(b: TokenBackend, req: Request, fd: FieldData) -> None:
    b.store.revoke_tree(_by_accessor(b, fd))


def revoke_orphan(b: TokenBackend, req: Request, fd: FieldData) -> None:
    fd.require("token")
    entry = b.store.lookup(fd.get_str("token"))
    if entry is not None:
        b.store.revoke_orphan(entry)


def list_accessors(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    return Response(data={"keys": list(b.store.accessors())})


def tidy(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    removed = b.store.tidy()
    resp = Response(status=202)
    resp.add_warning(f"Tidy removed {removed} dangling token index entries.")
    return resp
