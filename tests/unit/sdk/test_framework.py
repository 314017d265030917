"""The declarative path framework: matching, dispatch, fields, existence checks, secrets."""

from __future__ import annotations

import pytest

from awsbroker.sdk.errors import InvalidRequest, NotFound, UnsupportedOperation
from awsbroker.sdk.fields import Field, FieldData, FieldType
from awsbroker.sdk.framework import FrameworkBackend, Path, SecretType
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response, Secret

R, U, C, D, L = (
    Operation.READ,
    Operation.UPDATE,
    Operation.CREATE,
    Operation.DELETE,
    Operation.LIST,
)


class Thing(FrameworkBackend["Thing"]):
    """A small backend whose handlers record what they were given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Operation, dict[str, object]]] = []
        self.items: dict[str, str] = {}
        self.revoked: list[Secret] = []
        self.renewed: list[Secret] = []
        super().__init__(
            self,
            [
                Path(
                    r"items/(?P<name>\w+)",
                    {R: read_item, U: write_item, D: delete_item},
                    {"name": Field(FieldType.STRING), "value": Field(FieldType.STRING)},
                    existence_check=item_exists,
                ),
                Path("items/?", {L: list_items}),
                Path(
                    "create-only",
                    {C: create_only},
                    {"n": Field(FieldType.INT, default=7)},
                ),
                Path(r"opt(?:/(?P<tail>.+))?", {R: read_opt}, {"tail": Field(FieldType.STRING)}),
                Path("raw", {R: read_raw}),
            ],
            secrets=[
                SecretType("renewable", revoke=revoke_secret, renew=renew_secret),
                SecretType("fixed", revoke=revoke_secret),
            ],
            root_paths=["admin/*"],
            unauthenticated_paths=["public"],
        )


def read_item(b: Thing, req: Request, fd: FieldData) -> Response | None:
    b.seen.append(("read", req.operation, {"name": fd.get_str("name")}))
    value = b.items.get(fd.get_str("name"))
    return None if value is None else Response(data={"value": value})


def write_item(b: Thing, req: Request, fd: FieldData) -> Response | None:
    b.seen.append(("write", req.operation, {"name": fd.get_str("name")}))
    b.items[fd.get_str("name")] = fd.get_str("value")
    return Response(data={"ok": True})


def delete_item(b: Thing, req: Request, fd: FieldData) -> Response | None:
    b.items.pop(fd.get_str("name"), None)
    return None


def item_exists(b: Thing, req: Request, fd: FieldData) -> bool:
    return fd.get_str("name") in b.items


def list_items(b: Thing, req: Request, fd: FieldData) -> Response | None:
    keys: list[JSONValue] = [*sorted(b.items)]
    return Response(data={"keys": keys})


def create_only(b: Thing, req: Request, fd: FieldData) -> Response | None:
    b.seen.append(("create-only", req.operation, {"n": fd.get_int("n")}))
    return Response(data={"n": fd.get_int("n")})


def read_opt(b: Thing, req: Request, fd: FieldData) -> Response | None:
    return Response(data={"tail": fd.get_str("tail"), "set": fd.is_set("tail")})


def read_raw(b: Thing, req: Request, fd: FieldData) -> Response | None:
    return Response(raw={"raw": True})


def revoke_secret(b: Thing, req: Request, secret: Secret) -> Response | None:
    b.revoked.append(secret)
    return None


def renew_secret(b: Thing, req: Request, secret: Secret) -> Response | None:
    b.renewed.append(secret)
    return Response(secret=secret)


def req(op: Operation, path: str, **data: object) -> Request:
    return Request(op, path, dict(data))  # type: ignore[arg-type]


def test_path_captures_become_fields_and_beat_the_body() -> None:
    b = Thing()
    b.handle_request(req(U, "items/a", name="ignored", value="1"))
    assert b.items == {"a": "1"}
    assert b.seen == [("write", U, {"name": "a"})]


def test_patterns_match_the_whole_path() -> None:
    b = Thing()
    assert b.match("items/a") is not None
    assert b.match("items/a/b") is None
    assert b.match("xitems/a") is None
    with pytest.raises(NotFound, match="unsupported path"):
        b.handle_request(req(R, "items/a/b"))


def test_optional_groups_that_did_not_match_are_not_set() -> None:
    b = Thing()
    found = b.match("opt")
    assert found is not None
    assert found[1] == {}
    resp = b.handle_request(req(R, "opt"))
    assert resp is not None
    assert resp.data == {"tail": "", "set": False}
    resp = b.handle_request(req(R, "opt/x/y"))
    assert resp is not None
    assert resp.data == {"tail": "x/y", "set": True}


def test_unsupported_operation_on_an_existing_path() -> None:
    with pytest.raises(UnsupportedOperation):
        Thing().handle_request(req(D, "items/"))


def test_create_falls_back_to_update_and_update_to_create() -> None:
    b = Thing()
    b.handle_request(req(C, "items/a", value="v"))
    assert b.seen == [("write", C, {"name": "a"})]
    resp = b.handle_request(req(U, "create-only"))
    assert resp is not None
    assert resp.data == {"n": 7}
    assert b.seen[-1] == ("create-only", U, {"n": 7})


def test_read_returning_none_passes_through() -> None:
    assert Thing().handle_request(req(R, "items/missing")) is None


def test_unknown_parameters_add_one_warning() -> None:
    b = Thing()
    resp = b.handle_request(req(U, "items/a", value="v", zeta=1, alpha="x", gone=None))
    assert resp is not None
    assert resp.warnings == ["Endpoint ignored these unrecognized parameters: [alpha zeta]"]


def test_no_warning_for_raw_responses_or_no_response() -> None:
    b = Thing()
    raw = b.handle_request(req(R, "raw", extra=1))
    assert raw is not None
    assert raw.warnings == []
    assert b.handle_request(req(D, "items/a", extra=1)) is None


def test_bad_field_value_is_invalid_request_before_the_handler_runs() -> None:
    b = Thing()
    with pytest.raises(InvalidRequest, match="field 'n'"):
        b.handle_request(req(C, "create-only", n="lots"))
    assert b.seen == []


def test_existence_check() -> None:
    b = Thing()
    assert b.exists(req(U, "items/a")) is False
    b.items["a"] = "1"
    assert b.exists(req(U, "items/a")) is True
    assert b.exists(req(U, "create-only")) is None
    assert b.exists(req(U, "nowhere")) is None


def test_secret_hooks_dispatch_by_type() -> None:
    b = Thing()
    s = Secret("renewable", ttl=10)
    resp = b.renew_secret(req(U, "x"), s)
    assert resp is not None
    assert resp.secret is s
    assert b.renewed == [s]
    assert b.revoke_secret(req(U, "x"), s) is None
    assert b.revoked == [s]


def test_secret_without_renew_hook_is_not_renewable() -> None:
    with pytest.raises(InvalidRequest, match="not renewable"):
        Thing().renew_secret(req(U, "x"), Secret("fixed"))


def test_unknown_secret_type() -> None:
    with pytest.raises(InvalidRequest, match="unknown secret type 'other'"):
        Thing().revoke_secret(req(U, "x"), Secret("other"))
    with pytest.raises(InvalidRequest, match="unknown secret type"):
        Thing().renew_secret(req(U, "x"), Secret("other"))


def test_root_and_unauthenticated_paths_are_exposed() -> None:
    b = Thing()
    assert list(b.root_paths) == ["admin/*"]
    assert list(b.unauthenticated_paths) == ["public"]


def test_path_compiles_its_pattern() -> None:
    spec: Path[Thing] = Path("a/(?P<x>b+)", {R: read_raw})
    m = spec.compiled().fullmatch("a/bbb")
    assert m is not None
    assert m.group("x") == "bbb"


def test_periodic_calls_the_owner_hook_when_there_is_one() -> None:
    calls: list[str] = []

    class Ticking(FrameworkBackend["Ticking"]):
        def __init__(self) -> None:
            super().__init__(self, [], periodic=lambda owner: calls.append(type(owner).__name__))

    Ticking().periodic()
    Thing().periodic()
    assert calls == ["Ticking"]
