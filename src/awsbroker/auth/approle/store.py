"""AppRole's records in the mount's storage, and the per-mount salt that hides secrets in it.

    salt                             random bytes, made once (compare-and-set)
    role/<name>                      the role (`Role`)
    role_id/<hmac(role ID)>          {"name": role name}
    secret_id/<hmac(role name)>/<hmac(secret ID)>   a secret ID's record (`SecretID`)
    accessor/<hmac(accessor)>        {"role": hmac(role name), "secret_id": hmac(secret ID)}

A secret ID is stored only as its HMAC under the mount's salt; a login's secret ID is hashed
and looked up by that key, and the stored hash compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import dump, load
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.token_fields import TokenParams

SALT_KEY = "salt"


@dataclass
class Role:
    name: str
    role_id: str
    bind_secret_id: bool = True
    secret_id_bound_cidrs: list[str] = field(default_factory=list)
    secret_id_num_uses: int = 0
    secret_id_ttl: int = 0
    local_secret_ids: bool = False
    token: TokenParams = field(default_factory=TokenParams)

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> Role:
        raw = dict(record)
        token = TokenParams.from_record(cast(JSONObject, raw.pop("token", None)))
        return cls(**cast(dict[str, object], raw), token=token)  # type: ignore[arg-type]


@dataclass
class SecretID:
    secret_id_hmac: str
    accessor: str
    role_name: str
    creation_time: float
    expiration_time: float = 0.0  # 0: never
    num_uses: int = 0  # uses left; 0: unlimited
    ttl: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    cidr_list: list[str] = field(default_factory=list)
    token_bound_cidrs: list[str] = field(default_factory=list)
    last_updated_time: float = 0.0

    def expired(self, now: float) -> bool:
        return bool(self.expiration_time) and self.expiration_time <= now

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> SecretID:
        return cls(**cast(dict[str, object], record))  # type: ignore[arg-type]


class Store:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._salt = b""

    def salt(self) -> bytes:
        if not self._salt:
            self.storage.compare_and_set(SALT_KEY, None, secrets.token_bytes(32))
            salt = self.storage.get(SALT_KEY)
            if salt is None:
                raise InternalError("the AppRole salt vanished from storage")
            self._salt = salt
        return self._salt

    def hmac(self, value: str) -> str:
        return hmac.new(self.salt(), value.encode(), hashlib.sha256).hexdigest()

    def get(self, key: str) -> JSONObject | None:
        blob = self.storage.get(key)
        return None if blob is None else load(blob)

    def put(self, key: str, record: JSONObject) -> None:
        self.storage.put(key, dump(record))

    # ---- roles ---------------------------------------------------------------------------

    def role(self, name: str) -> Role | None:
        record = self.get(f"role/{name.lower()}")
        return None if record is None else Role.from_record(record)

    def put_role(self, role: Role) -> None:
        self.put(f"role/{role.name}", role.to_record())

    def role_names(self) -> list[str]:
        return [k for k in self.storage.list("role/") if not k.endswith("/")]

    def role_by_id(self, role_id: str) -> Role | None:
        record = self.get(f"role_id/{self.hmac(role_id)}")
        if record is None:
            return None
        role = self.role(str(record["name"]))
        # The index may be stale (a role_id changed on another node): the role decides.
        if role is None or not hmac.compare_digest(role.role_id, role_id):
            return None
        return role

    def index_role_id(self, role_id: str, name: str) -> bool:
        """Point `role_id` at role `name`; False if another role holds it."""
        key = f"role_id/{self.hmac(role_id)}"
        if self.storage.compare_and_set(key, None, dump({"name": name})):
            return True
        record = self.get(key)
        if record is not None and record.get("name") == name:
            return True
        holder = None if record is None else self.role(str(record["name"]))
        if holder is not None and holder.role_id == role_id:
            return False
        self.put(key, {"name": name})  # a stale entry of a role gone or re-keyed
        return True

    def unindex_role_id(self, role_id: str) -> None:
        self.storage.delete(f"role_id/{self.hmac(role_id)}")

    # ---- secret IDs ----------------------------------------------------------------------

    def secret_key(self, role_name: str, secret_id_hmac: str) -> str:
        return f"secret_id/{self.hmac(role_name)}/{secret_id_hmac}"

    def secret(self, role_name: str, secret_id_hmac: str) -> SecretID | None:
        record = self.get(self.secret_key(role_name, secret_id_hmac))
        if record is None:
            return None
        found = SecretID.from_record(record)
        return found if hmac.compare_digest(found.secret_id_hmac, secret_id_hmac) else None

    def put_secret(self, secret: SecretID) -> bool:
        """Store a new secret ID; False if one with that value exists already."""
        key = self.secret_key(secret.role_name, secret.secret_id_hmac)
        self.put(
            f"accessor/{self.hmac(secret.accessor)}",
            {"role": self.hmac(secret.role_name), "secret_id": secret.secret_id_hmac},
        )
        if self.storage.compare_and_set(key, None, dump(secret.to_record())):
            return True
        self.storage.delete(f"accessor/{self.hmac(secret.accessor)}")
        return False

    def delete_secret(self, secret: SecretID) -> None:
        self.storage.delete(self.secret_key(secret.role_name, secret.secret_id_hmac))
        self.storage.delete(f"accessor/{self.hmac(secret.accessor)}")

    def secrets_of(self, role_name: str) -> list[SecretID]:
        prefix = f"secret_id/{self.hmac(role_name)}/"
        found: list[SecretID] = []
        for key in self.storage.list(prefix):
            record = self.get(prefix + key)
            if record is not None:
                found.append(SecretID.from_record(record))
        return found

    def secret_by_accessor(self, role_name: str, accessor: str) -> SecretID | None:
        record = self.get(f"accessor/{self.hmac(accessor)}")
        if record is None or record.get("role") != self.hmac(role_name):
            return None
        return self.secret(role_name, str(record["secret_id"]))
