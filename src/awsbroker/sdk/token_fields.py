"""The token fields of an auth method's role (Vault's `tokenutil`), in one place.

Every auth method whose roles decide what a login's token may do (AppRole, JWT, Kubernetes,
token roles) declares `TOKEN_FIELDS` on its role path, keeps a `TokenParams` in the role's
record (`update` from a write, `to_record`/`from_record` in storage, `response_data` for a
read), and at login `apply`s it onto the `Auth` it answers. The core creates the token from
that `Auth`, capping its TTLs by the mount's and the server's maximum.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.logical import Auth, JSONObject, JSONValue

BATCH_REFUSED = "batch tokens are not supported; set token_type to 'default' or 'service'"
TOKEN_TYPES = ("default", "service")

TOKEN_FIELDS: dict[str, Field] = {
    "token_ttl": Field(T.DURATION, "Initial TTL of tokens issued; 0: the mount's default"),
    "token_max_ttl": Field(T.DURATION, "Maximum lifetime of tokens issued; 0: the mount's max"),
    "token_period": Field(T.DURATION, "Make tokens periodic with this renewal period"),
    "token_explicit_max_ttl": Field(T.DURATION, "Hard cap on tokens' lifetime, renewals included"),
    "token_num_uses": Field(T.INT, "Uses of a token issued; 0 is unlimited"),
    "token_bound_cidrs": Field(T.STRING_LIST, "CIDR blocks a token issued may be used from"),
    "token_policies": Field(T.STRING_LIST, "Policies of tokens issued"),
    "token_no_default_policy": Field(T.BOOL, "Do not add the default policy to tokens issued"),
    "token_type": Field(T.STRING, "'default' or 'service' (batch tokens are not supported)"),
    # Vault's deprecated names, still sent by older clients.
    "policies": Field(T.STRING_LIST, "Deprecated: use token_policies"),
    "period": Field(T.DURATION, "Deprecated: use token_period"),
}


@dataclass
class TokenParams:
    ttl: int = 0
    max_ttl: int = 0
    period: int = 0
    explicit_max_ttl: int = 0
    num_uses: int = 0
    bound_cidrs: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    no_default_policy: bool = False
    type: str = "default"

    def update(self, fd: FieldData) -> None:
        """Apply the token fields set in a role write (a create or an update); raise
        `InvalidRequest` naming the field when one is wrong. Unset fields keep their value."""
        for name, attr in (
            ("token_ttl", "ttl"),
            ("token_max_ttl", "max_ttl"),
            ("token_explicit_max_ttl", "explicit_max_ttl"),
        ):
            if fd.is_set(name):
                setattr(self, attr, fd.get_duration(name))
        for name in ("token_period", "period"):
            if fd.is_set(name):
                self.period = fd.get_duration(name)
        for name in ("token_policies", "policies"):
            if fd.is_set(name):
                self.policies = sorted({p.strip().lower() for p in fd.get_list(name)})
        if fd.is_set("token_num_uses"):
            self.num_uses = fd.get_int("token_num_uses")
        if fd.is_set("token_bound_cidrs"):
            self.bound_cidrs = parse_cidrs("token_bound_cidrs", fd.get_list("token_bound_cidrs"))
        if fd.is_set("token_no_default_policy"):
            self.no_default_policy = fd.get_bool("token_no_default_policy")
        if fd.is_set("token_type"):
            self.type = parse_token_type(fd.get_str("token_type"))
        self.check()

    def check(self) -> None:
        if self.num_uses < 0:
            raise InvalidRequest("token_num_uses cannot be negative")
        if self.max_ttl and self.ttl > self.max_ttl:
            raise InvalidRequest("token_ttl should not be greater than token_max_ttl")
        if "root" in self.policies:
            raise InvalidRequest("token_policies may not include 'root'")

    def response_data(self) -> JSONObject:
        return {
            "token_ttl": self.ttl,
            "token_max_ttl": self.max_ttl,
            "token_period": self.period,
            "token_explicit_max_ttl": self.explicit_max_ttl,
            "token_num_uses": self.num_uses,
            "token_bound_cidrs": cast(JSONValue, list(self.bound_cidrs)),
            "token_policies": cast(JSONValue, list(self.policies)),
            "token_no_default_policy": self.no_default_policy,
            "token_type": self.type,
            "policies": cast(JSONValue, list(self.policies)),
            "period": self.period,
        }

    def apply(self, auth: Auth) -> None:
        """Put these onto the `Auth` a login answers (before the method adds its own)."""
        auth.policies = list(self.policies)
        auth.ttl, auth.max_ttl, auth.period = self.ttl, self.max_ttl, self.period
        auth.explicit_max_ttl, auth.num_uses = self.explicit_max_ttl, self.num_uses
        auth.bound_cidrs = list(self.bound_cidrs)
        auth.no_default_policy = self.no_default_policy

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject | None) -> TokenParams:
        return cls(**cast(dict[str, object], record or {}))  # type: ignore[arg-type]


def parse_token_type(value: str) -> str:
    if value == "batch":
        raise InvalidRequest(BATCH_REFUSED)
    if value not in TOKEN_TYPES:
        raise InvalidRequest(f"invalid token_type {value!r}: use 'default' or 'service'")
    return value


def parse_cidrs(name: str, values: list[str]) -> list[str]:
    """CIDR blocks (or single addresses) as given, each checked; a 400 naming `name` if not."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise InvalidRequest(f"invalid CIDR block in {name}: {value!r}") from None
    return list(values)


def address_in(address: str, cidrs: list[str]) -> bool:
    """Whether `address` (the client's) falls in one of `cidrs`. An unknown address is in none."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack listener's IPv4 client, `::ffff:a.b.c.d`
    for cidr in cidrs:
        try:
            if ip in ipaddress.ip_network(cidr, strict=False):
                return True
        except (ValueError, TypeError):
            continue
    return False
