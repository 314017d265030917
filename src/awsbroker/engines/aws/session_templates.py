"""Credentials shaped by who asked: templated session tags, session names and SourceIdentity.

An `assumed_role` or `federation_token` role may carry templates (our extension, beyond Vault;
docs/session-tags.md) in the language of `username_template` (`awsbroker.sdk.gotemplate`):

* `session_tags_template`: tag key → template of its value (AssumeRole and GetFederationToken
  `Tags`), beside the static `session_tags`;
* `session_name_template`: the AssumeRole `RoleSessionName`, or the GetFederationToken `Name`;
* `source_identity_template`: the AssumeRole `SourceIdentity` (GetFederationToken has none).

They read the identity of the token that asked (`Request.caller`, set by the core), never the
token. A template that does not parse, or reads a field not in `FIELDS`, is refused when the
role is written. At issue time every rendered value is required (empty → 400), and is made to
fit AWS's characters and lengths (`fit`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.gotemplate import Data, Template, TemplateError, parse
from awsbroker.sdk.logical import CallerIdentity

TAGS_FIELD = "session_tags_template"
NAME_FIELD = "session_name_template"
SOURCE_FIELD = "source_identity_template"
# The fields a template may read, and what they hold (docs/session-tags.md).
STRING_FIELDS: Mapping[str, str] = {
    "DisplayName": "the token's display name (e.g. token-ci, root)",
    "PolicyName": "the broker role's name (as in username_template)",
    "RoleName": "the broker role's name",
    "CredentialType": "assumed_role or federation_token",
    "AuthMethod": "the type of the auth mount that made the token (token, approle, jwt...)",
    "AuthMountPath": "the path of that auth mount (auth/token/, auth/jwt/...)",
    "AuthMountAccessor": "the accessor of that auth mount",
    "Policies": "the token's policies, sorted, joined by commas",
}
MAP_FIELDS: Mapping[str, str] = {
    "Metadata": "the token's metadata, read by key: .Metadata.repository ('' if absent)",
}

# AWS's limits, from the STS API (botocore's model of it): RoleSessionName 2-64 and
# GetFederationToken Name 2-32 of [\w+=,.@-]; SourceIdentity 2+ of the same (we cut at 64, the
# limit its API reference gives); tag keys 1-128 and values 0-256 of letters, numbers, spaces
# and _.:/=+-@ ([\p{L}\p{Z}\p{N}_.:/=+\-@]); at most 50 tags.
SESSION_NAME_MAX = 64
FEDERATION_NAME_MAX = 32
SOURCE_IDENTITY_MAX = 64
NAME_MIN = 2
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MAX_TAGS = 50
_NAME_BAD = re.compile(r"[^A-Za-z0-9_+=,.@-]")
_TAG_PUNCT = frozenset("_.:/=+-@")
# A value cut to fit ends in "-" and 16 hex digits of the SHA-256 of the whole rendered value,
# so two long values that share a prefix stay apart.
_DIGEST = 16


@dataclass(frozen=True)
class Shaped:
    """What a role's templates give for one request (None/empty: the template is unset)."""

    session_name: str | None = None
    source_identity: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


# ---- write time -----------------------------------------------------------------------------


def template_problems(name: str, text: str) -> list[str]:
    """Why the template `text` of the role field `name` cannot be used ([] when it can)."""
    try:
        template = parse(text)
    except TemplateError as exc:
        return [f"{name}: cannot parse: {exc}"]
    problems = [f"{name}: {p}" for p in _field_problems(template)]
    if problems:
        return problems
    try:  # catches what only running finds (a function's argument types, truncate 0...)
        template.render(sample_data())
    except TemplateError as exc:
        return [f"{name}: cannot render: {exc}"]
    return []


def _field_problems(template: Template) -> list[str]:
    known = ", ".join([f".{f}" for f in STRING_FIELDS] + [f".{f}.<key>" for f in MAP_FIELDS])
    problems: list[str] = []
    for names in template.fields():
        path = "." + ".".join(names)
        head, rest = names[0], names[1:]
        if head in STRING_FIELDS and rest:
            problems.append(f"field {path}: {head} is a string and has no fields")
        elif head in MAP_FIELDS and len(rest) != 1:
            problems.append(f"field {path}: read one key of {head}, as .{head}.<key>")
        elif head not in STRING_FIELDS and head not in MAP_FIELDS:
            problems.append(f"unknown field {path} (available: {known})")
    return problems


def tag_key_problems(key: str) -> list[str]:
    """Why `key` cannot be a session tag key ([] when it can)."""
    where = f"{TAGS_FIELD}: tag key {key!r}"
    if not 1 <= len(key) <= TAG_KEY_MAX:
        return [f"{where} must be 1 to {TAG_KEY_MAX} characters"]
    if not all(_tag_char(c) for c in key):
        return [f"{where} may hold only letters, numbers, spaces and _.:/=+-@"]
    if key.lower().startswith("aws:"):
        return [f"{where} may not start with aws: (reserved by AWS)"]
    return []


def duplicate_tag_keys(static: Mapping[str, str], templated: Mapping[str, str]) -> list[str]:
    """Problems with keys set twice: AWS compares tag keys without case."""
    seen: dict[str, str] = {}
    problems: list[str] = []
    for source, keys in (("session_tags", static), (TAGS_FIELD, templated)):
        for key in keys:
            first = seen.setdefault(key.lower(), f"{source}[{key!r}]")
            if first != f"{source}[{key!r}]":
                problems.append(
                    f"{TAGS_FIELD}: tag key {key!r} is also set by {first} (AWS tag keys "
                    "ignore case); set each key once"
                )
    if len(static) + len(templated) > MAX_TAGS:
        problems.append(f"session_tags and {TAGS_FIELD} hold more than {MAX_TAGS} tags together")
    return problems


# ---- issue time -----------------------------------------------------------------------------


def sample_data() -> Data:
    return {**dict.fromkeys(STRING_FIELDS, ""), **{f: {} for f in MAP_FIELDS}}


def identity_data(caller: CallerIdentity | None, role_name: str, credential_type: str) -> Data:
    """What the templates read, for `caller` asking for `role_name`'s credential."""
    data: dict[str, str | Mapping[str, str]] = {
        "DisplayName": caller.display_name if caller else "",
        "PolicyName": role_name,
        "RoleName": role_name,
        "CredentialType": credential_type,
        "AuthMethod": caller.auth_mount_type if caller else "",
        "AuthMountPath": caller.auth_mount_path if caller else "",
        "AuthMountAccessor": caller.auth_mount_accessor if caller else "",
        "Policies": ",".join(sorted(caller.policies)) if caller else "",
        "Metadata": dict(caller.metadata) if caller else {},
    }
    return data


def render(name: str, text: str, data: Data, now: float) -> str:
    """The template's value for `data`, without surrounding whitespace; 400 if it fails or
    gives nothing (every templated value is required)."""
    try:
        value = _parsed(text).render(data, now=lambda: now).strip()
    except TemplateError as exc:
        raise InvalidRequest(f"{name}: cannot render for this token: {exc}") from None
    if not value:
        raise InvalidRequest(
            f"{name} rendered empty for this token (a metadata key it reads is missing?); "
            'give a fallback in the template, e.g. {{ or .Metadata.key "none" }}'
        )
    return value


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Template:
    return parse(text)


def fit_name(name: str, value: str, limit: int) -> str:
    """`value` as an STS name: characters outside [A-Za-z0-9_+=,.@-] become `_`, at most
    `limit` characters; 400 if fewer than two remain."""
    fitted = _cut(_NAME_BAD.sub("_", value), value, limit)
    if len(fitted) < NAME_MIN:
        raise InvalidRequest(f"{name} rendered {value!r}: AWS needs at least {NAME_MIN} characters")
    return fitted


def fit_tag_value(value: str) -> str:
    """`value` as a tag value: other characters than AWS allows become `_`, at most 256."""
    return _cut("".join(c if _tag_char(c) else "_" for c in value), value, TAG_VALUE_MAX)


def _tag_char(c: str) -> bool:
    return c in _TAG_PUNCT or unicodedata.category(c)[0] in "LNZ"


def _cut(fitted: str, original: str, limit: int) -> str:
    if len(fitted) <= limit:
        return fitted
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST]
    return f"{fitted[: limit - _DIGEST - 1]}-{digest}"


def shape(
    *,
    tags: Mapping[str, str],
    session_name: str,
    source_identity: str,
    data: Data,
    name_limit: int,
    now: float,
) -> Shaped:
    """Render a role's templates (empty ones are unset) for one request."""
    return Shaped(
        session_name=(
            fit_name(NAME_FIELD, render(NAME_FIELD, session_name, data, now), name_limit)
            if session_name
            else None
        ),
        source_identity=(
            fit_name(
                SOURCE_FIELD,
                render(SOURCE_FIELD, source_identity, data, now),
                SOURCE_IDENTITY_MAX,
            )
            if source_identity
            else None
        ),
        tags={
            key: fit_tag_value(render(f"{TAGS_FIELD}[{key!r}]", text, data, now))
            for key, text in tags.items()
        },
    )
