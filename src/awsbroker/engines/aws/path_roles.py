"""`roles/` and `roles/:name`: dynamic roles, stored at `role/<name>`.

Writes merge: a field not sent keeps its stored value, as stored at the moment of the write
(a compare-and-set: a write on another process meanwhile stays). Legacy roles (a raw policy
or ARN at `policy/<name>`, or the deprecated `policy`/`arn` parameters) are upgraded in
`load_role`. Error texts are Vault's, including Go's `%q` quoting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws import session_templates as st
from awsbroker.sdk.errors import InternalError, InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

IAM_USER = "iam_user"
ASSUMED_ROLE = "assumed_role"
FEDERATION_TOKEN = "federation_token"  # noqa: S105
SESSION_TOKEN = "session_token"  # noqa: S105
STS_TYPES = (ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
CREDENTIAL_TYPES = (IAM_USER, ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)

# Vault's GenericNameWithAtRegex `\w(([\w-.@]+)?\w)?`, with Go's ASCII-only `\w`.
ROLE_NAME = r"(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_.@-]*[A-Za-z0-9_])?)"
USER_PATH_REGEX = r"^\/([\x21-\x7F]{0,510}\/)?$"
_USER_PATH = re.compile(USER_PATH_REGEX)
MAX_KEY_PROPAGATION_TIMEOUT = 300
LEGACY_WARNING = (
    "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
)
_NS = 1_000_000_000
_COLLECTIONS = ("credential_types", "policy_arns", "role_arns", "iam_groups")
_MAPS = ("iam_tags", "session_tags")
# Our extension (session_templates.py): stored only when set, so a role without them keeps
# Vault's record.
_TEMPLATE_STRINGS = (st.NAME_FIELD, st.SOURCE_FIELD)
_DURATIONS = ("default_sts_ttl", "max_sts_ttl", "key_propagation_timeout")
_STRINGS = (
    "policy_document", "external_id", "user_path", "permissions_boundary_arn", "mfa_serial_number",
)  # fmt: skip
# Fields that cannot be combined with `policy`/`arn`, in Vault's order of checking.
_LEGACY_CONFLICTS = (
    "credential_type", "role_arns", "policy_arns", "policy_document", "default_sts_ttl",
    "max_sts_ttl", "user_path", "permissions_boundary_arn", "key_propagation_timeout",
)  # fmt: skip


def paths() -> list[Path[AWSBackend]]:
    return [
        Path("roles/?", {Operation.LIST: list_roles}, summary="List the existing roles"),
        Path(
            "roles/" + ROLE_NAME,
            {
                Operation.READ: read_role,
                Operation.UPDATE: write_role,
                Operation.DELETE: delete_role,
            },
            {
                "name": Field(T.STRING, "Name of the role"),
                "credential_type": Field(
                    T.STRING,
                    "Type of credential to retrieve. Must be one of assumed_role, iam_user, "
                    "federation_token, or session_token",
                ),
                "role_arns": Field(T.STRING_LIST, "ARNs of AWS roles allowed to be assumed"),
                "policy_arns": Field(T.STRING_LIST, "ARNs of AWS managed policies"),
                "policy_document": Field(T.STRING, "JSON-encoded IAM policy document"),
                "iam_groups": Field(T.STRING_LIST, "Names of IAM groups"),
                "iam_tags": Field(T.MAP, "IAM tags for created users (map or k=v pairs)"),
                "session_tags": Field(T.MAP, "Session tags for assumed_role credentials"),
                st.TAGS_FIELD: Field(
                    T.MAP,
                    "awsbroker extension, assumed_role and federation_token: session tag key → "
                    "template of its value, from the requesting token's identity "
                    "(docs/session-tags.md)",
                ),
                st.NAME_FIELD: Field(
                    T.STRING,
                    "awsbroker extension: template of the AssumeRole RoleSessionName or the "
                    "GetFederationToken Name, from the requesting token's identity",
                ),
                st.SOURCE_FIELD: Field(
                    T.STRING,
                    "awsbroker extension, assumed_role only: template of the AssumeRole "
                    "SourceIdentity, from the requesting token's identity",
                ),
                "external_id": Field(T.STRING, "External ID to set when assuming the role"),
                "default_sts_ttl": Field(T.DURATION, "Default TTL of STS credentials"),
                "max_sts_ttl": Field(T.DURATION, "Max allowed TTL of STS credentials"),
                "permissions_boundary_arn": Field(T.STRING, "Permissions boundary of IAM users"),
                "user_path": Field(T.STRING, "Path for IAM users (iam_user only)", default="/"),
                "mfa_serial_number": Field(T.STRING, "MFA device of the root user"),
                "key_propagation_timeout": Field(
                    T.DURATION,
                    "awsbroker extension, iam_user only: wait up to this long (at most 300s) "
                    "for a new access key to be accepted by AWS before returning it; 0 is off",
                    default=0,
                ),
                "arn": Field(T.STRING, "Deprecated: use role_arns or policy_arns instead"),
                "policy": Field(T.STRING, "Deprecated: use policy_document instead"),
            },
            summary="Read, write and delete roles that credentials are made for",
        ),
    ]


def list_roles(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    keys: list[JSONValue] = [*b.storage.list("role/"), *b.storage.list("policy/")]
    return Response(data={"keys": keys})


def read_role(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    role = load_role(b, fd.get_str("name"))
    return None if role is None else Response(data=role.to_response())


def delete_role(b: AWSBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("name")
    b.storage.delete(f"policy/{name}")
    b.storage.delete(f"role/{name}")


def write_role(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    name = fd.get_str("name")
    if not name:
        raise InvalidRequest("missing role name")
    load_role(b, name)  # a legacy `policy/<name>` becomes `role/<name>` first
    warnings: list[str] = []

    def change(stored: bytes | None) -> bytes:
        warnings.clear()  # this run's only: `change` runs again after a lost race
        return _written(stored, fd, warnings).to_record()

    # Merged into the role as stored at the moment of the write: another process's write of
    # other fields meanwhile stays.
    update(b.storage, f"role/{name}", change)
    return Response(warnings=warnings) if warnings else None


def _written(stored: bytes | None, fd: FieldData, warnings: list[str]) -> RoleEntry:
    """The role this write leaves over the stored one (none: a new role)."""
    role = RoleEntry() if stored is None else RoleEntry.from_record(stored)
    if role.invalid_data:
        warnings.append(f"Invalid data of {go_quote(role.invalid_data)} cleared out of role")
        role.invalid_data = ""
    legacy = _legacy_value(fd)
    _merge(role, fd, legacy)
    if legacy:
        role = upgrade_legacy(legacy)
        if role.invalid_data:
            raise InvalidRequest(f"unable to parse supplied data: {go_quote(role.invalid_data)}")
        warnings.append(LEGACY_WARNING)
    else:
        role.prohibit_flexible_cred_path = False
    problems = role.validate()
    if problems:
        quoted = go_quote(multierror_text(problems))
        raise InvalidRequest(f"error(s) validating supplied role data: {quoted}")
    return role


def _legacy_value(fd: FieldData) -> str:
    policy, arn = fd.get_str("policy"), fd.get_str("arn")
    if policy and arn:
        # Vault answers 500 (a plain error); it is the caller's input: 400, with Vault's text.
        raise InvalidRequest("only one of policy or arn should be provided")
    return policy or arn


def _merge(role: RoleEntry, fd: FieldData, legacy: str) -> None:
    """Copy every supplied field into `role`, in Vault's order (which decides the first error)."""
    for name in _LEGACY_CONFLICTS:
        if not fd.is_set(name):
            continue
        if legacy:
            what = "an explicit credential_type" if name == "credential_type" else name
            raise InvalidRequest(f"cannot supply deprecated role or policy parameters with {what}")
        if name == "credential_type":
            role.set_collection("credential_types", [fd.get_str(name)])
        elif name in _COLLECTIONS:
            role.set_collection(name, fd.get_list(name))
        elif name == "policy_document":
            role.policy_document = _compact_document(fd.get_str(name))
        elif name in _DURATIONS:
            setattr(role, name, fd.get_duration(name))
        else:
            setattr(role, name, fd.get_str(name))
    if fd.is_set("iam_groups"):
        role.set_collection("iam_groups", fd.get_list("iam_groups"))
    for name in _MAPS:
        if fd.is_set(name):
            role.set_collection(name, fd.get_map(name))
    for name in ("mfa_serial_number", "external_id"):
        if fd.is_set(name):
            setattr(role, name, fd.get_str(name))
    if fd.is_set(st.TAGS_FIELD):
        role.session_tags_template = fd.get_map(st.TAGS_FIELD)
    for name in _TEMPLATE_STRINGS:
        if fd.is_set(name):
            setattr(role, name, fd.get_str(name))


def _compact_document(raw: str) -> str:
    if not raw:
        return raw
    try:
        return compact_json(raw)
    except ValueError:
        raise InvalidRequest(f"cannot parse policy document: {go_quote(raw)}") from None


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
    prohibit_flexible_cred_path: bool = False
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
        for name in _TEMPLATE_STRINGS:
            text = getattr(self, name)
            if text:
                errs += st.template_problems(name, text)
        return errs + st.duplicate_tag_keys(self.session_tags, self.session_tags_template)

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
        }
        if self.invalid_data:
            data["invalid_data"] = self.invalid_data
        return data

    def to_record(self) -> bytes:
        """Vault's `awsRoleEntry` JSON: durations in nanoseconds, unset collections as null."""
        return json.dumps(self.record()).encode()

    def record(self) -> JSONObject:
        """`to_record` before it is encoded (what an `iam_user` lease keeps as its `policy`)."""
        record: JSONObject = {name: self._nullable(name) for name in (*_COLLECTIONS, *_MAPS)}
        record.update({name: getattr(self, name) for name in _STRINGS})
        record.update({name: getattr(self, name) * _NS for name in _DURATIONS})
        record["version"] = self.version
        if self.invalid_data:
            record["invalid_data"] = self.invalid_data
        if self.prohibit_flexible_cred_path:
            record["prohibit_flexible_cred_path"] = True
        if self.session_tags_template:
            record[st.TAGS_FIELD] = dict(self.session_tags_template)
        record.update(
            {name: getattr(self, name) for name in _TEMPLATE_STRINGS if getattr(self, name)}
        )
        return record

    @classmethod
    def from_record(cls, blob: bytes) -> RoleEntry:
        raw = json.loads(blob)
        role = cls(version=int(raw.get("version") or 0))
        for name in (*_COLLECTIONS, *_MAPS):
            value = raw.get(name)
            if value is not None:
                role.set_collection(name, value)
        for name in _DURATIONS:
            setattr(role, name, int(raw.get(name) or 0) // _NS)
        for name in (*_STRINGS, "invalid_data"):
            setattr(role, name, str(raw.get(name) or ""))
        role.prohibit_flexible_cred_path = bool(raw.get("prohibit_flexible_cred_path"))
        role.session_tags_template = dict(raw.get(st.TAGS_FIELD) or {})
        for name in _TEMPLATE_STRINGS:
            setattr(role, name, str(raw.get(name) or ""))
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
