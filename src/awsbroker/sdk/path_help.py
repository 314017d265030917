"""A path's help, as Vault's `framework` answers `?help=1` (`logical.HelpOperation`): the text
`vault path-help` prints, built from the spec's summary, description and fields, and the path's
OpenAPI document, relative to its mount. Built from the spec alone: the handler never runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsbroker import __version__
from awsbroker.sdk import openapi
from awsbroker.sdk.fields import Field, FieldType
from awsbroker.sdk.logical import JSONObject, Response
from awsbroker.sdk.path_spec import Path

# Vault's names of its field types, as its help template prints them.
_TYPE_NAMES = {
    FieldType.STRING: "string",
    FieldType.INT: "int",
    FieldType.BOOL: "bool",
    FieldType.DURATION: "duration (sec)",
    FieldType.STRING_LIST: "slice",
    FieldType.STRING_SLICE: "slice",
    FieldType.MAP: "map",
    FieldType.OBJECT: "map",
}

_TAGS = {"system": "system", "token": "auth"}

_PATHS_INTRO = """## PATHS

The following paths are supported by this backend. To view help for
any of the paths below, use the help command with any route matching
the path pattern. Note that depending on the policy of your auth token,
you may or may not be able to access certain paths.
"""


def response(spec: Path[Any], path: str, mount_type: str) -> Response:
    """`{"help": text, "openapi": document, "see_also": null}`, Vault's body for help."""
    return _body(text(spec, path), document([spec], mount_type))


def root_response(specs: Sequence[Path[Any]], mount_type: str) -> Response:
    """The help of the mount itself (`<mount>/?help=1`): every path, as Vault's root help."""
    return _body(root_text(specs), document(specs, mount_type))


def _body(help_text: str, openapi_document: JSONObject) -> Response:
    body: JSONObject = {"help": help_text, "openapi": openapi_document, "see_also": None}
    return Response(raw=body)


def root_text(specs: Sequence[Path[Any]]) -> str:
    lines = [_PATHS_INTRO]
    for spec in sorted(specs, key=lambda s: s.pattern):
        lines += [f"    ^{spec.pattern}$"]
        lines += [f"        {line}".rstrip() for line in (spec.summary or "").splitlines()]
        lines += [""]
    return "\n".join(lines).strip() + "\n"


def text(spec: Path[Any], path: str) -> str:
    """Vault's `pathHelpTemplate`: request, route, synopsis, parameters, description."""
    lines = [
        f"Request:        {path}",
        f"Matching Route: ^{spec.pattern}$",
        "",
        spec.summary or "<no synopsis>",
        "",
    ]
    if spec.fields:
        lines += ["## PARAMETERS", ""]
        for name in sorted(spec.fields):
            lines += _parameter(name, spec.fields[name])
    if spec.description:
        lines += ["## DESCRIPTION", "", spec.description.strip()]
    return "\n".join(lines).strip() + "\n"


def _parameter(name: str, field: Field) -> list[str]:
    header = f"    {name} ({_TYPE_NAMES[field.type]})"
    described = [f"        {line}".rstrip() for line in field.description.splitlines()]
    return [header, "", *described, ""] if described else [header, ""]


def document(specs: Sequence[Path[Any]], mount_type: str) -> JSONObject:
    """The OpenAPI document of these paths, relative to the mount (as Vault's)."""
    mount = openapi.Mount(path="", specs=specs, tag=_TAGS.get(mount_type, "secrets"))
    full = openapi.document([mount], openapi.Info(title="awsbroker", version=__version__))
    keep = ("openapi", "info", "paths", "components")
    return {key: full[key] for key in keep}
