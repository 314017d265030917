"""HTTP <-> Request/Response: methods, paths, tokens, bodies, the envelope and the status table."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers `httpx2` and warns once, at import, when it falls back to `httpx`.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from awsbroker.http.app import DEFAULT_MAX_REQUEST_SIZE, DEPTH_MESSAGE, MAX_JSON_DEPTH, build_app
from awsbroker.http.errors import STATUS, status_for
from awsbroker.sdk import errors
from awsbroker.sdk.logical import Auth, Operation, Request, Response, WrapInfo


class FakeHandler:
    """Stands in for `Core.handle`: records requests, answers with `answer(request)`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answer: Callable[[Request], Response | None] = lambda r: Response(data={"ok": True})

    def __call__(self, request: Request) -> Response | None:
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def returns(self, response: Response | None) -> None:
        self.answer = lambda r: response

    def raises(self, error: Exception) -> None:
        def answer(request: Request) -> Response | None:
            raise error

        self.answer = answer


@pytest.fixture
def handler() -> FakeHandler:
    return FakeHandler()


@pytest.fixture
def client(handler: FakeHandler) -> Iterator[TestClient]:
    with TestClient(build_app(handler), raise_server_exceptions=False) as c:
        yield c


def assert_json_headers(headers: object) -> None:
    assert getattr(headers, "get")("content-type") == "application/json"  # noqa: B009
    assert getattr(headers, "get")("cache-control") == "no-store"  # noqa: B009


# ---- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/v2/sys/mounts", "/v1", "/uix/", "/sys/mounts"])
def test_outside_v1_is_a_bare_404(client: TestClient, handler: FakeHandler, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 404
    assert resp.json() == {"errors": []}
    assert_json_headers(resp.headers)
    assert handler.requests == []


def test_logical_path_strips_v1_and_collapses_slashes(
    client: TestClient, handler: FakeHandler
) -> None:
    client.get("/v1/sys//mounts")
    assert handler.last.path == "sys/mounts"
    client.get("/v1//aws///creds/r")
    assert handler.last.path == "aws/creds/r"


def test_percent_encoded_paths_are_decoded_once_and_stay_paths(
    client: TestClient, handler: FakeHandler
) -> None:
    # An encoded '?' is part of the path, not the start of a query string.
    client.get("/v1/sys/policies/acl/a%3Fb%20c?ttl=1")
    assert handler.last.path == "sys/policies/acl/a?b c"
    assert handler.last.data == {"ttl": "1"}


# ---- methods -----------------------------------------------------------------------------------


def test_get_is_read_with_query_data(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/aws/creds/r?ttl=15m&role_arn=arn:x")
    assert handler.last.operation is Operation.READ
    assert handler.last.path == "aws/creds/r"
    assert handler.last.data == {"ttl": "15m", "role_arn": "arn:x"}


@pytest.mark.parametrize("value", ["true", "True", "1", "t", "TRUE"])
def test_get_with_list_true_is_list(client: TestClient, handler: FakeHandler, value: str) -> None:
    handler.returns(Response(data={"keys": ["a"]}))
    resp = client.get(f"/v1/aws/roles?list={value}&after=x")
    assert resp.status_code == 200
    assert handler.last.operation is Operation.LIST
    assert handler.last.path == "aws/roles/"
    assert handler.last.data == {"after": "x"}


def test_get_with_list_false_is_read(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/aws/roles?list=false")
    assert handler.last.operation is Operation.READ
    assert handler.last.path == "aws/roles"
    assert handler.last.data == {}


def test_unparseable_list_is_400(client: TestClient, handler: FakeHandler) -> None:
    resp = client.get("/v1/aws/roles?list=maybe")
    assert resp.status_code == 400
    assert resp.json() == {"errors": ["invalid value for 'list': use true or false"]}
    assert handler.requests == []


def test_list_verb_matches_get_list(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(data={"keys": ["a", "b/"]}))
    by_verb = client.request("LIST", "/v1/aws/roles")
    verb_request = handler.last
    by_query = client.get("/v1/aws/roles/?list=true")
    assert verb_request.operation is handler.last.operation is Operation.LIST
    assert verb_request.path == handler.last.path == "aws/roles/"
    assert by_verb.json()["data"] == by_query.json()["data"] == {"keys": ["a", "b/"]}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_post_and_put_are_update(client: TestClient, handler: FakeHandler, method: str) -> None:
    client.request(method, "/v1/sys/policy/p?ignored=1", json={"policy": "x", "n": None})
    assert handler.last.operation is Operation.UPDATE
    assert handler.last.data == {"policy": "x", "n": None}


def test_delete_takes_query_data(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(None)
    resp = client.delete("/v1/aws/roles/r?force=true")
    assert resp.status_code == 204
    assert handler.last.operation is Operation.DELETE
    assert handler.last.data == {"force": "true"}


def test_head(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(raw={"initialized": True}, status=200))
    resp = client.head("/v1/sys/health")
    assert resp.status_code == 200
    assert resp.content == b""
    assert handler.last.operation is Operation.HEAD


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
def test_unsupported_methods_are_405(client: TestClient, handler: FakeHandler, method: str) -> None:
    resp = client.request(method, "/v1/aws/roles/r")
    assert resp.status_code == 405
    assert resp.json() == {"errors": [f"unsupported method {method}"]}
    assert handler.requests == []


def test_unknown_verbs_are_405_with_an_errors_body(client: TestClient) -> None:
    resp = client.request("BREW", "/v1/coffee")
    assert resp.status_code == 405
    body = resp.json()
    assert isinstance(body["errors"], list)
    assert body["errors"]


# ---- tokens and headers ------------------------------------------------------------------------


def test_token_from_x_vault_token(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/x", headers={"X-Vault-Token": "hvs.abc"})
    assert handler.last.client_token == "hvs.abc"


def test_token_from_bearer(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/x", headers={"Authorization": "Bearer hvs.bear"})
    assert handler.last.client_token == "hvs.bear"


def test_x_vault_token_wins_over_bearer(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/x", headers={"X-Vault-Token": "hvs.x", "Authorization": "Bearer hvs.b"})
    assert handler.last.client_token == "hvs.x"


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "bearer hvs.lower", "Bearerhvs.x", ""])
def test_other_authorization_schemes_are_ignored(
    client: TestClient, handler: FakeHandler, value: str
) -> None:
    client.get("/v1/x", headers={"Authorization": value})
    assert handler.last.client_token == ""


def test_no_token(client: TestClient, handler: FakeHandler) -> None:
    client.get("/v1/x")
    assert handler.last.client_token == ""


def test_vault_request_and_namespace_headers_are_accepted(
    client: TestClient, handler: FakeHandler
) -> None:
    resp = client.get("/v1/x", headers={"X-Vault-Request": "true", "X-Vault-Namespace": "ns1"})
    assert resp.status_code == 200
    assert handler.last.path == "x"


@pytest.mark.parametrize(
    ("header", "seconds"), [("15m", 900), ("90", 90), ("0", 0), ("1h1s", 3601)]
)
def test_wrap_ttl_header_is_decoded(
    client: TestClient, handler: FakeHandler, header: str, seconds: int
) -> None:
    resp = client.post("/v1/auth/token/create", headers={"X-Vault-Wrap-TTL": header}, json={})
    assert resp.status_code == 200
    assert handler.last.wrap_ttl == seconds


@pytest.mark.parametrize(("header", "wrap_format"), [("jwt", "jwt"), ("uuid", ""), ("xyz", "")])
def test_wrap_format_header_asks_for_a_jwt_or_the_default(
    client: TestClient, handler: FakeHandler, header: str, wrap_format: str
) -> None:
    headers = {"X-Vault-Wrap-TTL": "60", "X-Vault-Wrap-Format": header}
    assert client.post("/v1/sys/wrapping/wrap", headers=headers, json={}).status_code == 200
    assert handler.last.wrap_format == wrap_format


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Vault-Wrap-TTL": "-5"}, "requested wrap ttl cannot be negative"),
        ({"X-Vault-Wrap-TTL": "soon"}, "error parsing X-Vault-Wrap-TTL header: "),
        ({"X-Vault-Wrap-TTL": "9" * 5000}, "X-Vault-Wrap-TTL header: value out of range"),
    ],
)
def test_bad_wrap_headers_are_400s(
    client: TestClient, handler: FakeHandler, headers: dict[str, str], message: str
) -> None:
    resp = client.post("/v1/sys/wrapping/wrap", headers=headers, json={"a": "b"})
    assert resp.status_code == 400
    assert message in resp.json()["errors"][0]
    assert handler.requests == []


def test_a_wrapped_response_shows_only_its_wrap_info(
    client: TestClient, handler: FakeHandler
) -> None:
    wrap = WrapInfo("hvs.x", "acc", 60, "2026-01-01T00:00:00Z", "auth/token/create", "inner")
    handler.returns(Response(data={"secret": "s"}, auth=Auth(client_token="t"), wrap_info=wrap))
    body = client.post("/v1/auth/token/create", json={}).json()
    assert body["wrap_info"] == {
        "token": "hvs.x",
        "accessor": "acc",
        "ttl": 60,
        "creation_time": "2026-01-01T00:00:00Z",
        "creation_path": "auth/token/create",
        "wrapped_accessor": "inner",
    }
    assert (body["data"], body["auth"], body["request_id"], body["lease_id"]) == (
        None,
        None,
        "",
        "",
    )


def test_each_request_gets_a_uuid_and_the_remote_address(
    client: TestClient, handler: FakeHandler
) -> None:
    client.get("/v1/x")
    client.get("/v1/x")
    first, second = handler.requests
    assert uuid.UUID(first.id)
    assert first.id != second.id
    assert first.remote_address == "testclient"


# ---- bodies ------------------------------------------------------------------------------------


def test_json_body_without_content_type(client: TestClient, handler: FakeHandler) -> None:
    client.post("/v1/x", content=b'{"a": 1, "b": [true]}')
    assert handler.last.data == {"a": 1, "b": [True]}


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_body_is_no_data(client: TestClient, handler: FakeHandler, body: bytes) -> None:
    client.post("/v1/x", content=body)
    assert handler.last.data == {}


def test_form_body(client: TestClient, handler: FakeHandler) -> None:
    client.post(
        "/v1/x",
        content=b"a=1&b=two+words&c=%2F",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert handler.last.data == {"a": "1", "b": "two words", "c": "/"}


def test_form_content_type_with_json_body_is_json(client: TestClient, handler: FakeHandler) -> None:
    client.post(
        "/v1/x",
        content=b'  {"a": "b"}',
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert handler.last.data == {"a": "b"}


def test_form_looking_body_without_form_type_is_json(
    client: TestClient, handler: FakeHandler
) -> None:
    resp = client.post("/v1/x", content=b"a=1", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0].startswith("failed to parse JSON input: ")
    assert handler.requests == []


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"3"])
def test_json_body_must_be_an_object(client: TestClient, handler: FakeHandler, body: bytes) -> None:
    resp = client.post("/v1/x", content=body)
    assert resp.status_code == 400
    assert resp.json() == {"errors": ["failed to parse JSON input: the body must be a JSON object"]}


def test_a_null_body_is_an_empty_one(client: TestClient, handler: FakeHandler) -> None:
    """The Vault CLI's `write -f` sends `null`; Vault decodes it as no data."""
    client.post("/v1/x", content=b"null")
    assert handler.last.data == {}


def test_malformed_json_is_400(client: TestClient, handler: FakeHandler) -> None:
    resp = client.put("/v1/x", content=b'{"a": ')
    assert resp.status_code == 400
    assert resp.json()["errors"][0].startswith("failed to parse JSON input: ")
    assert_json_headers(resp.headers)


def nested(depth: int, inner: str = "1", array_every: int = 0) -> bytes:
    """A JSON object whose arrays and objects nest `depth` levels deep, `inner` at the bottom;
    every `array_every`th level an array."""
    text = inner
    for level in range(depth - 1, 0, -1):
        text = f"[{text}]" if array_every and level % array_every == 0 else f'{{"k": {text}}}'
    return f'{{"top": {text}}}'.encode()


@pytest.mark.parametrize(
    "body",
    [nested(101), nested(101, array_every=3), nested(700, '"\\ud800"'), nested(950, '"\\udfff"'),
     b'{"a":' * 100_000, b"[" * 100_000, nested(5_000, array_every=2)],
    ids=["101", "101-arrays", "700-surrogate", "950-surrogate", "100k-objects", "100k-arrays",
         "5000"],
)  # fmt: skip
def test_bodies_nested_too_deep_are_400_saying_so(
    client: TestClient, handler: FakeHandler, body: bytes
) -> None:
    resp = client.post("/v1/auth/token/create", content=body)
    assert resp.status_code == 400
    assert resp.json() == {"errors": [DEPTH_MESSAGE]}
    assert DEPTH_MESSAGE == (
        "failed to parse JSON input: the body nests arrays and objects more than 100 levels "
        "deep; send a flatter body"
    )
    assert handler.requests == []


def test_bodies_up_to_the_depth_limit_are_accepted(
    client: TestClient, handler: FakeHandler
) -> None:
    assert MAX_JSON_DEPTH == 100
    for body in (nested(100), nested(100, '"\\ud800"', array_every=2)):
        assert client.post("/v1/x", content=body).status_code == 200
    bottom = handler.last.data["top"]
    for _ in range(99):  # from level 2 to the value inside level 100
        bottom = bottom[0] if isinstance(bottom, list) else bottom["k"]  # type: ignore[index,call-overload]
    assert bottom == "\ufffd"
    # Many brackets, shallow: inside strings, or side by side.
    wide = b'{"a": "' + b"[{" * 500 + b'", "b": [' + b"[], " * 500 + b"[]]}"
    assert client.post("/v1/x", content=wide).status_code == 200


def test_body_is_ignored_for_reads(client: TestClient, handler: FakeHandler) -> None:
    client.request("GET", "/v1/x?q=1", content=b"{not json")
    assert handler.last.data == {"q": "1"}


# ---- size limit --------------------------------------------------------------------------------


def test_default_size_limit_is_32_mib() -> None:
    assert DEFAULT_MAX_REQUEST_SIZE == 32 * 1024 * 1024


def test_body_at_the_limit_is_accepted(handler: FakeHandler) -> None:
    with TestClient(build_app(handler, max_request_size=12)) as c:
        resp = c.post("/v1/x", content=b'{"a": "123"}')
    assert resp.status_code == 200
    assert handler.last.data == {"a": "123"}


def test_body_over_the_limit_is_413(handler: FakeHandler) -> None:
    with TestClient(build_app(handler, max_request_size=12)) as c:
        resp = c.post("/v1/x", content=b'{"a": "1234"}')
    assert resp.status_code == 413
    assert resp.json() == {"errors": ["request body is larger than the limit of 12 bytes"]}
    assert handler.requests == []


def test_streamed_body_over_the_limit_is_413(handler: FakeHandler) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        yield b"x" * 20
        yield b'"}'

    with TestClient(build_app(handler, max_request_size=16)) as c:
        resp = c.post("/v1/x", content=chunks())
    assert resp.status_code == 413
    assert handler.requests == []


def test_streamed_body_under_the_limit(handler: FakeHandler) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a":'
        yield b' "b"}'

    with TestClient(build_app(handler, max_request_size=16)) as c:
        resp = c.post("/v1/x", content=chunks())
    assert resp.status_code == 200
    assert handler.last.data == {"a": "b"}


# ---- rendering ---------------------------------------------------------------------------------


def test_envelope_has_every_key(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(data={"k": "v"}, mount_type="aws"))
    resp = client.get("/v1/aws/roles/r")
    assert resp.status_code == 200
    assert_json_headers(resp.headers)
    assert resp.json() == {
        "request_id": handler.last.id,
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": {"k": "v"},
        "wrap_info": None,
        "warnings": None,
        "auth": None,
        "mount_type": "aws",
    }


def test_envelope_carries_lease_and_warnings(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(
        Response(
            data={"access_key": "AKIA"},
            lease_id="aws/creds/r/abc",
            lease_duration=900,
            renewable=True,
            warnings=["capped"],
        )
    )
    body = client.get("/v1/aws/creds/r").json()
    assert body["lease_id"] == "aws/creds/r/abc"
    assert body["lease_duration"] == 900
    assert body["renewable"] is True
    assert body["warnings"] == ["capped"]


def test_auth_block(client: TestClient, handler: FakeHandler) -> None:
    auth = Auth(
        client_token="hvs.t",
        accessor="acc",
        policies=["default", "p"],
        token_policies=["default", "p"],
        metadata={"k": "v"},
        lease_duration=3600,
        renewable=True,
        orphan=False,
        num_uses=2,
    )
    handler.returns(Response(auth=auth))
    resp = client.post("/v1/auth/token/create", json={})
    assert resp.status_code == 200
    body = resp.json()
    assert body["data"] is None
    assert body["auth"] == {
        "client_token": "hvs.t",
        "accessor": "acc",
        "policies": ["default", "p"],
        "token_policies": ["default", "p"],
        "metadata": {"k": "v"},
        "lease_duration": 3600,
        "renewable": True,
        "entity_id": "",
        "token_type": "service",
        "orphan": False,
        "mfa_requirement": None,
        "num_uses": 2,
    }


def test_auth_block_with_empty_metadata_is_null(client: TestClient, handler: FakeHandler) -> None:
    auth = Auth("hvs.t", "a", ["root"], ["root"], {}, 0, False, True, 0)
    handler.returns(Response(auth=auth))
    assert client.post("/v1/auth/token/create").json()["auth"]["metadata"] is None


def test_top_level_injection_does_not_override_the_envelope(
    client: TestClient, handler: FakeHandler
) -> None:
    handler.returns(
        Response(data={"aws/": {"type": "aws"}, "data": "x", "auth": 1}, inject_top_level=True)
    )
    body = client.get("/v1/sys/mounts").json()
    assert body["aws/"] == {"type": "aws"}
    assert body["data"] == {"aws/": {"type": "aws"}, "data": "x", "auth": 1}
    assert body["auth"] is None


def test_no_injection_unless_asked(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(data={"aws/": {}}))
    assert "aws/" not in client.get("/v1/sys/mounts").json()


def test_raw_response(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(raw={"sealed": True, "t": 1}))
    resp = client.get("/v1/sys/seal-status")
    assert resp.status_code == 200
    assert resp.json() == {"sealed": True, "t": 1}
    assert_json_headers(resp.headers)


def test_a_raw_responses_warnings_go_in_headers(client: TestClient, handler: FakeHandler) -> None:
    """The ECS body of container-creds/ has no `warnings`: each goes in its own header, as
    printable ASCII (no header can be split by what a warning quotes)."""
    handler.returns(Response(raw={"AccessKeyId": "A"}, warnings=["short", "bad\r\nX-Evil: 1 é"]))
    resp = client.get("/v1/aws/container-creds/r")
    assert resp.json() == {"AccessKeyId": "A"}
    assert resp.headers.get_list("X-Awsbroker-Warning") == ["short", "bad??X-Evil: 1 ?"]
    assert "X-Evil" not in resp.headers
    handler.returns(Response(raw={"sealed": True}))
    assert "X-Awsbroker-Warning" not in client.get("/v1/sys/seal-status").headers


def test_raw_response_with_its_own_status(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(raw={"sealed": True}, status=503))
    resp = client.get("/v1/sys/health")
    assert resp.status_code == 503
    assert resp.json() == {"sealed": True}


def test_read_of_nothing_is_404(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(None)
    resp = client.get("/v1/aws/roles/missing")
    assert resp.status_code == 404
    assert resp.json() == {"errors": []}
    assert_json_headers(resp.headers)


def test_read_with_null_data_is_404(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response())
    assert client.get("/v1/aws/roles/missing").status_code == 404


@pytest.mark.parametrize(
    "response", [None, Response(data={"keys": []}), Response(data={}), Response()]
)
def test_empty_list_is_404(
    client: TestClient, handler: FakeHandler, response: Response | None
) -> None:
    handler.returns(response)
    resp = client.request("LIST", "/v1/aws/roles")
    assert resp.status_code == 404
    assert resp.json() == {"errors": []}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_write_with_nothing_to_say_is_204(
    client: TestClient, handler: FakeHandler, method: str
) -> None:
    handler.returns(None)
    resp = client.request(method, "/v1/aws/roles/r")
    assert resp.status_code == 204
    assert resp.content == b""
    assert resp.headers["cache-control"] == "no-store"
    handler.returns(Response())
    assert client.request(method, "/v1/aws/roles/r").status_code == 204


def test_warnings_turn_a_204_into_a_200(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(warnings=["policy name was converted to lowercase"]))
    resp = client.put("/v1/sys/policy/P", json={"policy": "x"})
    assert resp.status_code == 200
    assert resp.json()["warnings"] == ["policy name was converted to lowercase"]
    assert resp.json()["data"] is None


def test_explicit_status_without_data(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(status=202, warnings=["queued"]))
    resp = client.post("/v1/sys/leases/tidy")
    assert resp.status_code == 202
    assert resp.json()["warnings"] == ["queued"]


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "messages"),
    [
        (errors.InvalidRequest("bad thing"), 400, ["bad thing"]),
        (errors.PermissionDenied(), 403, ["permission denied"]),
        (errors.NotFound(), 404, []),
        (errors.NotFound("unsupported path"), 404, ["unsupported path"]),
        (errors.UnsupportedOperation(), 405, ["unsupported operation"]),
        (errors.PayloadTooLarge(), 413, ["request body too large"]),
        (errors.RateLimited(), 429, ["rate limit exceeded"]),
        (errors.InternalError(), 500, ["internal error"]),
        (errors.InternalError("audit device failed"), 500, ["audit device failed"]),
        (errors.NotInitialized(), 501, ["Vault is not initialized"]),
        (errors.UpstreamError("AWS said no"), 502, ["AWS said no"]),
        (errors.Sealed(), 503, ["Vault is sealed"]),
        (errors.StorageUnavailable(), 503, ["storage unavailable"]),
        (errors.StorageTooNew(2, 1), 500, [str(errors.StorageTooNew(2, 1))]),
        (errors.InvalidRequest("a", "b"), 400, ["a", "b"]),
    ],
)
def test_error_table(
    client: TestClient,
    handler: FakeHandler,
    error: errors.BrokerError,
    status: int,
    messages: list[str],
) -> None:
    handler.raises(error)
    resp = client.get("/v1/x")
    assert resp.status_code == status
    assert resp.json() == {"errors": messages}
    assert_json_headers(resp.headers)


def test_unexpected_exceptions_are_a_generic_500(
    client: TestClient, handler: FakeHandler, caplog: pytest.LogCaptureFixture
) -> None:
    handler.raises(RuntimeError("secret detail"))
    resp = client.get("/v1/x")
    assert resp.status_code == 500
    assert resp.json() == {"errors": ["internal error"]}
    assert "secret detail" not in resp.text
    assert any("internal error" in r.message for r in caplog.records)


def test_status_table_covers_the_whole_tree() -> None:
    # Every direct subclass, and the one deeper class with a status of its own.
    assert set(STATUS) == {*errors.BrokerError.__subclasses__(), errors.StorageUnavailable}


def test_status_for_subclasses_and_the_base() -> None:
    class Throttled(errors.RateLimited):
        pass

    assert status_for(Throttled()) == 429
    assert status_for(errors.BrokerError()) == 500


def test_a_lease_alone_is_worth_a_200(client: TestClient, handler: FakeHandler) -> None:
    handler.returns(Response(lease_id="aws/creds/r/abc", lease_duration=60))
    resp = client.get("/v1/aws/creds/r")
    assert resp.status_code == 200
    assert resp.json()["lease_id"] == "aws/creds/r/abc"
