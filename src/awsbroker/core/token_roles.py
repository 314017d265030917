"""Token roles (`auth/token/roles/:name`): what `auth/token/create/:role` may make, and the rule
that decides a role token's policies, as Vault's token store decides them.

A role lives at `role/<name>` in the token store's storage (behind the barrier) and is read
from storage on every use, so a role written or deleted on one node holds for the next request
on every node. Names are case-sensitive, as in Vault: the ACL on `auth/token/create/<role>`
names exactly the role it lets a caller use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.glob import glob_match
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import get_record, put_record
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.token_fields import TokenParams

ROLE_PREFIX = "role/"
# Vault's token role types; batch tokens are not supported (docs/compatibility.md).
DEFAULT_SERVICE = "default-service"
ROLE_TOKEN_TYPES = ("service", DEFAULT_SERVICE)


@dataclass
class TokenRole:
    name: str
    allowed_policies: list[str] = field(default_factory=list)
    disallowed_policies: list[str] = field(default_factory=list)
    allowed_policies_glob: list[str] = field(default_factory=list)
    disallowed_policies_glob: list[str] = field(default_factory=list)
    allowed_entity_aliases: list[str] = field(default_factory=list)
    orphan: bool = False
    renewable: bool = True
    path_suffix: str = ""
    token_type: str = DEFAULT_SERVICE
    # The token fields a token role takes (period, explicit max TTL, uses, CIDRs, no default).
    token: TokenParams = field(default_factory=TokenParams)

    @property
    def restricts_policies(self) -> bool:
        return bool(
            self.allowed_policies
            or self.disallowed_policies
            or self.allowed_policies_glob
            or self.disallowed_policies_glob
        )

    def disallows(self, policy: str) -> bool:
        return policy in self.disallowed_policies or glob_any(self.disallowed_policies_glob, policy)

    def allows(self, policy: str) -> bool:
        return policy in self.allowed_policies or glob_any(self.allowed_policies_glob, policy)

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> TokenRole:
        raw = dict(record)
        token = TokenParams.from_record(cast(JSONObject, raw.pop("token", None)))
        return cls(**cast(dict[str, object], raw), token=token)  # type: ignore[arg-type]


def glob_any(patterns: list[str], value: str) -> bool:
    return any(glob_match(p, value) for p in patterns)


def role_policies(
    role: TokenRole, requested: list[str], no_default: bool, parent_policies: list[str]
) -> list[str]:
    """The policies of a token created against `role` that restricts policies (Vault's rule).

    `default` is added (and so always allowed) unless the request or the role says not to or
    the role disallows it. Requested policies must each be allowed (by name or glob) when the
    role has an allowed list; none requested gives the role's allowed policies (its globs add
    nothing), or the parent's when the role only disallows. A disallowed policy refuses the
    request, whichever way it came in."""
    add_default = not no_default and not role.disallows("default")
    extra = {"default"} if add_default else set()
    final = sorted({*requested, *extra}) if requested else []
    if role.allowed_policies or role.allowed_policies_glob:
        if not final:
            final = sorted({*role.allowed_policies, *extra})
        elif any(not role.allows(p) and p not in extra for p in final):
            allowed = sorted({*role.allowed_policies, *extra})
            raise InvalidRequest(  # Vault's words, its lists as Go's %q prints them
                f"token policies ({_go_quoted(final)}) must be subset of the role's allowed "
                f"policies ({_go_quoted(allowed)}) or glob policies "
                f"({_go_quoted(role.allowed_policies_glob)})"
            )
    elif not final:
        final = sorted({*parent_policies, *extra})
    for policy in final:
        if role.disallows(policy):
            raise InvalidRequest(f'token policy "{policy}" is disallowed by this role')
    return final


class TokenRoles:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def get(self, name: str) -> TokenRole | None:
        record = get_record(self._storage, ROLE_PREFIX + name)
        return None if record is None else TokenRole.from_record(record)

    def put(self, role: TokenRole) -> None:
        put_record(self._storage, ROLE_PREFIX + role.name, role.to_record())

    def delete(self, name: str) -> None:
        self._storage.delete(ROLE_PREFIX + name)

    def names(self) -> list[str]:
        return [k for k in self._storage.list(ROLE_PREFIX) if not k.endswith("/")]


def _go_quoted(items: Iterable[str]) -> str:
    """A list of strings as Go's `%q` prints a `[]string`: `["a" "b"]`."""
    return "[" + " ".join(json.dumps(item) for item in items) + "]"
