"""The `role/<name>` record: a dynamic role as Vault stores it (`awsRoleEntry`), the legacy
`policy/<name>` entries it upgrades, and Go's texts its errors quote with."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws import session_templates as st
from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject, JSONValue

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

IAM_USER = "iam_user"
ASSUMED_ROLE = "assumed_role"
FEDERATION_TOKEN = "federation_token"  # noqa: S105
SESSION_TOKEN = "session_token"  # noqa: S105
STS_TYPES = (ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
CREDENTIAL_TYPES = (IAM_USER, ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)

USER_PATH_REGEX = r"^\/([\x21-\x7F]{0,510}\/)?$"
_USER_PATH = re.compile(USER_PATH_REGEX)
MAX_KEY_PROPAGATION_TIMEOUT = 300
_NS = 1_000_000_000
COLLECTIONS = ("credential_types", "policy_arns", "role_arns", "iam_groups")
MAPS = ("iam_tags", "session_tags")
# Our extension (session_templates.py): stored only when set, so a role without them keeps
# Vault's record.
TEMPLATE_STRINGS = (st.NAME_FIELD, st.SOURCE_FIELD)
# Issue 19 section 3 (reason.py): stored only when set, so a role without them keeps Vault's
# record.
REASON_FIELDS = (rs.REQUIRED_FIELD, rs.MIN_LENGTH_FIELD, rs.SESSION_TAG_FIELD)
DURATIONS = ("default_sts_ttl", "max_sts_ttl", "key_propagation_timeout")
STRINGS = (
    "policy_document", "external_id", "user_path", "permissions_boundary_arn", "mfa_serial_number",
)  # fmt: skip


@dataclass
class RoleEntry:
    credential_types: list[str] = field(default_factory=list)
    policy_arns: list[str] = field(default_factory=list)
    role_arns: list[str] = field(default_factory=list)
    policy_document: str = ""
    iam_groups: list[str] = field(default_factory=list)
    iam_tags: dict[str, str] = field(default_factory=dict)
    session_tags: dict[str, str] = field(default_factory=dict)
    external_id: str = ""
    default_sts_ttl: int = 0  # seconds
    max_sts_ttl: int = 0  # seconds
    user_path: str = ""
    permissions_boundary_arn: str = ""
    mfa_serial_number: str = ""
    key_propagation_timeout: int = 0  # seconds; awsbroker extension
    # awsbroker extension: templates of who asked (session_templates.py).
    session_tags_template: dict[str, str] = field(default_factory=dict)
    session_name_template: str = ""
    source_identity_template: str = ""
    # Issue 19 section 3, a reason on every credential (reason.py): stored only when set.
    reason_required: bool = False
    reason_min_length: int = 0
    reason_session_tag: bool = False
    # (end of section 3)
    prohibit_flexible_cred_path: bool = False
    # --- issue 19 section 1, session revocation (docs/session-revocation.md) ---
    # Revoking a lease denies its session on AWS; off by default. Stored only when on.
    session_revocation: bool = False
    # Roles the broker assumes to write the deny on target roles in other accounts, one per
    # account. Stored only when set.
    session_revocation_role_arns: list[str] = field(default_factory=list)
    # --- end session revocation ---
    version: int = 3
    invalid_data: str = ""
    # Collections explicitly set to empty: they read back as []/{} rather than null.
    explicit_empty: set[str] = field(default_factory=set)

    def set_collection(self, name: str, value: list[str] | dict[str, str]) -> None:
        setattr(self, name, value)
        if value:
            self.explicit_empty.discard(name)
        else:
            self.explicit_empty.add(name)

    def validate(self) -> list[str]:
        """Every problem with the role, in Vault's order and wording."""
        types = self.credential_types
        errs: list[str] = []
        if not types:
            errs.append("did not supply credential_type")
        errs += [f"unrecognized credential type: {t}" for t in types if t not in CREDENTIAL_TYPES]
        has_sts = any(t in STS_TYPES for t in types)
        for name in ("default_sts_ttl", "max_sts_ttl"):
            if getattr(self, name) != 0 and not has_sts:
                errs.append(
                    f"{name} parameter only valid for assumed_role, federation_token, "
                    "and session_token credential types"
                )
        if 0 < self.max_sts_ttl < self.default_sts_ttl:
            errs.append('"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value')
        if self.user_path:
            if IAM_USER not in types:
                errs.append("user_path parameter only valid for iam_user credential type")
            if not _USER_PATH.fullmatch(self.user_path):
                errs.append(
                    "the specified value for user_path is invalid. "
                    f"It must match {go_quote(USER_PATH_REGEX)} regexp"
                )
        if self.permissions_boundary_arn:
            if IAM_USER not in types:
                errs.append(
                    "cannot supply permissions_boundary_arn when credential_type isn't iam_user"
                )
            arn_error = _boundary_error(self.permissions_boundary_arn)
            if arn_error:
                # Vault's quirk: Append(err) without the accumulator drops earlier errors.
                errs = [f"invalid permissions_boundary_arn parameter: {arn_error}"]
        if (self.policy_document or self.policy_arns) and SESSION_TOKEN in types:
            errs.append("cannot supply a policy or role when using credential_type session_token")
        for value, name in ((self.role_arns, "role_arns"), (self.session_tags, "session_tags")):
            if value and ASSUMED_ROLE not in types:
                errs.append(f"cannot supply {name} when credential_type isn't assumed_role")
        if self.external_id and ASSUMED_ROLE not in types:
            errs.append("cannot supply external_id when credential_type isn't assumed_role")
        if self.key_propagation_timeout and IAM_USER not in types:
            errs.append("key_propagation_timeout parameter only valid for iam_user credential type")
        if self.key_propagation_timeout > MAX_KEY_PROPAGATION_TIMEOUT:
            errs.append("key_propagation_timeout must be at most 300 seconds")
        if self.session_revocation and not {ASSUMED_ROLE, FEDERATION_TOKEN} & set(types):
            errs.append(
                "session_revocation is only valid for assumed_role and federation_token "
                "credential types (session_token sessions have no per-session handle)"
            )
        if self.session_revocation_role_arns and not self.session_revocation:
            errs.append("session_revocation_role_arns needs session_revocation")
        for arn in self.session_revocation_role_arns:
            parts = arn.split(":", 5)
            if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
                errs.append(f"session_revocation_role_arns: {arn!r} is not an IAM role's ARN")
        return errs + self._template_problems()

    def _template_problems(self) -> list[str]:
        """Our templates (session_templates.py): where they apply, and that they can."""
        types, errs = self.credential_types, []
        templated = (st.TAGS_FIELD, st.NAME_FIELD)
        for name in templated:
            if getattr(self, name) and not {ASSUMED_ROLE, FEDERATION_TOKEN} & set(types):
                errs.append(
                    f"cannot supply {name} when credential_type isn't assumed_role or "
                    "federation_token"
                )
        if self.source_identity_template and ASSUMED_ROLE not in types:
            errs.append(f"cannot supply {st.SOURCE_FIELD} when credential_type isn't assumed_role")
        for key, text in self.session_tags_template.items():
            errs += st.tag_key_problems(key)
            errs += st.template_problems(f"{st.TAGS_FIELD}[{key!r}]", text)
        for name in TEMPLATE_STRINGS:
            text = getattr(self, name)
            if text:
                errs += st.template_problems(name, text)
        errs += self._reason_problems()
        return errs + st.duplicate_tag_keys(self.session_tags, self.session_tags_template)

    def _reason_problems(self) -> list[str]:
        """Issue 19 section 3: the reason settings (reason.py)."""
        types = self.credential_types
        return rs.role_problems(
            min_length=self.reason_min_length,
            session_tag=self.reason_session_tag,
            taggable=any(t in (ASSUMED_ROLE, FEDERATION_TOKEN, IAM_USER) for t in types),
            # The tags one request carries besides ours: session tags, or an IAM user's tags.
            tag_sets=[[*self.session_tags, *self.session_tags_template], list(self.iam_tags)],
        )

    def _nullable(self, name: str) -> JSONValue:
        value: list[str] | dict[str, str] = getattr(self, name)
        if not value and name not in self.explicit_empty:
            return None
        return list(value) if isinstance(value, list) else dict(value)

    def to_response(self) -> JSONObject:
        data: JSONObject = {
            "credential_type": ",".join(self.credential_types),
            "policy_arns": self._nullable("policy_arns"),
            "role_arns": self._nullable("role_arns"),
            "policy_document": self.policy_document,
            "iam_groups": self._nullable("iam_groups"),
            "iam_tags": self._nullable("iam_tags"),
            "session_tags": self._nullable("session_tags"),
            "external_id": self.external_id,
            "default_sts_ttl": self.default_sts_ttl,
            "max_sts_ttl": self.max_sts_ttl,
            "user_path": self.user_path,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "mfa_serial_number": self.mfa_serial_number,
            "key_propagation_timeout": self.key_propagation_timeout,
            st.TAGS_FIELD: dict(self.session_tags_template) or None,
            st.NAME_FIELD: self.session_name_template,
            st.SOURCE_FIELD: self.source_identity_template,
            # Issue 19 section 3 (reason.py)
            rs.REQUIRED_FIELD: self.reason_required,
            rs.MIN_LENGTH_FIELD: self.reason_min_length,
            rs.SESSION_TAG_FIELD: self.reason_session_tag,
            "session_revocation": self.session_revocation,  # issue 19 section 1
            "session_revocation_role_arns": list(self.session_revocation_role_arns),
        }
        if self.invalid_data:
            data["invalid_data"] = self.invalid_data
        return data

    def to_record(self) -> bytes:
        """Vault's `awsRoleEntry` JSON: durations in nanoseconds, unset collections as null."""
        return json.dumps(self.record()).encode()

    def record(self) -> JSONObject:
        """`to_record` before it is encoded (what an `iam_user` lease keeps as its `policy`)."""
        record: JSONObject = {name: self._nullable(name) for name in (*COLLECTIONS, *MAPS)}
        record.update({name: getattr(self, name) for name in STRINGS})
        record.update({name: getattr(self, name) * _NS for name in DURATIONS})
        record["version"] = self.version
        if self.invalid_data:
            record["invalid_data"] = self.invalid_data
        if self.prohibit_flexible_cred_path:
            record["prohibit_flexible_cred_path"] = True
        if self.session_revocation:  # issue 19 section 1
            record["session_revocation"] = True
        if self.session_revocation_role_arns:
            record["session_revocation_role_arns"] = list(self.session_revocation_role_arns)
        if self.session_tags_template:
            record[st.TAGS_FIELD] = dict(self.session_tags_template)
        record.update(
            {name: getattr(self, name) for name in TEMPLATE_STRINGS if getattr(self, name)}
        )
        record.update({name: getattr(self, name) for name in REASON_FIELDS if getattr(self, name)})
        return record

    @classmethod
    def from_record(cls, blob: bytes) -> RoleEntry:
        raw = json.loads(blob)
        role = cls(version=int(raw.get("version") or 0))
        for name in (*COLLECTIONS, *MAPS):
            value = raw.get(name)
            if value is not None:
                role.set_collection(name, value)
        for name in DURATIONS:
            setattr(role, name, int(raw.get(name) or 0) // _NS)
        for name in (*STRINGS, "invalid_data"):
            setattr(role, name, str(raw.get(name) or ""))
        role.prohibit_flexible_cred_path = bool(raw.get("prohibit_flexible_cred_path"))
        role.session_tags_template = dict(raw.get(st.TAGS_FIELD) or {})
        role.session_revocation = bool(raw.get("session_revocation"))  # issue 19 section 1
        role.session_revocation_role_arns = list(raw.get("session_revocation_role_arns") or [])
        for name in TEMPLATE_STRINGS:
            setattr(role, name, str(raw.get(name) or ""))
        role.reason_required = bool(raw.get(rs.REQUIRED_FIELD))
        role.reason_min_length = int(raw.get(rs.MIN_LENGTH_FIELD) or 0)
        role.reason_session_tag = bool(raw.get(rs.SESSION_TAG_FIELD))
        return role


def upgrade_legacy(value: str) -> RoleEntry:
    """The role a legacy raw policy or ARN stands for (`invalid_data` set when it is neither)."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        resource_type = parts[5].split("/")[0] if len(parts) == 6 else None
        if resource_type == "role":
            role = RoleEntry([ASSUMED_ROLE], role_arns=[value])
        elif resource_type == "policy":
            role = RoleEntry([IAM_USER], policy_arns=[value])
        else:
            return RoleEntry(invalid_data=value, version=1)
    else:
        try:
            role = RoleEntry([IAM_USER, FEDERATION_TOKEN], policy_document=compact_json(value))
        except ValueError:
            return RoleEntry(invalid_data=value, version=1)
    role.prohibit_flexible_cred_path, role.version = True, 1
    return role


def load_role(backend: AWSBackend, name: str) -> RoleEntry | None:
    """The role `name`, upgrading (and re-storing) a legacy `policy/<name>` entry."""
    if not name:
        raise InternalError("missing role name")
    role = _stored_role(backend, name)
    if role is not None:
        return role
    legacy = backend.storage.get(f"policy/{name}")
    if legacy is None:
        return None
    return _move_legacy(backend, name, legacy)


def _stored_role(backend: AWSBackend, name: str) -> RoleEntry | None:
    blob = backend.storage.get(f"role/{name}")
    return None if blob is None else RoleEntry.from_record(blob)


def _move_legacy(backend: AWSBackend, name: str, legacy: bytes) -> RoleEntry | None:
    """Store the upgrade of `legacy` as `role/<name>` and drop `policy/<name>`, each by
    compare-and-set: the role is written only where there is none (another process's upgrade
    or write came first: that one is the role), and taken back if the legacy entry is gone
    by then (a delete came in between: the role stays deleted)."""
    role = upgrade_legacy(legacy.decode("utf-8", errors="replace"))
    record = role.to_record()
    if not backend.storage.compare_and_set(f"role/{name}", None, record):
        return _stored_role(backend, name)
    if not backend.storage.compare_and_set(f"policy/{name}", legacy, None):
        backend.storage.compare_and_set(f"role/{name}", record, None)
        return _stored_role(backend, name)
    return role


def _boundary_error(value: str) -> str:
    """Vault's validateAWSManagedPolicy (aws-sdk-go `arn.Parse` texts); "" when valid."""
    if not value.startswith("arn:"):
        return "arn: invalid prefix"
    parts = value.split(":", 5)
    if len(parts) != 6:
        return "arn: not enough sections"
    if parts[2] != "iam":
        return f"expected a service of iam but got {parts[2]}"
    if not parts[5].startswith("policy/"):
        return f"expected a resource type of policy but got {parts[5]}"
    return ""


def _reject_constant(name: str) -> None:
    raise ValueError(f"invalid JSON literal {name}")


_JSON_TOKENS = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+')


def compact_json(text: str) -> str:
    """Go's json.Compact: validate, then drop insignificant whitespace; keys keep their order."""
    try:
        json.loads(text, parse_constant=_reject_constant, parse_int=str, parse_float=str)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    return _JSON_TOKENS.sub(lambda m: m.group(1) or "", text)


_SURROGATE = re.compile("[\ud800-\udfff]")
_GO_ESCAPES = {c: "\\" + e for c, e in zip('\a\b\f\n\r\t\v"\\', 'abfnrtv"\\', strict=True)}


def go_quote(text: str) -> str:
    """Go's `%q` of a string (strconv.Quote)."""
    out = ['"']
    # Go strings hold no lone surrogates: its JSON decoding turns them into U+FFFD.
    for ch in _SURROGATE.sub("\ufffd", text):
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def multierror_text(errors: list[str]) -> str:
    """hashicorp/go-multierror's default ListFormatFunc."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    points = "\n\t".join(f"* {e}" for e in errors)
    return f"{len(errors)} errors occurred:\n\t{points}\n\n"
