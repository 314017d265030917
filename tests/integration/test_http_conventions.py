"""Vault's HTTP conventions, checked over the wire (reference §1, §2 and rules 1-10 of §13)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import hvac
import hvac.exceptions
import pytest
from tests.support.server import ROOT_TOKEN, InitResult, ServerFactory, ServerProcess

JSON = "application/json"
ENVELOPE_KEYS = {
    "request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings",
    "auth", "mount_type",
}  # fmt: skip
POLICY = 'path "sys/mounts" { capabilities = ["read"] }'
MAX_REQUEST_SIZE = 1024


def policy_names(server: ServerProcess, token: str = ROOT_TOKEN) -> list[str]:
    resp = server.request("LIST", "sys/policies/acl", token=token)
    assert resp.status_code == 200
    names: list[str] = resp.json()["data"]["keys"]
    return names


# ---- the /v1/ prefix and the error body ------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v1", "/v2/sys/health", "/sys/health", "/uix/", "/v1x/sys"])
def test_paths_outside_v1_are_404_with_empty_errors(dev_server: ServerProcess, path: str) -> None:
    for method in ("GET", "POST"):
        resp = dev_server.request(method, path, token=ROOT_TOKEN)
        assert resp.status_code == 404
        assert resp.headers["Content-Type"] == JSON
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.json() == {"errors": []}


def test_errors_are_exact_json_with_an_errors_list(dev_server: ServerProcess) -> None:
    cases = [
        ("POST", "sys/mounts/x", ROOT_TOKEN, {"type": "nope"}, 400),
        ("GET", "sys/mounts", "hvs.bogus", None, 403),
        ("GET", "sys/mounts", None, None, 403),
        ("GET", "aws/nothing/here", ROOT_TOKEN, None, 404),
        ("DELETE", "sys/seal-status", None, None, 405),
        ("PATCH", "sys/mounts", ROOT_TOKEN, None, 405),
    ]
    for method, path, token, body, status in cases:
        resp = dev_server.request(method, path, token=token, json=body)
        assert resp.status_code == status, (method, path, resp.text)
        assert resp.headers["Content-Type"] == JSON, (method, path)
        assert resp.headers["Cache-Control"] == "no-store"
        errors = resp.json()["errors"]
        assert isinstance(errors, list)
        assert all(isinstance(e, str) for e in errors)


def test_hvac_sees_the_server_message(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest) as caught:
        root_client.sys.enable_secrets_engine("no-such-engine", path="x")
    assert caught.value.errors == ["plugin not found in the catalog: no-such-engine"]
    assert "plugin not found in the catalog" in str(caught.value)


# ---- success shapes --------------------------------------------------------------------


def test_envelope_has_every_key_and_a_fresh_uuid(dev_server: ServerProcess) -> None:
    first = dev_server.request("GET", "sys/mounts", token=ROOT_TOKEN)
    second = dev_server.request("GET", "sys/mounts", token=ROOT_TOKEN)
    for resp in (first, second):
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == JSON
        assert resp.headers["Cache-Control"] == "no-store"
        body = resp.json()
        assert set(body) >= ENVELOPE_KEYS
        assert str(uuid.UUID(body["request_id"])) == body["request_id"]
        assert (body["lease_id"], body["renewable"], body["lease_duration"]) == ("", False, 0)
        assert (body["wrap_info"], body["warnings"], body["auth"]) == (None, None, None)
        assert body["mount_type"] == "system"
    assert first.json()["request_id"] != second.json()["request_id"]

    created = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN, json={})
    body = created.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["data"] is None
    assert body["mount_type"] == "token"
    assert set(body["auth"]) >= {
        "client_token", "accessor", "policies", "token_policies", "metadata", "lease_duration",
        "renewable", "entity_id", "token_type", "orphan", "mfa_requirement", "num_uses",
    }  # fmt: skip


def test_raw_endpoints_have_no_envelope(dev_server: ServerProcess) -> None:
    for path in ("sys/seal-status", "sys/health", "sys/leader", "sys/init"):
        resp = dev_server.request("GET", path)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"] == JSON
        assert resp.headers["Cache-Control"] == "no-store"
        assert "request_id" not in resp.json()
        assert "data" not in resp.json()


def test_empty_writes_are_204(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    put = dev_server.request(
        "PUT", "sys/policies/acl/empty-204", token=ROOT_TOKEN, json={"policy": POLICY}
    )
    assert put.status_code == 204
    assert put.content == b""
    assert put.headers["Cache-Control"] == "no-store"
    resp = root_client.sys.delete_acl_policy("empty-204")
    assert resp.status_code == 204
    assert bool(resp) is True


def test_reading_nothing_is_404(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    resp = dev_server.request("GET", "sys/policies/acl/never-written", token=ROOT_TOKEN)
    assert (resp.status_code, resp.json()) == (404, {"errors": []})
    assert root_client.read("sys/policies/acl/never-written") is None


# ---- LIST ------------------------------------------------------------------------------


def test_list_verb_and_list_query_are_identical(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    root_client.sys.create_or_update_acl_policy("listed-one", POLICY)
    verb = policy_names(dev_server)
    assert "listed-one" in verb
    for value in ("true", "True", "1", "t", "TRUE"):
        resp = dev_server.request(
            "GET", "sys/policies/acl", token=ROOT_TOKEN, params={"list": value}
        )
        assert resp.status_code == 200, value
        assert resp.json()["data"]["keys"] == verb
    slash = dev_server.request("LIST", "sys/policies/acl/", token=ROOT_TOKEN)
    assert slash.json()["data"]["keys"] == verb
    assert root_client.list("sys/policies/acl")["data"]["keys"] == verb
    strict = dev_server.client(ROOT_TOKEN, strict_http=True)
    assert strict.sys.list_acl_policies()["data"]["keys"] == verb
    assert root_client.sys.list_acl_policies()["data"]["keys"] == verb
    # list=false is a read, which this path does not have.
    unlisted = dev_server.request(
        "GET", "sys/policies/acl", token=ROOT_TOKEN, params={"list": "false"}
    )
    assert unlisted.status_code == 405


def test_bad_list_value_is_400(dev_server: ServerProcess) -> None:
    for value in ("maybe", "yes", ""):
        resp = dev_server.request(
            "GET", "sys/policies/acl", token=ROOT_TOKEN, params={"list": value}
        )
        assert resp.status_code == 400, value
        assert resp.headers["Content-Type"] == JSON
        assert "list" in resp.json()["errors"][0]


def test_an_empty_listing_is_404(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    resp = dev_server.request("LIST", "auth/token/roles", token=ROOT_TOKEN)
    assert (resp.status_code, resp.json()) == (404, {"errors": []})
    assert root_client.list("auth/token/roles") is None
    with pytest.raises(hvac.exceptions.InvalidPath):
        root_client.auth.token.list_roles()


# ---- tokens in headers ---------------------------------------------------------------


def test_bearer_token_and_precedence(dev_server: ServerProcess) -> None:
    def status(headers: dict[str, str]) -> int:
        return dev_server.request("GET", "sys/mounts", headers=headers).status_code

    assert status({"Authorization": f"Bearer {ROOT_TOKEN}"}) == 200
    assert status({"Authorization": f"Basic {ROOT_TOKEN}"}) == 403
    assert status({"Authorization": ROOT_TOKEN}) == 403
    assert status({"X-Vault-Token": ROOT_TOKEN, "Authorization": "Bearer hvs.bogus"}) == 200
    assert status({"X-Vault-Token": "hvs.bogus", "Authorization": f"Bearer {ROOT_TOKEN}"}) == 403


def test_missing_or_bogus_token_is_403(dev_server: ServerProcess) -> None:
    for token in (None, "", "hvs.bogus", "ROOT"):
        resp = dev_server.request("GET", "auth/token/lookup-self", token=token)
        assert resp.status_code == 403, repr(token)
        assert resp.json() == {"errors": ["permission denied"]}
    assert dev_server.client().is_authenticated() is False
    assert dev_server.client("hvs.bogus").is_authenticated() is False
    assert dev_server.client(ROOT_TOKEN).is_authenticated() is True
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client("hvs.bogus").sys.list_mounted_secrets_engines()


def test_request_and_namespace_headers_are_ignored(dev_server: ServerProcess) -> None:
    headers = {"X-Vault-Request": "true", "X-Vault-Namespace": "team-a/"}
    resp = dev_server.request("GET", "sys/mounts", token=ROOT_TOKEN, headers=headers)
    assert resp.status_code == 200
    namespaced = dev_server.client(ROOT_TOKEN, namespace="team-a")
    assert "aws/" in namespaced.sys.list_mounted_secrets_engines()["data"]
    assert namespaced.auth.token.lookup_self()["data"]["id"] == ROOT_TOKEN


def test_a_bad_wrap_ttl_header_is_a_400(dev_server: ServerProcess) -> None:
    resp = dev_server.request(
        "POST", "auth/token/create", token=ROOT_TOKEN, headers={"X-Vault-Wrap-TTL": "-1"}, json={}
    )
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"
    ]


# ---- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"policy": ',
        b"[1, 2]",
        b'"a string"',
        b"42",
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=lambda body: repr(body[:16]),
)
def test_bodies_that_are_not_a_json_object_are_400(dev_server: ServerProcess, body: bytes) -> None:
    resp = dev_server.request("PUT", "sys/policies/acl/from-bad-body", token=ROOT_TOKEN, data=body)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == JSON
    message = resp.json()["errors"][0]
    assert message.startswith("failed to parse JSON input")
    assert "from-bad-body" not in policy_names(dev_server)


def test_a_null_body_is_an_empty_request(dev_server: ServerProcess) -> None:
    """`vault write -f` (and Go's `Logical().Write(path, nil)`) send `null`: no data, as in
    Vault, so a write that needs none succeeds."""
    resp = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN, data=b"null")
    assert resp.status_code == 200, resp.text
    assert resp.json()["auth"]["client_token"]


def test_lone_surrogates_become_replacement_characters(dev_server: ServerProcess) -> None:
    """`\\ud800` is valid JSON but not Unicode; like Go's decoder, the server replaces it."""
    body = b'{"policy": "# \\ud800 lone\\nPATH", "\\udfffkey": ["\\ud83d\\ude00"]}'
    body = body.replace(b"PATH", b'path \\"sys/mounts\\" { capabilities = [\\"read\\"] }')
    resp = dev_server.request("PUT", "sys/policies/acl/surrogate", token=ROOT_TOKEN, data=body)
    assert resp.status_code == 204, resp.text
    read = dev_server.request("GET", "sys/policies/acl/surrogate", token=ROOT_TOKEN)
    assert read.json()["data"]["policy"].startswith("# \ufffd lone\npath")
    meta = b'{"meta": {"k": "a\\udc00b"}, "display_name": "\\ud800", "ttl": "1h"}'
    created = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN, data=meta)
    assert created.status_code == 200, created.text
    assert created.json()["auth"]["metadata"] == {"k": "a\ufffdb"}
    # A surrogate encoded straight into the bytes is invalid UTF-8: replaced the same way.
    raw = b'{"policy": "# \xed\xa0\x80\\nPATH"}'
    raw = raw.replace(b"PATH", b'path \\"sys/mounts\\" { capabilities = [\\"read\\"] }')
    resp = dev_server.request("PUT", "sys/policies/acl/surrogate-raw", token=ROOT_TOKEN, data=raw)
    assert resp.status_code == 204, resp.text
    read = dev_server.request("GET", "sys/policies/acl/surrogate-raw", token=ROOT_TOKEN)
    assert read.json()["data"]["policy"].startswith("# \ufffd\ufffd\ufffd\npath")
    assert "Traceback" not in dev_server.log()


DEPTH_MESSAGE = (
    "failed to parse JSON input: the body nests arrays and objects more than 100 levels deep; "
    "send a flatter body"
)


def audit_failures(server: ServerProcess) -> float:
    text = server.request("GET", "sys/metrics", token=ROOT_TOKEN, params={"format": "prometheus"})
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.text.splitlines()
        if line.startswith("awsbroker_audit_log_failures_total")
    )


def test_deep_nesting_is_400_before_the_core_and_the_audit_see_it(
    dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """600 to 950 levels around an escaped surrogate were a 500 with a RecursionError's
    traceback, token or not; with an audit device on, any body 600 deep failed the audit."""
    audit_log = tmp_path_factory.mktemp("deep-audit") / "audit.log"
    root = dev_server.client(ROOT_TOKEN)
    root.sys.enable_audit_device("file", path="deep", options={"file_path": str(audit_log)})
    try:
        for depth in (101, 600, 800, 950, 5_000):
            body = '{"a":' * depth + '"\\ud800"' + "}" * depth
            for token in (None, ROOT_TOKEN):
                resp = dev_server.request("POST", "auth/token/create", token=token, data=body)
                assert resp.status_code == 400, (depth, token, resp.text[:200])
                assert resp.json() == {"errors": [DEPTH_MESSAGE]}
        ok = {"policy": POLICY, "extra": json.loads('{"a":' * 98 + '"\\ud800"' + "}" * 98)}
        written = dev_server.request("PUT", "sys/policies/acl/deep-ok", token=ROOT_TOKEN, json=ok)
        assert written.status_code in (200, 204), written.text
    finally:
        root.sys.disable_audit_device("deep")
    assert audit_failures(dev_server) == 0
    assert "sys/policies/acl/deep-ok" in audit_log.read_text()
    assert "Traceback" not in dev_server.log()
    assert "RecursionError" not in dev_server.log()


def test_json_is_sniffed_and_forms_are_accepted(dev_server: ServerProcess) -> None:
    sniffed = dev_server.request(
        "PUT",
        "sys/policies/acl/sniffed",
        token=ROOT_TOKEN,
        data=b' {"policy": "path \\"a\\" { capabilities = [\\"read\\"] }"}',
        headers={"Content-Type": "text/plain"},
    )
    assert sniffed.status_code == 204
    form = dev_server.request(
        "PUT",
        "sys/policies/acl/from-form",
        token=ROOT_TOKEN,
        data={"policy": POLICY},
    )
    assert form.status_code == 204
    read = dev_server.request("GET", "sys/policies/acl/from-form", token=ROOT_TOKEN)
    assert read.json()["data"]["policy"] == POLICY
    assert {"sniffed", "from-form"} <= set(policy_names(dev_server))


def test_null_values_mean_not_supplied(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    body = {
        "policies": None, "meta": None, "ttl": None, "explicit_max_ttl": None, "period": None,
        "display_name": None, "num_uses": None, "renewable": None, "id": None, "type": None,
    }  # fmt: skip
    created = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN, json=body)
    assert created.status_code == 200, created.text
    auth = created.json()["auth"]
    assert (auth["policies"], auth["renewable"]) == (["root"], False)
    mount = {"type": "aws", "description": None, "config": None, "options": None,
             "plugin_name": None, "local": False, "seal_wrap": False}  # fmt: skip
    enabled = dev_server.request("POST", "sys/mounts/nulls", token=ROOT_TOKEN, json=mount)
    assert enabled.status_code == 204, enabled.text
    tuned = dev_server.request(
        "POST",
        "sys/mounts/nulls/tune",
        token=ROOT_TOKEN,
        json={"default_lease_ttl": None, "max_lease_ttl": None, "description": None},
    )
    assert tuned.status_code == 204, tuned.text
    assert root_client.sys.read_mount_configuration("nulls")["data"]["max_lease_ttl"] == 768 * 3600
    renewed = dev_server.request(
        "POST", "auth/token/renew-self", token=auth["client_token"], json={"increment": None}
    )
    assert renewed.status_code == 400  # non-renewable root child; the null itself was fine
    assert "renewable" in renewed.json()["errors"][0]


def test_paths_are_normalised(dev_server: ServerProcess) -> None:
    for path in ("/v1/sys//mounts", "/v1//sys/mounts", "/v1/sys/mounts/"):
        resp = dev_server.request("GET", path, token=ROOT_TOKEN)
        assert resp.status_code == 200, path
        assert "aws/" in resp.json()["data"]


ODD_VALUES: list[object] = [
    None, True, 0, -1, 1.5, 2**70, "", "-5s", [], ["a", None], {}, {"a": {"b": 1}}, "1h,2h",
]  # fmt: skip
ODD_TARGETS = {
    "auth/token/create": ["id", "policies", "meta", "no_parent", "ttl", "num_uses", "period"],
    "sys/mounts/aws/tune": ["default_lease_ttl", "max_lease_ttl", "options", "force_no_cache"],
    "sys/mounts/odd": ["type", "config", "options", "local"],
    "sys/policies/acl/odd": ["policy"],
    "sys/capabilities-self": ["paths"],
    "auth/token/lookup": ["token"],
    "auth/token/renew-accessor": ["accessor", "increment"],
    "sys/unseal": ["key", "reset"],
    "sys/init": ["secret_shares", "pgp_keys"],
}


def test_odd_values_never_break_the_server(dev_server: ServerProcess) -> None:
    """Every field, every JSON type: a 2xx or a 4xx with a message, never a 500 or a dropped
    connection (the log would show a traceback)."""
    for path, fields in ODD_TARGETS.items():
        for field in fields:
            for value in ODD_VALUES:
                body = {field: value}
                resp = dev_server.request("POST", path, token=ROOT_TOKEN, json=body)
                assert resp.status_code in (200, 204, 400, 403, 404), (path, body, resp.text)
                if resp.status_code in (400, 403):
                    assert resp.json()["errors"][0], (path, body)
    for code in ("-5", "0", "99", "600", "99999999999999999999", "1e3"):
        resp = dev_server.request("GET", "sys/health", params={"activecode": code})
        assert resp.status_code == 400, code
    assert dev_server.request("GET", "sys/health", params={"activecode": "204"}).status_code == 204
    assert "Traceback" not in dev_server.log()
    dev_server.client(ROOT_TOKEN).sys.disable_secrets_engine("odd")


HUGE = "9" * 400  # past a float's range too


INT64 = "out of range: an integer is from -9223372036854775808 to 9223372036854775807"
DURATION = "a duration is at most 9223372036 seconds"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("auth/token/create", '{"num_uses": 1e300}', f"field 'num_uses': {INT64}"),
        ("auth/token/create", '{"num_uses": 9223372036854775808}', f"field 'num_uses': {INT64}"),
        ("auth/token/create", '{"num_uses": "-9223372036854775809"}', f"field 'num_uses': {INT64}"),
        ("auth/token/create", f'{{"ttl": "{HUGE}"}}', f"field 'ttl': {DURATION}"),
        ("auth/token/create", '{"ttl": 1e300}', f"field 'ttl': {DURATION}"),
        ("auth/token/create", f'{{"period": {HUGE}}}', f"field 'period': {DURATION}"),
        (
            "aws/roles/int64",
            f'{{"credential_type": "assumed_role", "default_sts_ttl": "{HUGE}"}}',
            f"field 'default_sts_ttl': {DURATION}",
        ),
        ("aws/config/root", '{"max_retries": 1e300}', f"field 'max_retries': {INT64}"),
        ("aws/config/lease", f'{{"lease": "{HUGE}", "lease_max": "1h"}}', f"lease: {DURATION}"),
    ],
)
def test_numbers_beyond_go_int64_are_400_naming_the_field(
    dev_server: ServerProcess, path: str, body: str, message: str
) -> None:
    """Go clients decode integers into int64 (and durations into time.Duration): a larger one
    is refused, with the field's name, and nothing is stored."""
    accessors = dev_server.request("LIST", "auth/token/accessors", token=ROOT_TOKEN).json()
    resp = dev_server.request("POST", path, token=ROOT_TOKEN, data=body)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["errors"][0]
    after = dev_server.request("LIST", "auth/token/accessors", token=ROOT_TOKEN).json()
    assert after["data"] == accessors["data"]
    assert dev_server.request("GET", "aws/roles/int64", token=ROOT_TOKEN).status_code == 404
    root = dev_server.request("GET", "aws/config/root", token=ROOT_TOKEN)
    assert root.status_code == 404 or root.json()["data"]["max_retries"] == -1
    assert dev_server.request("GET", "aws/config/lease", token=ROOT_TOKEN).status_code == 404
    assert "Traceback" not in dev_server.log()


def test_int64s_own_limits_are_accepted(dev_server: ServerProcess) -> None:
    body = '{"num_uses": 9223372036854775807, "ttl": 9223372036}'
    resp = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN, data=body)
    assert resp.status_code == 200, resp.text
    token = resp.json()["auth"]["client_token"]
    looked_up = dev_server.request("GET", "auth/token/lookup-self", token=token).json()["data"]
    assert looked_up["num_uses"] == 9223372036854775807 - 1  # this lookup spent one use
    dev_server.request("POST", "auth/token/revoke-self", token=token)


# ---- methods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "sys/seal-status"),
        ("DELETE", "auth/token/lookup-self"),
        ("GET", "auth/token/create"),
        ("PATCH", "sys/mounts"),
        ("PATCH", "sys/policies/acl/default"),
        ("PATCH", "aws/config/root"),
        ("OPTIONS", "sys/mounts"),
        ("TRACE", "sys/mounts"),
        ("BREW", "sys/mounts"),
    ],
)
def test_unsupported_methods_are_405(dev_server: ServerProcess, method: str, path: str) -> None:
    resp = dev_server.request(method, path, token=ROOT_TOKEN)
    assert resp.status_code == 405
    assert resp.headers["Content-Type"] == JSON
    assert "errors" in resp.json()


def test_hvac_maps_405_to_unexpected_error(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.UnexpectedError):
        root_client.adapter.delete("/v1/sys/seal-status")


# ---- request size limit (a config server with max_request_size = 1024) ----------------------


@pytest.fixture(scope="module")
def small_server(module_servers: ServerFactory) -> tuple[ServerProcess, InitResult]:
    server = module_servers.sqlite(settings={"max_request_size": MAX_REQUEST_SIZE})
    init = server.init_and_unseal()
    return server, init


def test_oversized_bodies_are_413_and_write_nothing(
    small_server: tuple[ServerProcess, InitResult],
) -> None:
    server, init = small_server
    token = init.root_token
    padding = "#" * (MAX_REQUEST_SIZE + 10)
    big = {"policy": f"{padding}\n{POLICY}"}
    resp = server.request("PUT", "sys/policies/acl/too-big", token=token, json=big)
    assert resp.status_code == 413
    assert resp.headers["Content-Type"] == JSON
    assert resp.json()["errors"]

    def chunks() -> Iterator[bytes]:
        yield b'{"policy": "'
        for _ in range(20):
            yield b"#" * 100
        yield b'"}'

    chunked = server.request("PUT", "sys/policies/acl/too-big-chunked", token=token, data=chunks())
    assert chunked.status_code == 413
    with pytest.raises(hvac.exceptions.UnexpectedError):
        server.client(token).sys.create_or_update_acl_policy("too-big-hvac", big["policy"])
    names = policy_names(server, token)
    assert not {"too-big", "too-big-chunked", "too-big-hvac"} & set(names)
    # Just under the limit is fine.
    fits = {"policy": "#" * (MAX_REQUEST_SIZE - 200) + "\n" + POLICY}
    assert server.request("PUT", "sys/policies/acl/fits", token=token, json=fits).status_code == 204
    assert "fits" in policy_names(server, token)
