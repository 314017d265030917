"""The Kubernetes method's records in the mount's storage, with Vault's field names.

config          the mount's `Config` (the reviewer JWT in it is never read back out)
role/<name>     a `Role`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import dump, load
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.token_fields import TokenParams

ALIAS_SOURCES = ("serviceaccount_uid", "serviceaccount_name")


@dataclass
class Config:
    kubernetes_host: str
    kubernetes_ca_cert: str = ""
    token_reviewer_jwt: str = ""
    disable_local_ca_jwt: bool = False
    issuer: str = ""
    disable_iss_validation: bool = True

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> Config:
        return cls(**cast(dict[str, object], record))  # type: ignore[arg-type]


@dataclass
class Role:
    name: str
    bound_service_account_names: list[str] = field(default_factory=list)
    bound_service_account_namespaces: list[str] = field(default_factory=list)
    audience: str = ""
    alias_name_source: str = "serviceaccount_uid"
    token: TokenParams = field(default_factory=TokenParams)

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> Role:
        raw = dict(record)
        token = TokenParams.from_record(cast(JSONObject, raw.pop("token", None)))
        return cls(**cast(dict[str, object], raw), token=token)  # type: ignore[arg-type]


class Store:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def config(self) -> Config | None:
        blob = self.storage.get("config")
        return None if blob is None else Config.from_record(load(blob))

    def put_config(self, config: Config) -> None:
        self.storage.put("config", dump(config.to_record()))

    def role(self, name: str) -> Role | None:
        blob = self.storage.get(f"role/{name.lower()}")
        return None if blob is None else Role.from_record(load(blob))

    def put_role(self, role: Role) -> None:
        self.storage.put(f"role/{role.name}", dump(role.to_record()))

    def delete_role(self, name: str) -> None:
        self.storage.delete(f"role/{name.lower()}")

    def role_names(self) -> list[str]:
        return [k for k in self.storage.list("role/") if not k.endswith("/")]
