"""`config/root`, `config/lease`, roles over HTTP, hvac's `secrets.aws` API, and bad input
that must not reach AWS (rules 1-6, 14, 17, 23-25, 51, 52; role validation in depth is in
tests/unit/engines/aws/test_path_roles.py)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import REGION, AWSWorld, Broker

from awsbroker.engines.aws.username_template import DEFAULT_TEMPLATE

DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
UNKNOWN = "Endpoint ignored these unrecognized parameters: [{}]"


# --- config/root (rules 1-5) -----------------------------------------------------------------


def test_config_root_read_write(bare_aws: AWSWorld, broker: Broker) -> None:
    assert broker.errors("GET", "aws/config/root", 404) == []  # rule 1

    broker.vault.write(
        "aws/config/root", access_key="AKIAEXAMPLE", secret_key="s3cr3t", region="eu-west-1"
    )
    data = broker.vault.read("aws/config/root")["data"]  # rule 2
    assert "secret_key" not in data
    assert "s3cr3t" not in json.dumps(data)
    assert (data["access_key"], data["region"]) == ("AKIAEXAMPLE", "eu-west-1")
    assert data["max_retries"] == -1
    assert data["username_template"] == DEFAULT_TEMPLATE

    broker.vault.write("aws/config/root", username_template="x-{{ random 5 }}")
    broker.vault.write("aws/config/root", access_key="AKIASECOND")  # rule 3
    data = broker.vault.read("aws/config/root")["data"]
    assert (data["access_key"], data["region"]) == ("AKIASECOND", "eu-west-1")
    assert data["username_template"] == DEFAULT_TEMPLATE  # reset when not sent


def test_config_root_via_hvac(aws: AWSWorld, vault: hvac.Client) -> None:
    data = vault.read("aws/config/root")["data"]
    assert data["access_key"] == aws.access_key
    assert (data["region"], data["max_retries"]) == (REGION, 1)
    assert data["iam_endpoint"] == data["sts_endpoint"] == aws.endpoint


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (  # rule 4
            {"sts_endpoint": "http://127.0.0.1:1", "sts_fallback_endpoints": "a,b"}
            | {"sts_fallback_regions": "x"},
            "fallback endpoints and fallback regions must be the same length",
        ),
        (  # rule 5
            {"access_key": "AKIA", "identity_token_audience": "aud"},
            "only one of 'access_key' or 'identity_token_audience' can be set",
        ),
        (
            {"identity_token_audience": "aud"},
            "missing required 'role_arn' when 'identity_token_audience' is set",
        ),
        (
            {"rotation_schedule": "0 * * * *", "rotation_period": "1h"},
            "mutually exclusive fields rotation_schedule and rotation_period were both "
            "specified; only one of them can be provided",
        ),
        ({"rotation_window": "1h"}, "cannot use rotation_window without rotation_schedule"),
    ],
)
def test_config_root_validation(
    bare_aws: AWSWorld, broker: Broker, fields: dict[str, Any], message: str
) -> None:
    assert broker.errors("POST", "aws/config/root", 400, json=fields) == [message]
    assert broker.errors("GET", "aws/config/root", 404) == []  # nothing stored


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *", "0 12 31 4,6 *"])
def test_a_rotation_schedule_that_never_fires_is_a_400_and_stores_nothing(
    aws: AWSWorld, broker: Broker, cron: str
) -> None:
    # It used to be stored, with a 500, and every later write of config/root was a 500 too.
    before = broker.vault.read("aws/config/root")["data"]
    errors = broker.errors("POST", "aws/config/root", 400, json={"rotation_schedule": cron})
    assert errors == [
        f'rotation_schedule "{cron}" never fires: no date matches it; send another, '
        'or "" to turn the schedule off'
    ]
    assert broker.vault.read("aws/config/root")["data"] == before
    broker.vault.write("aws/config/root", region=REGION)  # later writes go through
    broker.vault.write("aws/config/root", rotation_schedule="0 0 29 2 *")  # leap days: it fires
    assert broker.vault.read("aws/config/root")["data"]["next_vault_rotation"].endswith(
        "-02-29T00:00:00Z"
    )
    broker.vault.write("aws/config/root", rotation_schedule="")
    assert broker.vault.read("aws/config/root")["data"]["next_vault_rotation"] is None


def test_a_bare_host_endpoint_is_stored_as_written(bare_aws: AWSWorld, broker: Broker) -> None:
    # hvac's own test writes iam_endpoint="localhost": the SDK for Go reads it as
    # https://localhost, and Vault stores and reads back the string as given.
    broker.vault.secrets.aws.configure_root_iam_credentials(
        access_key="AKIAEXAMPLE", secret_key="s3cr3t", iam_endpoint="localhost"
    )
    broker.vault.write("aws/config/root", sts_endpoint="localhost:4566")
    data = broker.vault.read("aws/config/root")["data"]
    assert (data["iam_endpoint"], data["sts_endpoint"]) == ("localhost", "localhost:4566")
    for bad in ["ftp://localhost", "https://localhost/x?y=1", "local host", "https://"]:
        errors = broker.errors("POST", "aws/config/root", 400, json={"iam_endpoint": bad})
        assert errors == [
            f"invalid endpoint {bad!r}: use host, host:port or a URL such as https://host"
        ]
    assert broker.vault.read("aws/config/root")["data"]["iam_endpoint"] == "localhost"


def test_workload_identity_is_refused(bare_aws: AWSWorld, broker: Broker) -> None:
    fields = {"identity_token_audience": "aud", "role_arn": "arn:aws:iam::1:role/x"}
    errors = broker.errors("POST", "aws/config/root", 400, json=fields)
    assert errors[0].startswith("plugin workload identity not supported")


def test_bad_username_template_refused_at_write(aws: AWSWorld, broker: Broker) -> None:
    # Our difference: Vault stores it and fails every credential request later.
    fields = {"username_template": "{{ nope"}
    errors = broker.errors("POST", "aws/config/root", 400, json=fields)
    assert errors[0].startswith("unable to initialize username template: ")
    assert broker.vault.read("aws/config/root")["data"]["access_key"] == aws.access_key


def test_only_one_key_fails_at_issue(bare_aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/config/root", access_key="AKIAONLY", iam_endpoint=bare_aws.endpoint)
    broker.vault.write("aws/roles/r", credential_type="iam_user")
    errors = broker.errors("GET", "aws/creds/r", 400)
    assert errors == [
        "static AWS client credentials haven't been properly configured "
        "(the access key or secret key were provided but not both)"
    ]
    assert bare_aws.calls() == []


def test_config_write_rebuilds_the_clients(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/roles/r", credential_type="iam_user")
    broker.ok("GET", "aws/creds/r")
    first = aws.calls("CreateUser")[-1].headers["authorization"]
    assert f"Credential={aws.access_key}/" in first

    other_key, other_secret = aws.new_admin("awsbroker-test-admin-2")
    broker.vault.write("aws/config/root", access_key=other_key, secret_key=other_secret)
    broker.ok("GET", "aws/creds/r")
    assert f"Credential={other_key}/" in aws.calls("CreateUser")[-1].headers["authorization"]


def test_max_retries_zero_means_one_attempt(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/config/root", max_retries=0)
    broker.vault.write("aws/roles/r", credential_type="iam_user")
    aws.proxy.inject("CreateUser", 400, "Throttling", "Rate exceeded")
    broker.errors("GET", "aws/creds/r", 502)
    assert len(aws.calls("CreateUser")) == 1


# --- config/lease (rule 6), paths and methods (rules 23, 24, 51, 52) ------------------------


def test_config_lease(bare_aws: AWSWorld, broker: Broker) -> None:
    assert broker.errors("GET", "aws/config/lease", 404) == []
    errors = broker.errors("POST", "aws/config/lease", 400, json={"lease_max": "1h"})
    assert errors == ["'lease' is a required parameter"]
    errors = broker.errors("POST", "aws/config/lease", 400, json={"lease": "1h"})
    assert errors == ["'lease_max' is a required parameter"]
    errors = broker.errors(
        "POST", "aws/config/lease", 400, json={"lease": "abc", "lease_max": "1h"}
    )
    assert errors[0].startswith("Invalid lease:")
    errors = broker.errors("POST", "aws/config/lease", 400, json={"lease": "1h", "lease_max": "x"})
    assert errors[0].startswith("Invalid lease_max:")

    response = broker.request("POST", "aws/config/lease", json={"lease": "30m", "lease_max": "12h"})
    assert (response.status_code, response.content) == (204, b"")
    data = broker.vault.secrets.aws.read_lease_config()["data"]
    assert data == {"lease": "30m0s", "lease_max": "12h0m0s"}


def test_methods_and_routes(bare_aws: AWSWorld, broker: Broker) -> None:
    assert broker.errors("DELETE", "aws/config/root", 405)  # rule 51
    assert broker.errors("DELETE", "aws/config/lease", 405)
    assert broker.errors("GET", "aws/config/rotate-root", 405)  # rule 51
    response = broker.request("DELETE", "aws/roles/missing")  # rule 23
    assert response.status_code == 204
    assert broker.errors("GET", "aws/roles/missing", 404) == []
    assert broker.errors("LIST", "aws/roles", 404) == []
    for path in ("aws/roles/-a", "aws/roles/a.", "aws/creds/@a", "aws/sts/a/b"):  # rule 24
        assert broker.errors("GET", path, 404) == ["unsupported path"], path


def test_unknown_parameters_warn(aws: AWSWorld, broker: Broker) -> None:  # rule 52
    body = broker.ok("GET", "aws/config/root", params={"zz": "1", "aa": "2"})
    assert body["warnings"] == [UNKNOWN.format("aa zz")]
    broker.vault.write("aws/roles/f", credential_type="federation_token", policy_document="{}")
    body = broker.ok("POST", "aws/sts/f", json={"bogus": 1})
    assert body["warnings"] == [UNKNOWN.format("bogus")]
    assert body["data"]["access_key"]


# --- bad input reaches no AWS API ------------------------------------------------------------


class BadInput(NamedTuple):
    method: str
    path: str
    payload: dict[str, Any]
    fragment: str


LEGACY_ARN_ROLE = "legacy-arn"
BAD_INPUTS = [
    BadInput("GET", "aws/creds/missing", {}, 'Role "missing" not found'),  # rule 25
    BadInput("POST", "aws/sts/missing", {}, 'Role "missing" not found'),
    BadInput(  # rule 17
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "policy_document": "not-json"},
        'cannot parse policy document: "not-json"',
    ),
    BadInput(  # rule 14
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "default_sts_ttl": "1h"},
        "default_sts_ttl parameter only valid for",
    ),
    BadInput(  # rule 15
        "POST",
        "aws/roles/r",
        {"credential_type": "session_token", "policy_arns": "arn:aws:iam::aws:policy/x"},
        "cannot supply a policy or role when using credential_type session_token",
    ),
    BadInput(  # rule 16
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "session_tags": "a=b"},
        "cannot supply session_tags when credential_type isn't assumed_role",
    ),
    BadInput(
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "role_arns": "arn:aws:iam::1:role/x"},
        "cannot supply role_arns when credential_type isn't assumed_role",
    ),
    BadInput(
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "user_path": "/" + "a" * 511 + "/"},
        "It must match",
    ),
    BadInput(
        "POST",
        "aws/roles/r",
        {"credential_type": "iam_user", "key_propagation_timeout": "10m"},
        "key_propagation_timeout must be at most 300 seconds",
    ),
    BadInput("GET", f"aws/creds/{LEGACY_ARN_ROLE}", {}, "through the creds path"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: f"{c.method} {c.path} {c.fragment}")
def test_bad_input_creates_nothing(aws: AWSWorld, broker: Broker, case: BadInput) -> None:
    broker.vault.write(f"aws/roles/{LEGACY_ARN_ROLE}", arn="arn:aws:iam::123456789012:role/x")
    kwargs: dict[str, Any] = (
        {"params": case.payload} if case.method == "GET" else {"json": case.payload}
    )
    errors = broker.errors(case.method, case.path, 400, **kwargs)
    assert case.fragment in errors[0], errors
    assert aws.calls() == []
    assert aws.users() == []


def test_role_write_and_read_over_http(aws: AWSWorld, broker: Broker) -> None:  # rule 18
    payload = {"credential_type": "federation_token", "policy_document": json.dumps(DOC, indent=2)}
    response = broker.request("POST", "aws/roles/f", json=payload)
    assert (response.status_code, response.content) == (204, b"")
    data = broker.ok("GET", "aws/roles/f")["data"]
    assert data["policy_document"] == json.dumps(DOC, separators=(",", ":"))
    assert (data["credential_type"], data["default_sts_ttl"]) == ("federation_token", 0)


# --- hvac's secrets.aws API, unchanged ---------------------------------------------------------


def test_hvac_aws_api(bare_aws: AWSWorld, vault: hvac.Client) -> None:
    aws = vault.secrets.aws
    response = aws.configure_root_iam_credentials(
        bare_aws.access_key,
        bare_aws.secret_key,
        region=REGION,
        iam_endpoint=bare_aws.endpoint,
        sts_endpoint=bare_aws.endpoint,
        max_retries=1,
    )
    assert response.status_code == 204

    checker = bare_aws.new_admin("awsbroker-test-admin-checker")
    rotated = aws.rotate_root_iam_credentials()["data"]["access_key"]
    assert rotated != bare_aws.access_key
    keys = bare_aws.iam(*checker).list_access_keys(UserName="awsbroker-test-admin")
    assert [k["AccessKeyId"] for k in keys["AccessKeyMetadata"]] == [rotated]

    assert aws.configure_lease("1h", "2h").status_code == 204
    assert aws.read_lease_config()["data"] == {"lease": "1h0m0s", "lease_max": "2h0m0s"}

    assert aws.create_or_update_role("u", "iam_user", policy_document=DOC).status_code == 204
    assert (
        aws.create_or_update_role(
            "f", "federation_token", policy_document=DOC, default_sts_ttl="15m", max_sts_ttl="1h"
        ).status_code
        == 204
    )
    legacy = aws.create_or_update_role("old", "iam_user", policy_document=DOC, legacy_params=True)
    assert legacy["warnings"] == [
        "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
    ]
    assert aws.read_role("old")["data"]["credential_type"] == "iam_user,federation_token"

    role = aws.read_role("f")["data"]
    assert (role["default_sts_ttl"], role["max_sts_ttl"]) == (900, 3600)
    assert role["policy_document"] == json.dumps(DOC, sort_keys=True, separators=(",", ":"))
    assert sorted(aws.list_roles()["data"]["keys"]) == ["f", "old", "u"]

    user = aws.generate_credentials("u")
    assert user["lease_id"].startswith("aws/creds/u/")
    assert user["lease_duration"] == 3600
    federation = aws.generate_credentials("f", endpoint="sts", ttl="20m")
    assert federation["lease_id"].startswith("aws/sts/f/")
    assert bare_aws.calls("GetFederationToken")[-1].param("DurationSeconds") == "1200"

    assert aws.delete_role("u").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        aws.read_role("u")
    assert sorted(aws.list_roles()["data"]["keys"]) == ["f", "old"]
