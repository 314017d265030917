"""A JWT mount's records in its storage.

    config          the mount's config (`JwtConfig`'s fields, `default_role`, and `written`)
    role/<name>     a role (`JwtRole`'s fields and its `token` fields)
    oidc_state/<state>   an OIDC authorization request in flight (role, redirect URI, nonce,
                    PKCE verifier, expiry), deleted by its callback

Nothing about either is kept in memory between requests: every login reads both, so a config
or role written on one node is what the next login on any node uses."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import cast

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.token_fields import TokenParams

CONFIG_KEY = "config"
ROLE_PREFIX = "role/"
STATE_PREFIX = "oidc_state/"


@dataclass(frozen=True)
class StoredConfig:
    """The config as stored, with the bytes it was read from (the key-set cache's key)."""

    config: JwtConfig
    default_role: str
    blob: bytes
    # The OIDC browser flow's client (empty when the mount serves JWT logins only).
    oidc_client_id: str = ""
    oidc_client_secret: str = ""


@dataclass
class StoredRole:
    role: JwtRole
    token: TokenParams = field(default_factory=TokenParams)


def _load(blob: bytes) -> JSONObject:
    value = json.loads(blob)
    if not isinstance(value, dict):
        raise InternalError("corrupt JWT auth record in storage")
    return cast(JSONObject, value)


class Store:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def config(self) -> StoredConfig | None:
        blob = self.storage.get(CONFIG_KEY)
        if blob is None:
            return None
        raw = _load(blob)
        return StoredConfig(
            JwtConfig.from_record(blob),
            str(raw.get("default_role") or ""),
            blob,
            str(raw.get("oidc_client_id") or ""),
            str(raw.get("oidc_client_secret") or ""),
        )

    def put_config(
        self, config: JwtConfig, default_role: str, client_id: str = "", client_secret: str = ""
    ) -> None:
        """Store `config`. Each write's record is new bytes (a random `written` ID), so every
        node drops its cached key set at its next login, even when the config is the same:
        writing it again is how an operator makes every node fetch the keys afresh."""
        record = {
            **config.to_response(),
            "default_role": default_role,
            "oidc_client_id": client_id,
            "oidc_client_secret": client_secret,
            "written": secrets.token_hex(8),
        }
        self.storage.put(CONFIG_KEY, json.dumps(record, sort_keys=True).encode())

    def put_state(self, state: str, record: JSONObject) -> None:
        self.storage.put(STATE_PREFIX + state, json.dumps(record).encode())

    def take_state(self, state: str) -> JSONObject | None:
        """The OIDC flow's state record, deleted as it is read: a state is used once, on
        whichever node its callback reaches (compare-and-set: two callbacks racing with one
        state get it once between them)."""
        key = STATE_PREFIX + state
        blob = self.storage.get(key)
        if blob is None or not self.storage.compare_and_set(key, blob, None):
            return None
        return _load(blob)

    def sweep_states(self, now: float) -> int:
        """Delete the OIDC requests whose ten minutes are over (never called back); how many."""
        swept = 0
        for name in self.storage.list(STATE_PREFIX):
            key = STATE_PREFIX + name
            blob = self.storage.get(key)
            if blob is None:
                continue
            expires = _load(blob).get("expires")
            if isinstance(expires, int | float) and expires < now:
                swept += self.storage.compare_and_set(key, blob, None)
        return swept

    def role(self, name: str) -> StoredRole | None:
        blob = self.storage.get(ROLE_PREFIX + name)
        if blob is None:
            return None
        raw = _load(blob)
        return StoredRole(
            JwtRole.from_record(blob),
            TokenParams.from_record(cast(JSONObject | None, raw.get("token"))),
        )

    def put_role(self, stored: StoredRole) -> None:
        record = {**json.loads(stored.role.to_record()), "token": stored.token.to_record()}
        self.storage.put(ROLE_PREFIX + stored.role.name, json.dumps(record).encode())

    def delete_role(self, name: str) -> None:
        self.storage.delete(ROLE_PREFIX + name)

    def role_names(self) -> list[str]:
        return sorted(self.storage.list(ROLE_PREFIX))
