"""`sys/internal/ui/*`, what a web console asks before drawing itself (Vault's shapes), and
`sys/leases/self*`, ours: the leases the calling token created, and revoking one of them.

- `sys/internal/ui/resultant-acl`: the token's policies merged, path by path (`exact_paths`,
  `glob_paths` keyed by the prefix without its `*`; `+` patterns left out, as OpenBao does), or
  `{"root": true}` for a root token.
- `sys/internal/ui/mounts[/<path>]`: without a token, the mounts tuned `listing_visibility=unauth`
  (type, description, options only); with one, the mounts the token can reach some path of.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.core.cubbyhole import CUBBYHOLE_ENTRY
from awsbroker.core.mounts import MountEntry, normalize_path
from awsbroker.core.system.mount_tuning import mount_info
from awsbroker.core.system.path_mounts import SYS_ENTRY
from awsbroker.core.tokens import TokenEntry
from awsbroker.policy.builtin import ROOT_POLICY
from awsbroker.policy.parse import PathRule
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U = Operation.READ, Operation.UPDATE
AUTH_PREFIX = "auth/"
# The sys/ paths these serve without a token (relative to sys/); a token, when sent, widens
# what `mounts` shows.
UNAUTHENTICATED_PATHS = ["internal/ui/mounts", "internal/ui/mounts/*"]
MAX_OWN_LEASES = 1000


def paths() -> list[Path[SystemBackend]]:
    path_field = {"path": Field(T.STRING, "A path under the mount, or the mount's path")}
    lease_field = {"lease_id": Field(T.STRING, "The ID of a lease the calling token created")}
    return [
        Path("internal/ui/resultant-acl", {R: resultant_acl}, summary="The token's merged ACL"),
        Path("internal/ui/mounts/?", {R: list_ui_mounts}, summary="Mounts shown to the caller"),
        Path(r"internal/ui/mounts/(?P<path>.+)", {R: read_ui_mount}, path_field),
        Path("leases/self", {R: own_leases}, summary="The leases the calling token created"),
        Path("leases/self/revoke", {U: revoke_own}, lease_field, summary="Revoke one of them"),
    ]


# ---- the token's ACL --------------------------------------------------------------------------


def _caller(b: SystemBackend, req: Request) -> TokenEntry | None:
    """The calling token, None without one; an unknown token is refused, as Vault does."""
    if not req.client_token:
        return None
    entry = b.core.tokens.lookup(req.client_token)
    if entry is None:
        raise PermissionDenied("permission denied")
    return entry


def _rules(b: SystemBackend, entry: TokenEntry) -> list[PathRule]:
    rules: list[PathRule] = []
    for name in entry.policies:
        policy = b.core.policies.get(name)
        if policy is not None:
            rules.extend(policy.rules)
    return rules


def _merged(rules: list[PathRule]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Capabilities by exact path and by glob prefix; a `deny` anywhere leaves only `deny`."""
    exact: dict[str, set[str]] = {}
    glob: dict[str, set[str]] = {}
    for rule in rules:
        if "+" in rule.pattern:
            continue
        table, key = (glob, rule.pattern[:-1]) if rule.is_prefix else (exact, rule.pattern)
        caps = table.setdefault(key, set())
        caps |= set(rule.capabilities)
        if "deny" in caps:
            caps.intersection_update({"deny"})
    return exact, glob


def resultant_acl(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = _caller(b, req)
    if entry is None:
        raise PermissionDenied("permission denied")
    if ROOT_POLICY in entry.policies:
        return Response(data={"root": True})
    exact, glob = _merged(_rules(b, entry))

    def shown(table: dict[str, set[str]]) -> JSONObject:
        shown: JSONObject = {}
        for path, caps in sorted(table.items()):
            listed: list[JSONValue] = []
            listed.extend(sorted(caps))
            shown[path] = {"capabilities": listed}
        return shown

    return Response(data={"exact_paths": shown(exact), "glob_paths": shown(glob), "root": False})


# ---- mounts ---------------------------------------------------------------------------------


def _reaches(rules: list[PathRule], mount_path: str) -> bool:
    """Whether some rule grants something at or under `mount_path` (Vault's hasMountAccess)."""
    for rule in rules:
        if not rule.capabilities or "deny" in rule.capabilities:
            continue
        pattern = rule.pattern[:-1] if rule.is_prefix else rule.pattern
        if "+" in pattern:
            pattern = pattern[: pattern.index("+")]
            if mount_path.startswith(pattern) or pattern.startswith(mount_path):
                return True
        elif pattern.startswith(mount_path) or (rule.is_prefix and mount_path.startswith(pattern)):
            return True
    return False


def _tables(b: SystemBackend) -> dict[str, dict[str, MountEntry]]:
    auth = dict(b.core.auth_mounts.entries)
    token = b.core.token_entry
    auth.setdefault(token.path, token)
    secret = dict(b.core.mounts.entries)
    # The built-in mounts `sys/mounts` lists: OpenBao shows them here too, to a token whose
    # policies reach some path under them (the default policy reaches both).
    secret.setdefault(SYS_ENTRY.path, SYS_ENTRY)
    secret.setdefault(CUBBYHOLE_ENTRY.path, CUBBYHOLE_ENTRY)
    return {"auth": auth, "secret": secret}


def _public(entry: MountEntry) -> JSONObject:
    return {
        "description": entry.description,
        "options": dict(entry.options) or None,
        "type": entry.type,
    }


def _full(entry: MountEntry) -> JSONObject:
    info = mount_info(entry)
    if entry.is_auth:
        config = info["config"]
        assert isinstance(config, dict)
        config["token_type"] = "default-service"  # noqa: S105 - a token kind
    return info


def list_ui_mounts(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = _caller(b, req)
    rules = _rules(b, entry) if entry is not None else []
    root = entry is not None and ROOT_POLICY in entry.policies
    data: JSONObject = {}
    for kind, table in _tables(b).items():
        shown: JSONObject = {}
        for path, mount in sorted(table.items()):
            name = path.removeprefix(AUTH_PREFIX) if kind == "auth" else path
            if entry is None:
                if mount.config.listing_visibility == "unauth":
                    shown[name] = _public(mount)
            elif root or _reaches(rules, path) or mount.config.listing_visibility == "unauth":
                shown[name] = _full(mount)
        data[kind] = shown
    return Response(data=data)


def read_ui_mount(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = _caller(b, req)
    if entry is None:
        raise PermissionDenied("permission denied")
    wanted = normalize_path(fd.get_str("path"))
    tables = _tables(b)
    candidates = {**tables["secret"], **tables["auth"]}
    # The longest mount path the requested path lies under.
    match = max((p for p in candidates if wanted.startswith(p)), key=len, default="")
    first = wanted.split("/", 1)[0] + "/"
    if not match:
        raise PermissionDenied(
            "preflight capability check returned 403, please ensure client's policies grant "
            f'access to path "{first}"'
        )
    if ROOT_POLICY not in entry.policies and not _reaches(_rules(b, entry), match):
        raise PermissionDenied(
            "preflight capability check returned 403, please ensure client's policies grant "
            f'access to path "{match.removeprefix(AUTH_PREFIX)}"'
        )
    info = _full(candidates[match])
    info["path"] = match.removeprefix(AUTH_PREFIX)
    return Response(data=info)


# ---- the caller's own leases ----------------------------------------------------------------


def _rfc3339(ts: float) -> JSONValue:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def own_leases(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    if not req.token_hash:
        raise PermissionDenied("permission denied")
    now = b.core.config.clock.now()
    leases = sorted(b.core.expiration.token_leases(req.token_hash), key=lambda x: x.expire_time)
    listed: list[JSONValue] = [
        {
            "lease_id": lease.lease_id,
            "mount": lease.mount_path,
            "path": lease.path,
            "issue_time": _rfc3339(lease.issue_time),
            "expire_time": _rfc3339(lease.expire_time),
            "ttl": max(0, int(lease.expire_time - now)),
            "renewable": lease.renewable,
            "reason": lease.reason,  # why it was asked for ("" when not said)
        }
        for lease in leases[:MAX_OWN_LEASES]
    ]
    response = Response(data={"leases": listed, "lease_count": len(leases)})
    if len(leases) > MAX_OWN_LEASES:
        response.add_warning(f"showing the {MAX_OWN_LEASES} leases that expire first")
    return response


def revoke_own(b: SystemBackend, req: Request, fd: FieldData) -> None:
    lease_id = fd.get_str("lease_id")
    if not lease_id:
        raise InvalidRequest("lease_id must be specified")
    lease = b.core.expiration.get(lease_id)
    # Someone else's lease is answered as a missing one: nothing learnt about it.
    if lease is None or not req.token_hash or lease.token_hash != req.token_hash:
        raise InvalidRequest("invalid lease: not a lease of the calling token")
    b.core.expiration.revoke(lease_id)
