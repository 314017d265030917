"""`roles/`: validation messages, merge semantics, legacy upgrades and storage (section 13)."""

from __future__ import annotations

import json

import pytest
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.path_roles import LEGACY_WARNING
from awsbroker.engines.aws.records.role import (
    RoleEntry,
    compact_json,
    go_quote,
    load_role,
    multierror_text,
)
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InvalidRequest, NotFound
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

PREFIX = "error(s) validating supplied role data: "
ROLE_ARN = "arn:aws:iam::123456789012:role/x"
POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DOC = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}'
COMPACT_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}'


@pytest.fixture
def storage() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def b(storage: InmemStorage) -> AWSBackend:
    return AWSBackend(BackendConfig(storage=storage, system=FakeSystemView(), mount_path="aws/"))


def call(b: AWSBackend, op: Operation, path: str, /, **data: JSONValue) -> Response | None:
    return b.handle_request(Request(operation=op, path=path, data=dict(data)))


def write(b: AWSBackend, name: str = "r", /, **data: JSONValue) -> Response | None:
    return call(b, Operation.UPDATE, f"roles/{name}", **data)


def read(b: AWSBackend, name: str = "r", /, **data: JSONValue) -> JSONObject:
    resp = call(b, Operation.READ, f"roles/{name}", **data)
    assert resp is not None
    assert resp.data is not None
    return resp.data


def fail(b: AWSBackend, name: str = "r", /, **data: JSONValue) -> str:
    with pytest.raises(InvalidRequest) as info:
        write(b, name, **data)
    assert len(info.value.messages) == 1
    return info.value.messages[0]


def quoted(*errors: str) -> str:
    """What Vault answers: Go's %q of the multierror text, with literal `\\n` and `\\t`."""
    return PREFIX + go_quote(multierror_text(list(errors)))


# --- validation (rules 7-17) -------------------------------------------------------------


def test_missing_credential_type_exact_message(b: AWSBackend) -> None:  # rule 7
    expected = r'"1 error occurred:\n\t* did not supply credential_type\n\n"'
    assert fail(b) == PREFIX + expected
    assert b.storage.get("role/r") is None


def test_unrecognized_credential_type(b: AWSBackend) -> None:  # rule 8
    assert fail(b, credential_type="foo") == quoted("unrecognized credential type: foo")
    # Vault's GetOk counts "" as supplied: the type list becomes [""].
    assert fail(b, credential_type="") == quoted("unrecognized credential type: ")


def test_role_arns_need_assumed_role(b: AWSBackend) -> None:  # rule 9
    msg = fail(b, credential_type="iam_user", role_arns=ROLE_ARN)
    assert msg == quoted("cannot supply role_arns when credential_type isn't assumed_role")


def test_user_path_needs_iam_user(b: AWSBackend) -> None:  # rule 10
    msg = fail(b, credential_type="federation_token", user_path="/x/")
    assert msg == quoted("user_path parameter only valid for iam_user credential type")


def test_user_path_regex_message_is_quoted_twice(b: AWSBackend) -> None:  # rule 11
    expected = (
        r'"1 error occurred:\n\t* the specified value for user_path is invalid. '
        r'It must match \"^\\\\/([\\\\x21-\\\\x7F]{0,510}\\\\/)?$\" regexp\n\n"'
    )
    assert fail(b, credential_type="iam_user", user_path="x") == PREFIX + expected


@pytest.mark.parametrize("path", ["/a", "a/", "/a b/", "/é/", "/" + "a" * 511 + "/", "/\n/"])
def test_user_path_rejected(b: AWSBackend, path: str) -> None:
    assert "It must match" in fail(b, credential_type="iam_user", user_path=path)


@pytest.mark.parametrize("path", ["/", "/a/", "/a/b-c/", "/" + "a" * 510 + "/", ""])
def test_user_path_accepted(b: AWSBackend, path: str) -> None:
    assert write(b, credential_type="iam_user", user_path=path) is None
    assert read(b)["user_path"] == path


@pytest.mark.parametrize(
    ("arn", "error"),
    [
        ("arn:aws:s3:::b", "expected a service of iam but got s3"),  # rule 12
        ("policy/x", "arn: invalid prefix"),
        ("arn:aws:iam::123", "arn: not enough sections"),
        ("arn:aws:iam::123:role/x", "expected a resource type of policy but got role/x"),
    ],
)
def test_permissions_boundary_arn_errors(b: AWSBackend, arn: str, error: str) -> None:
    msg = fail(b, credential_type="iam_user", permissions_boundary_arn=arn)
    assert msg == quoted(f"invalid permissions_boundary_arn parameter: {error}")


def test_permissions_boundary_arn_valid_and_type_rule(b: AWSBackend) -> None:
    arn = "arn:aws:iam::123456789012:policy/boundary"
    msg = fail(b, credential_type="assumed_role", permissions_boundary_arn=arn)
    assert msg == quoted(
        "cannot supply permissions_boundary_arn when credential_type isn't iam_user"
    )
    assert write(b, credential_type="iam_user", permissions_boundary_arn=arn) is None
    assert read(b)["permissions_boundary_arn"] == arn


def test_bad_boundary_arn_replaces_earlier_errors(b: AWSBackend) -> None:
    msg = fail(
        b,
        credential_type="federation_token",
        user_path="/x/",
        permissions_boundary_arn="nope",
        external_id="e",
    )
    assert msg == quoted(
        "invalid permissions_boundary_arn parameter: arn: invalid prefix",
        "cannot supply external_id when credential_type isn't assumed_role",
    )
    assert msg.startswith(PREFIX + r'"2 errors occurred:\n\t* invalid permissions_boundary_arn')


def test_default_above_max_sts_ttl(b: AWSBackend) -> None:  # rule 13
    msg = fail(b, credential_type="assumed_role", default_sts_ttl="2h", max_sts_ttl="1h")
    expected = (
        r'"1 error occurred:\n\t* \"default_sts_ttl\" value must be less than or equal to '
        r'\"max_sts_ttl\" value\n\n"'
    )
    assert msg == PREFIX + expected


@pytest.mark.parametrize("name", ["default_sts_ttl", "max_sts_ttl"])
def test_sts_ttls_need_an_sts_type(b: AWSBackend, name: str) -> None:  # rule 14
    msg = fail(b, credential_type="iam_user", **{name: "1h"})
    assert msg == quoted(
        f"{name} parameter only valid for assumed_role, federation_token, "
        "and session_token credential types"
    )


@pytest.mark.parametrize("cred", ["assumed_role", "federation_token", "session_token"])
def test_sts_ttls_accepted_for_sts_types(b: AWSBackend, cred: str) -> None:
    assert write(b, credential_type=cred, default_sts_ttl=900, max_sts_ttl="1h") is None
    data = read(b)
    assert (data["default_sts_ttl"], data["max_sts_ttl"]) == (900, 3600)


@pytest.mark.parametrize("field", ["policy_document", "policy_arns"])
def test_session_token_takes_no_policy(b: AWSBackend, field: str) -> None:  # rule 15
    value = DOC if field == "policy_document" else POLICY_ARN
    msg = fail(b, credential_type="session_token", **{field: value})
    assert msg == quoted("cannot supply a policy or role when using credential_type session_token")


def test_session_token_with_mfa_serial(b: AWSBackend) -> None:
    serial = "arn:aws:iam::123456789012:mfa/device"
    assert write(b, credential_type="session_token", mfa_serial_number=serial) is None
    assert read(b)["mfa_serial_number"] == serial


def test_session_tags_and_external_id_need_assumed_role(b: AWSBackend) -> None:  # rule 16
    msg = fail(b, credential_type="iam_user", session_tags="a=b")
    assert msg == quoted("cannot supply session_tags when credential_type isn't assumed_role")
    msg = fail(b, credential_type="iam_user", external_id="x")
    assert msg == quoted("cannot supply external_id when credential_type isn't assumed_role")
    assert write(b, credential_type="assumed_role", session_tags=["a=b"], external_id="x") is None
    data = read(b)
    assert (data["session_tags"], data["external_id"]) == ({"a": "b"}, "x")


def test_all_problems_are_collected_in_order(b: AWSBackend) -> None:
    msg = fail(b, credential_type="iam_user", role_arns=ROLE_ARN, default_sts_ttl=60)
    assert msg == quoted(
        "default_sts_ttl parameter only valid for assumed_role, federation_token, "
        "and session_token credential types",
        "cannot supply role_arns when credential_type isn't assumed_role",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not-json", 'cannot parse policy document: "not-json"'),  # rule 17
        ('{"a":', r'cannot parse policy document: "{\"a\":"'),
        ('{"a": NaN}', r'cannot parse policy document: "{\"a\": NaN}"'),
        ("{}\n{}", r'cannot parse policy document: "{}\n{}"'),
    ],
)
def test_unparsable_policy_document(b: AWSBackend, raw: str, message: str) -> None:
    assert fail(b, credential_type="iam_user", policy_document=raw) == message


# --- successful writes, reads, merge (rules 18-19) -------------------------------------


def test_valid_write_and_read(b: AWSBackend) -> None:  # rule 18
    assert write(b, credential_type="federation_token", policy_document=DOC) is None
    assert read(b) == {
        "credential_type": "federation_token",
        "policy_arns": None,
        "role_arns": None,
        "policy_document": COMPACT_DOC,
        "iam_groups": None,
        "iam_tags": None,
        "session_tags": None,
        "external_id": "",
        "default_sts_ttl": 0,
        "max_sts_ttl": 0,
        "user_path": "",
        "permissions_boundary_arn": "",
        "mfa_serial_number": "",
        "key_propagation_timeout": 0,
        "session_tags_template": None,
        "session_name_template": "",
        "source_identity_template": "",
        "reason_required": False,
        "reason_min_length": 0,
        "reason_session_tag": False,
        "session_revocation": False,  # issue 19 section 1
        "session_revocation_role_arns": [],
    }


def test_compaction_keeps_key_order_and_number_text(b: AWSBackend) -> None:
    raw = '  { "z" : 1.50 ,\n\t"a" : [ 1e3 , -0 ] , "s" : "x  y\\t\\" }" , "n" : null }  '
    assert write(b, credential_type="iam_user", policy_document=raw) is None
    assert read(b)["policy_document"] == '{"z":1.50,"a":[1e3,-0],"s":"x  y\\t\\" }","n":null}'
    assert compact_json("1" * 5000) == "1" * 5000


def test_empty_policy_document_is_stored_as_is(b: AWSBackend) -> None:
    assert write(b, credential_type="iam_user", policy_document=DOC) is None
    assert write(b, policy_document="") is None
    assert read(b)["policy_document"] == ""


def test_collections_and_tags(b: AWSBackend) -> None:
    data: dict[str, JSONValue] = {
        "credential_type": "iam_user",
        "policy_arns": f"{POLICY_ARN},arn:aws:iam::aws:policy/B",
        "iam_groups": ["g1", "g2"],
        "iam_tags": ["team=a", "env=prod"],
    }
    assert write(b, **data) is None
    got = read(b)
    assert got["policy_arns"] == [POLICY_ARN, "arn:aws:iam::aws:policy/B"]
    assert got["iam_groups"] == ["g1", "g2"]
    assert got["iam_tags"] == {"team": "a", "env": "prod"}
    assert write(b, iam_tags={"k": "v"}) is None
    assert read(b)["iam_tags"] == {"k": "v"}


def test_explicitly_emptied_list_reads_as_empty_not_null(b: AWSBackend) -> None:
    assert write(b, credential_type="iam_user", iam_groups="g") is None
    assert write(b, iam_groups="") is None
    data = read(b)
    assert (data["iam_groups"], data["role_arns"]) == ([], None)


def test_merge_keeps_fields_not_sent(b: AWSBackend) -> None:  # rule 19
    assert write(b, credential_type="iam_user", policy_document=DOC, iam_groups="g") is None
    assert write(b, policy_arns=POLICY_ARN) is None
    data = read(b)
    assert data["credential_type"] == "iam_user"
    assert data["policy_document"] == COMPACT_DOC
    assert (data["policy_arns"], data["iam_groups"]) == ([POLICY_ARN], ["g"])


def test_changing_only_the_type_keeps_old_fields_and_can_fail(b: AWSBackend) -> None:
    assert write(b, credential_type="assumed_role", role_arns=ROLE_ARN) is None
    msg = fail(b, credential_type="iam_user")
    assert msg == quoted("cannot supply role_arns when credential_type isn't assumed_role")
    assert read(b)["credential_type"] == "assumed_role"


# --- legacy parameters and storage entries (rules 20-22) -------------------------------


def test_legacy_policy_parameter(b: AWSBackend) -> None:  # rule 20
    resp = write(b, policy=DOC)
    assert resp is not None
    assert (resp.data, resp.warnings) == (None, [LEGACY_WARNING])
    data = read(b)
    assert data["credential_type"] == "iam_user,federation_token"
    assert data["policy_document"] == COMPACT_DOC
    role = load_role(b, "r")
    assert role is not None
    assert (role.prohibit_flexible_cred_path, role.version) == (True, 1)


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("credential_type", "iam_user", "an explicit credential_type"),  # rule 21
        ("role_arns", ROLE_ARN, "role_arns"),
        ("policy_arns", POLICY_ARN, "policy_arns"),
        ("policy_document", "not-json", "policy_document"),
        ("default_sts_ttl", 60, "default_sts_ttl"),
        ("max_sts_ttl", 60, "max_sts_ttl"),
        ("user_path", "/", "user_path"),
        ("permissions_boundary_arn", POLICY_ARN, "permissions_boundary_arn"),
        ("key_propagation_timeout", 10, "key_propagation_timeout"),
    ],
)
def test_legacy_parameter_conflicts(b: AWSBackend, field: str, value: JSONValue, what: str) -> None:
    msg = fail(b, policy=DOC, **{field: value})
    assert msg == f"cannot supply deprecated role or policy parameters with {what}"


def test_legacy_policy_and_arn_together_is_a_400(b: AWSBackend) -> None:  # rule 21
    # Vault answers 500; found by the OpenAPI fuzzer, it is the caller's mistake here.
    assert fail(b, policy=DOC, arn=ROLE_ARN) == "only one of policy or arn should be provided"
    assert call(b, Operation.READ, "roles/r") is None


def test_legacy_role_arn(b: AWSBackend) -> None:  # rule 22
    resp = write(b, arn=ROLE_ARN, iam_groups="dropped")
    assert resp is not None
    assert resp.warnings == [LEGACY_WARNING]
    data = read(b)
    assert (data["credential_type"], data["role_arns"]) == ("assumed_role", [ROLE_ARN])
    assert data["iam_groups"] is None  # the upgrade replaces the whole role
    role = load_role(b, "r")
    assert role is not None
    assert role.prohibit_flexible_cred_path is True


def test_legacy_policy_arn(b: AWSBackend) -> None:
    assert write(b, arn=POLICY_ARN) is not None
    data = read(b)
    assert (data["credential_type"], data["policy_arns"]) == ("iam_user", [POLICY_ARN])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("arn:aws:iam::1:user/x", 'unable to parse supplied data: "arn:aws:iam::1:user/x"'),
        ("arn:aws:iam", 'unable to parse supplied data: "arn:aws:iam"'),
        ('{"a":\n', r'unable to parse supplied data: "{\"a\":\n"'),
    ],
)
def test_legacy_unparsable(b: AWSBackend, value: str, message: str) -> None:
    assert fail(b, policy=value) == message
    assert b.storage.get("role/r") is None


def test_new_style_write_clears_prohibit_flexible_cred_path(b: AWSBackend) -> None:
    assert write(b, arn=ROLE_ARN) is not None
    assert write(b, external_id="e") is None
    role = load_role(b, "r")
    assert role is not None
    assert (role.prohibit_flexible_cred_path, role.external_id) == (False, "e")


def test_legacy_storage_entry_upgraded_on_read(b: AWSBackend, storage: InmemStorage) -> None:
    storage.put("policy/old", b'{\n  "Version": "2012-10-17",\n  "Statement": []\n}')
    assert call(b, Operation.LIST, "roles/") is not None
    data = read(b, "old")
    assert data["credential_type"] == "iam_user,federation_token"
    assert data["policy_document"] == '{"Version":"2012-10-17","Statement":[]}'
    assert storage.get("policy/old") is None
    stored = json.loads(storage.get("role/old") or b"")
    assert (stored["version"], stored["prohibit_flexible_cred_path"]) == (1, True)


def test_legacy_storage_entry_upgraded_by_load_role(b: AWSBackend, storage: InmemStorage) -> None:
    storage.put("policy/old", ROLE_ARN.encode())
    role = load_role(b, "old")
    assert role is not None
    assert (role.credential_types, role.role_arns) == (["assumed_role"], [ROLE_ARN])
    assert role.prohibit_flexible_cred_path is True
    assert storage.get("policy/old") is None
    assert storage.get("role/old") is not None
    assert load_role(b, "missing") is None


def test_invalid_legacy_entry_reads_and_is_cleared_on_write(
    b: AWSBackend, storage: InmemStorage
) -> None:
    storage.put("policy/bad", b"arn:aws:iam::1:user/u")
    data = read(b, "bad")
    assert (data["credential_type"], data["invalid_data"]) == ("", "arn:aws:iam::1:user/u")
    resp = write(b, "bad", credential_type="iam_user")
    assert resp is not None
    assert resp.warnings == ['Invalid data of "arn:aws:iam::1:user/u" cleared out of role']
    assert "invalid_data" not in read(b, "bad")


# --- list, delete, names, unknown parameters (rules 23, 24, 52) -------------------------


def test_missing_role_and_empty_list(b: AWSBackend) -> None:  # rule 23
    assert call(b, Operation.DELETE, "roles/missing") is None
    assert call(b, Operation.READ, "roles/missing") is None
    resp = call(b, Operation.LIST, "roles/")
    assert resp is not None
    assert resp.data == {"keys": []}


def test_list_roles_then_legacy_names(b: AWSBackend, storage: InmemStorage) -> None:
    for name in ("b", "a"):
        assert write(b, name, credential_type="iam_user") is None
    storage.put("policy/z", b"{}")
    storage.put("policy/a", b"{}")
    for path in ("roles", "roles/"):
        resp = call(b, Operation.LIST, path)
        assert resp is not None
        assert resp.data == {"keys": ["a", "b", "a", "z"]}


def test_delete_removes_role_and_legacy_entry(b: AWSBackend, storage: InmemStorage) -> None:
    assert write(b, credential_type="iam_user") is None
    storage.put("policy/r", b"{}")
    assert call(b, Operation.DELETE, "roles/r") is None
    assert (storage.get("role/r"), storage.get("policy/r")) == (None, None)


@pytest.mark.parametrize("name", ["-a", "a-", ".a", "a.", "@a", "a@", "a/b", "é", "a b"])
def test_bad_role_names_match_no_route(b: AWSBackend, name: str) -> None:  # rule 24
    with pytest.raises(NotFound):
        write(b, name, credential_type="iam_user")


@pytest.mark.parametrize("name", ["a", "_", "a-b.c@d", "A1", "a--b"])
def test_good_role_names(b: AWSBackend, name: str) -> None:
    assert write(b, name, credential_type="iam_user") is None
    assert read(b, name)["credential_type"] == "iam_user"


def test_unknown_parameters_warn_when_there_is_a_body(b: AWSBackend) -> None:  # rule 52
    assert write(b, credential_type="iam_user", bogus="x") is None
    resp = call(b, Operation.READ, "roles/r", zz="1", aa="2")
    assert resp is not None
    assert resp.warnings == ["Endpoint ignored these unrecognized parameters: [aa zz]"]
    resp = write(b, "old", policy=DOC, bogus="x")
    assert resp is not None
    assert resp.warnings == [
        LEGACY_WARNING,
        "Endpoint ignored these unrecognized parameters: [bogus]",
    ]


# --- our extension: key_propagation_timeout --------------------------------------------


def test_key_propagation_timeout(b: AWSBackend) -> None:
    assert write(b, credential_type="iam_user", key_propagation_timeout="30s") is None
    assert read(b)["key_propagation_timeout"] == 30
    assert write(b, key_propagation_timeout=300) is None
    msg = fail(b, key_propagation_timeout="301s")
    assert msg == quoted("key_propagation_timeout must be at most 300 seconds")
    msg = fail(b, "s", credential_type="assumed_role", key_propagation_timeout=5)
    assert msg == quoted(
        "key_propagation_timeout parameter only valid for iam_user credential type"
    )


# --- storage record and helpers --------------------------------------------------------


def test_record_uses_vault_layout(b: AWSBackend, storage: InmemStorage) -> None:
    assert write(b, credential_type="assumed_role", role_arns=ROLE_ARN, max_sts_ttl="1h") is None
    stored = json.loads(storage.get("role/r") or b"")
    assert stored["credential_types"] == ["assumed_role"]
    assert stored["max_sts_ttl"] == 3600 * 10**9
    assert (stored["policy_arns"], stored["iam_tags"]) == (None, None)
    assert "invalid_data" not in stored
    assert "prohibit_flexible_cred_path" not in stored


def test_record_is_the_stored_record_decoded(b: AWSBackend, storage: InmemStorage) -> None:
    # What an iam_user lease keeps as its `policy`, without an encode and decode per issuance.
    write(b, credential_type="iam_user", policy_arns=ROLE_ARN.replace(":role/", ":policy/"))
    role = RoleEntry.from_record(storage.get("role/r") or b"")
    assert role.record() == json.loads(role.to_record())


def test_record_written_by_vault_is_read() -> None:
    blob = json.dumps(
        {
            "credential_types": ["assumed_role"],
            "policy_arns": None,
            "role_arns": [ROLE_ARN],
            "policy_document": "",
            "iam_groups": None,
            "iam_tags": None,
            "session_tags": {"a": "b"},
            "external_id": "e",
            "version": 0,
            "default_sts_ttl": 900 * 10**9,
            "max_sts_ttl": 0,
            "user_path": "",
            "permissions_boundary_arn": "",
            "mfa_serial_number": "",
        }
    ).encode()
    role = RoleEntry.from_record(blob)
    assert (role.role_arns, role.default_sts_ttl, role.session_tags) == (
        [ROLE_ARN],
        900,
        {"a": "b"},
    )
    assert RoleEntry.from_record(role.to_record()) == role


def test_go_quote() -> None:
    assert go_quote('a"b\\c') == r'"a\"b\\c"'
    assert go_quote("\x00\x07\x1b\x7f") == r'"\x00\a\x1b\x7f"'
    assert go_quote("é\u00a0\U0001f600\U000e0001") == '"é\\u00a0\U0001f600\\U000e0001"'
    assert go_quote("\ud800") == '"\ufffd"'


def test_legacy_assumed_role_refused_on_creds_path(b: AWSBackend) -> None:  # rule 22
    assert write(b, arn=ROLE_ARN) is not None
    with pytest.raises(InvalidRequest) as info:
        call(b, Operation.READ, "creds/r")
    assert info.value.messages == [
        "attempted to retrieve assumed_role credentials through the creds path; "
        "this is not allowed for legacy roles"
    ]
