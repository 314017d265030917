"""Templates of who asked (session_templates.py): the fields they may read, the write-time
refusals, and how rendered values are made to fit AWS's characters and lengths."""

from __future__ import annotations

import hashlib
import json

import pytest
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws import session_templates as st
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.gotemplate import parse
from awsbroker.sdk.logical import CallerIdentity, JSONValue, Operation, Request

CALLER = CallerIdentity(
    display_name="token-ci",
    metadata={"repository": "org/app", "ref": "refs/heads/main"},
    policies=("default", "ci"),
    auth_mount_path="auth/token/",
    auth_mount_type="token",
    auth_mount_accessor="auth_token_00000000",
)
DATA = st.identity_data(CALLER, "deploy", "assumed_role")


def render(text: str) -> str:
    return st.render("t", text, DATA, 0.0)


# ---- the language: maps read by key, and the fields a template reads --------------------------


def test_fields_read_by_a_template_in_every_branch() -> None:
    template = parse(
        '{{ if eq .AuthMethod "jwt" }}{{ .Metadata.repository }}{{ else }}'
        '{{ printf "%s" (.DisplayName | lowercase) }}{{ end }}'
    )
    assert template.fields() == [("AuthMethod",), ("Metadata", "repository"), ("DisplayName",)]


def test_every_field_renders_from_the_callers_identity() -> None:
    text = " ".join(f"{{{{.{name}}}}}" for name in st.STRING_FIELDS)
    assert render(text) == (
        "token-ci deploy deploy assumed_role token auth/token/ auth_token_00000000 ci,default"
    )
    assert render("{{.Metadata.repository}}@{{.Metadata.ref}}") == "org/app@refs/heads/main"


def test_a_missing_metadata_key_reads_empty_and_a_fallback_can_replace_it() -> None:
    assert render('{{ or .Metadata.namespace "none" }}') == "none"
    with pytest.raises(InvalidRequest, match="t rendered empty for this token"):
        render("{{ .Metadata.namespace }}")


def test_whitespace_only_is_empty_and_surrounding_whitespace_goes() -> None:
    assert render("  {{.DisplayName}}\n") == "token-ci"
    with pytest.raises(InvalidRequest, match="rendered empty"):
        render("   ")


def test_no_caller_reads_empty() -> None:
    data = st.identity_data(None, "deploy", "federation_token")
    assert st.render("t", "{{.RoleName}}/{{.DisplayName}}", data, 0.0) == "deploy/"


def test_a_render_error_is_a_400_naming_the_field() -> None:
    data = st.identity_data(
        CallerIdentity("x", {"b": "not base64!"}, (), "", "", ""), "r", "assumed_role"
    )
    with pytest.raises(InvalidRequest, match=r"^session_name_template: cannot render"):
        st.render(st.NAME_FIELD, "{{ decode_base64 .Metadata.b }}", data, 0.0)


# ---- write time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ .DisplayName ", "cannot parse: template: template:1:1: unclosed action"),
        ("{{ nosuch .DisplayName }}", 'cannot parse: template: template:1:4: function "nosuch"'),
        ("{{ .Token }}", "unknown field .Token (available: .DisplayName, .PolicyName,"),
        ("{{ .Metadata }}", "field .Metadata: read one key of Metadata, as .Metadata.<key>"),
        ("{{ .Metadata.a.b }}", "field .Metadata.a.b: read one key of Metadata"),
        ("{{ .DisplayName.x }}", "field .DisplayName.x: DisplayName is a string and has no fields"),
        ("{{ truncate 0 .DisplayName }}", "cannot render: template: template:1:4: executing"),
        ("{{ printf 1 }}", "cannot render:"),
    ],
)
def test_template_problems(text: str, problem: str) -> None:
    problems = st.template_problems("session_name_template", text)
    assert len(problems) == 1
    assert problems[0].startswith(f"session_name_template: {problem}"), problems


def test_unknown_fields_are_found_in_branches_never_taken() -> None:
    text = '{{ if eq .AuthMethod "nope" }}{{ .Secret }}{{ else }}x{{ end }}'
    assert st.template_problems("f", text)[0].startswith("f: unknown field .Secret")


def test_good_templates_have_no_problems() -> None:
    for text in ("static", "{{.Metadata.repository}}", '{{ or .Metadata.x "none" | truncate 8 }}'):
        assert st.template_problems("f", text) == []


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "must be 1 to 128 characters"),
        ("k" * 129, "must be 1 to 128 characters"),
        ("a,b", "may hold only letters, numbers, spaces and _.:/=+-@"),
        ("AWS:thing", "may not start with aws:"),
    ],
)
def test_bad_tag_keys(key: str, problem: str) -> None:
    assert problem in st.tag_key_problems(key)[0]


def test_good_tag_keys() -> None:
    for key in ("repository", "k" * 128, "a b_.:/=+-@", "équipe", "x:aws:"):
        assert st.tag_key_problems(key) == []


def test_a_key_set_twice_is_refused_whatever_its_case() -> None:
    problems = st.duplicate_tag_keys({"Team": "a"}, {"team": "{{.DisplayName}}"})
    assert problems == [
        "session_tags_template: tag key 'team' is also set by session_tags['Team'] (AWS tag "
        "keys ignore case); set each key once"
    ]
    assert st.duplicate_tag_keys({"a": "1"}, {"b": "x"}) == []


def test_more_than_fifty_tags_are_refused() -> None:
    static = {f"s{i}": "v" for i in range(30)}
    templated = {f"t{i}": "x" for i in range(21)}
    assert "more than 50 tags" in st.duplicate_tag_keys(static, templated)[0]


# ---- issue time: fitting AWS's characters and lengths -----------------------------------------


def test_names_replace_characters_aws_refuses() -> None:
    assert st.fit_name("n", "org/app:main é", 64) == "org_app_main__"


def test_a_long_name_is_cut_with_a_digest_of_the_whole() -> None:
    long_a, long_b = "a" * 70 + "x", "a" * 70 + "y"
    cut_a, cut_b = st.fit_name("n", long_a, 64), st.fit_name("n", long_b, 64)
    assert len(cut_a) == len(cut_b) == 64
    assert cut_a == "a" * 47 + "-" + hashlib.sha256(long_a.encode()).hexdigest()[:16]
    assert cut_a != cut_b
    assert len(st.fit_name("n", "b" * 40, st.FEDERATION_NAME_MAX)) == 32
    assert st.fit_name("n", "b" * 64, 64) == "b" * 64


def test_a_name_under_two_characters_is_a_400() -> None:
    with pytest.raises(InvalidRequest, match="AWS needs at least 2 characters"):
        st.fit_name("session_name_template", "x", 64)


def test_tag_values_keep_letters_numbers_spaces_and_aws_punctuation() -> None:
    assert st.fit_tag_value("org/app main:1 é=+-@_.") == "org/app main:1 é=+-@_."
    assert st.fit_tag_value('a,b;c"d\n') == "a_b_c_d_"
    value = st.fit_tag_value("v" * 300)
    assert len(value) == 256
    assert value.startswith("v" * 239 + "-")


def test_shape_renders_each_template_and_leaves_unset_ones_none() -> None:
    shaped = st.shape(
        tags={"repository": "{{.Metadata.repository}}"},
        session_name="{{.DisplayName}}-{{.RoleName}}",
        source_identity="",
        data=DATA,
        name_limit=64,
        now=0.0,
    )
    assert shaped == st.Shaped("token-ci-deploy", None, {"repository": "org/app"})
    assert st.shape(
        tags={}, session_name="", source_identity="", data=DATA, name_limit=64, now=0
    ) == (st.Shaped())


# ---- the role fields --------------------------------------------------------------------------


@pytest.fixture
def b() -> AWSBackend:
    config = BackendConfig(storage=InmemStorage(), system=FakeSystemView(), mount_path="aws/")
    return AWSBackend(config)


def write(b: AWSBackend, **data: JSONValue) -> None:
    b.handle_request(Request(Operation.UPDATE, "roles/r", dict(data)))


def error(b: AWSBackend, **data: JSONValue) -> str:
    with pytest.raises(InvalidRequest) as info:
        write(b, **data)
    return info.value.messages[0]


ROLE = {"credential_type": "assumed_role", "role_arns": "arn:aws:iam::123456789012:role/x"}


def test_templates_are_stored_and_read_back(b: AWSBackend) -> None:
    tags: dict[str, JSONValue] = {"repository": "{{.Metadata.repository}}"}
    write(b, **ROLE, session_tags_template=tags, session_name_template="{{.DisplayName}}")
    write(b, source_identity_template="{{.DisplayName}}")  # a later write keeps the others
    response = b.handle_request(Request(Operation.READ, "roles/r"))
    assert response is not None
    assert response.data is not None
    assert response.data["session_tags_template"] == tags
    assert response.data["session_name_template"] == "{{.DisplayName}}"
    assert response.data["source_identity_template"] == "{{.DisplayName}}"


def test_a_role_without_templates_keeps_vaults_record(b: AWSBackend) -> None:
    write(b, **ROLE)
    record = json.loads(b.storage.get("role/r") or b"")
    assert not {k for k in record if "template" in k}


def test_a_bad_template_is_refused_naming_the_field(b: AWSBackend) -> None:
    message = error(b, **ROLE, session_tags_template={"repo": "{{ .Nope }}"})
    assert "session_tags_template['repo']: unknown field .Nope" in message
    assert "session_name_template: cannot parse" in error(
        b, **ROLE, session_name_template="{{ if }}"
    )


def test_templates_need_an_sts_type_and_source_identity_needs_assumed_role(b: AWSBackend) -> None:
    message = error(b, credential_type="iam_user", session_name_template="x{{.DisplayName}}")
    assert "cannot supply session_name_template when credential_type isn't assumed_role or " in (
        message
    )
    doc = '{"Version":"2012-10-17","Statement":[]}'
    message = error(
        b, credential_type="federation_token", policy_document=doc, source_identity_template="x"
    )
    assert "cannot supply source_identity_template when credential_type isn't assumed_role" in (
        message
    )
    write(
        b, credential_type="federation_token", policy_document=doc, session_tags_template={"a": "b"}
    )


def test_a_key_in_both_static_and_templated_tags_is_refused(b: AWSBackend) -> None:
    message = error(b, **ROLE, session_tags=["team=a"], session_tags_template={"TEAM": "x"})
    assert "tag key 'TEAM' is also set by session_tags['team']" in message


def test_the_caller_may_not_name_a_templated_session(b: AWSBackend) -> None:
    write(b, **ROLE, session_name_template="{{.DisplayName}}")
    request = Request(Operation.UPDATE, "sts/r", {"role_session_name": "mine"}, caller=CALLER)
    with pytest.raises(InvalidRequest, match="names its sessions by its session_name_template"):
        b.handle_request(request)


@pytest.mark.parametrize(("depth", "stage"), [(400, "cannot render"), (5000, "cannot parse")])
def test_a_template_nested_too_deeply_is_refused_not_a_crash(depth: int, stage: str) -> None:
    text = "{{" + "(" * depth + ".DisplayName" + ")" * depth + "}}"
    assert st.template_problems("f", text) == [
        f"f: {stage}: template: template: nests too deeply (parentheses, pipelines or {{{{if}}}}s)"
    ]
