"""Console sign-in (issue 19 section 2) end to end: `aws/console/:role` against moto behind the
recording proxy, with AWS's sign-in federation endpoint played by a loopback stand-in that
checks the Session JSON it receives (tests/support/federation_stand_in.py)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import hvac
import hvac.exceptions
import pytest
import requests
from tests.integration.aws.support import ACCOUNT, AWSWorld, Broker
from tests.integration.aws.test_session_revocation import as_dict, deny_policies, expected, role_id
from tests.integration.aws.test_session_tags import tags
from tests.support.federation_stand_in import FederationStandIn
from tests.support.moto_server import MotoServer
from tests.support.server import ServerFactory

ALLOW_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


@pytest.fixture(scope="module")
def stand_in_server(moto: MotoServer) -> Iterator[FederationStandIn]:
    with FederationStandIn(moto.endpoint, "", "") as server:
        yield server


@pytest.fixture
def stand_in(stand_in_server: FederationStandIn, aws: AWSWorld, vault: hvac.Client) -> Any:
    """The stand-in, cleared, and `aws/config/root` pointing at it."""
    stand_in_server.clear()
    stand_in_server.use_admin(aws.access_key, aws.secret_key)
    vault.write("aws/config/root", federation_endpoint=stand_in_server.endpoint)
    aws.proxy.clear()
    return stand_in_server


def login_query(url: str, endpoint: str) -> dict[str, str]:
    assert url.startswith(endpoint + "?"), url
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert all(len(v) == 1 for v in query.values()), query
    return {k: v[0] for k, v in query.items()}


def assumed_role(aws: AWSWorld, vault: hvac.Client, name: str = "ops", **extra: Any) -> str:
    arn = aws.create_role("console-target")
    vault.write("aws/roles/" + name, credential_type="assumed_role", role_arns=[arn], **extra)
    aws.proxy.clear()
    return arn


def federation(vault: hvac.Client, aws: AWSWorld, name: str = "fed", **extra: Any) -> None:
    vault.write(
        "aws/roles/" + name,
        credential_type="federation_token",
        policy_document=ALLOW_S3,
        **extra,
    )
    aws.proxy.clear()


def test_assumed_role_signs_in_with_session_duration(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, stand_in: FederationStandIn
) -> None:
    assumed_role(aws, vault)
    destination = "https://console.aws.amazon.com/s3/home"

    answer = vault.write("aws/console/ops", ttl="2h", destination=destination)

    # One AssumeRole for the session's length, nothing else in AWS.
    assert aws.mutating_calls() == ["AssumeRole"]
    call = aws.calls("AssumeRole")[0]
    assert call.param("DurationSeconds") == "7200"
    session_name = call.param("RoleSessionName")
    # The stand-in got the Session JSON of moto's credentials, and SessionDuration.
    [signin] = stand_in.requests
    assert signin.session_duration == 7200
    assert signin.identity == f"arn:aws:sts::{ACCOUNT}:assumed-role/console-target/{session_name}"
    # The URL: the endpoint's login action with Issuer, Destination and the token it issued.
    data = answer["data"]
    assert set(data) == {"url", "credential_type", "ttl"}  # no keys leave the broker
    assert data["credential_type"] == "assumed_role"
    query = login_query(data["url"], stand_in.endpoint)
    assert query["Action"] == "login"
    assert query["Issuer"] == "awsbroker"
    assert query["Destination"] == destination
    # Under a lease of the session's length, not renewable (STS credentials cannot be).
    assert answer["lease_id"].startswith("aws/console/ops/")
    assert 7100 <= answer["lease_duration"] <= 7200
    assert answer["renewable"] is False
    # The link opens the console (the stand-in's) as that session.
    page = requests.get(data["url"], timeout=10)
    assert page.status_code == 200
    assert session_name in page.text
    assert stand_in.logins[0].destination == destination
    # A sign-in token is single use.
    assert requests.get(data["url"], timeout=10).status_code == 400


def test_federation_token_lasts_its_ttl_without_session_duration(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, stand_in: FederationStandIn
) -> None:
    federation(vault, aws)

    issuer = urllib.parse.quote("https://sso.example.com", safe="")
    answer = broker.ok("GET", f"/v1/aws/console/fed?ttl=20h&issuer={issuer}")

    assert aws.mutating_calls() == ["GetFederationToken"]
    assert aws.calls("GetFederationToken")[0].param("DurationSeconds") == "72000"
    [signin] = stand_in.requests
    assert signin.session_duration is None  # AWS takes the length from the token
    assert signin.identity == "federated-user"
    query = login_query(answer["data"]["url"], stand_in.endpoint)
    assert query["Issuer"] == "https://sso.example.com"
    assert query["Destination"] == "https://console.aws.amazon.com/"
    assert answer["data"]["credential_type"] == "federation_token"
    assert answer["lease_duration"] > 71000


def test_the_lease_is_looked_up_and_revoked_like_the_credentials(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, stand_in: FederationStandIn
) -> None:
    assumed_role(aws, vault)
    lease_id = vault.read("aws/console/ops")["lease_id"]
    lease = vault.sys.read_lease(lease_id)["data"]
    assert lease["id"] == lease_id
    assert lease["renewable"] is False
    aws.proxy.clear()

    vault.sys.revoke_lease(lease_id)

    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(lease_id)
    # STS credentials have nothing to delete in AWS (section 1 adds a deny; not here).
    assert aws.mutating_calls() == []
    # Revoking the role's prefix revokes console leases too.
    second = vault.read("aws/console/ops")["lease_id"]
    vault.sys.revoke_prefix("aws/console/ops")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(second)


def test_revoking_a_console_lease_with_session_revocation_denies_its_session(
    aws: AWSWorld, vault: hvac.Client, stand_in: FederationStandIn
) -> None:
    """The console session is the role session the URL was made from: revoking the lease puts
    the deny of its `aws:userid` on the role before the lease is gone (that the deny stays until
    the console session could end, past the credentials' expiry, is proven with a manual clock:
    tests/unit/engines/aws/test_session_revocation.py)."""
    assumed_role(aws, vault, session_revocation=True)
    answer = vault.write("aws/console/ops", ttl="2h")
    (call,) = aws.calls("AssumeRole")
    session = call.param("RoleSessionName")
    assert deny_policies(aws, "console-target") == {}
    aws.proxy.clear()

    vault.sys.revoke_lease(answer["lease_id"])

    docs = deny_policies(aws, "console-target")
    userid = f"{role_id(aws, 'console-target')}:{session}"
    assert [as_dict(d) for d in docs.values()] == [expected(userid)]
    assert [c.param("RoleName") for c in aws.calls("PutRolePolicy")] == ["console-target"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(answer["lease_id"])


@pytest.mark.parametrize(
    ("credential_type", "extra"),
    [
        ("iam_user", {"policy_document": ALLOW_S3}),
        ("session_token", {}),
    ],
)
def test_iam_user_and_session_token_roles_are_refused(
    aws: AWSWorld,
    broker: Broker,
    stand_in: FederationStandIn,
    credential_type: str,
    extra: dict[str, Any],
) -> None:
    broker.vault.write("aws/roles/nope", credential_type=credential_type, **extra)
    aws.proxy.clear()

    [error] = broker.errors("GET", "/v1/aws/console/nope", 400)

    assert f"credential type {credential_type}" in error
    assert "console sign-in needs assumed_role or federation_token" in error
    assert aws.actions() == []
    assert stand_in.requests == []


def test_unknown_role_is_a_400(aws: AWSWorld, broker: Broker, stand_in: FederationStandIn) -> None:
    assert broker.errors("GET", "/v1/aws/console/missing", 400) == ['Role "missing" not found']


@pytest.mark.parametrize(
    "case",
    [
        ("assumed_role", "10m", "ttl 600s is too short"),
        ("assumed_role", "13h", "ttl 46800s is too long: AWS allows at most 43200s"),
        ("federation_token", "37h", "ttl 133200s is too long: AWS allows at most 129600s"),
    ],
)
def test_ttl_outside_aws_bounds_is_refused_before_any_call(
    aws: AWSWorld, broker: Broker, stand_in: FederationStandIn, case: tuple[str, str, str]
) -> None:
    kind, ttl, message = case
    if kind == "assumed_role":
        assumed_role(aws, broker.vault, "r")
    else:
        federation(broker.vault, aws, "r")

    [error] = broker.errors("GET", f"/v1/aws/console/r?ttl={ttl}", 400)

    assert message in error
    assert aws.actions() == []
    assert stand_in.requests == []


def test_ttl_is_capped_by_the_role(
    aws: AWSWorld, vault: hvac.Client, stand_in: FederationStandIn
) -> None:
    assumed_role(aws, vault, max_sts_ttl="1h")

    answer = vault.write("aws/console/ops", ttl="3h")

    assert aws.calls("AssumeRole")[0].param("DurationSeconds") == "3600"
    assert stand_in.requests[0].session_duration == 3600
    assert answer["lease_duration"] <= 3600


def test_a_refused_sign_in_is_a_502_and_leaves_no_lease(
    aws: AWSWorld, broker: Broker, vault: hvac.Client, stand_in: FederationStandIn
) -> None:
    assumed_role(aws, vault)
    stand_in.refuse = 400

    [error] = broker.errors("GET", "/v1/aws/console/ops", 502)

    assert error == "the federation endpoint refused the session: HTTP 400"
    leases = broker.request("LIST", "/v1/sys/leases/lookup/aws/console/ops/")
    assert leases.status_code == 404


@pytest.mark.parametrize(
    "destination",
    ["http://console.aws.amazon.com/", "console.aws.amazon.com", "https:///x", "https://a b/"],
)
def test_bad_destination_is_refused_before_any_call(
    aws: AWSWorld,
    broker: Broker,
    vault: hvac.Client,
    stand_in: FederationStandIn,
    destination: str,
) -> None:
    assumed_role(aws, vault)
    [error] = broker.errors("POST", "/v1/aws/console/ops", 400, json={"destination": destination})
    assert error.startswith("invalid destination")
    assert aws.actions() == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "signin.aws.amazon.com/federation",
        "ftp://signin.aws.amazon.com/federation",
        "https://signin.aws.amazon.com/federation?x=1",
        "https://signin.aws.amazon.com/federation#x",
        "https://sign in.aws.amazon.com/federation",
        "https:///federation",
    ],
)
def test_bad_federation_endpoint_is_refused_and_nothing_written(
    aws: AWSWorld, broker: Broker, vault: hvac.Client, endpoint: str
) -> None:
    [error] = broker.errors(
        "POST", "/v1/aws/config/root", 400, json={"federation_endpoint": endpoint}
    )
    assert error.startswith("invalid federation_endpoint")
    assert vault.read("aws/config/root")["data"]["federation_endpoint"] == ""


def test_federation_endpoint_reads_back_and_is_kept_by_later_writes(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    assert vault.read("aws/config/root")["data"]["federation_endpoint"] == ""
    url = "https://signin.amazonaws-us-gov.com/federation"
    vault.write("aws/config/root", federation_endpoint=url)
    vault.write("aws/config/root", max_retries=2)
    assert vault.read("aws/config/root")["data"]["federation_endpoint"] == url


# --- two processes on one PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres
def test_two_nodes_share_the_endpoint_and_the_lease(
    clean_world: AWSWorld,
    stand_in_server: FederationStandIn,
    servers: ServerFactory,
    pg_dsn: str,
    pg_table: str,
) -> None:
    """`federation_endpoint` written on one node is the one the other uses at its next
    request, and a console lease issued by one is looked up and revoked on the other."""
    world = clean_world
    access_key, secret_key = world.access_key, world.secret_key
    stand_in_server.clear()
    stand_in_server.use_admin(access_key, secret_key)
    first = servers.postgresql(pg_dsn, pg_table)
    init = first.init_and_unseal()
    second = servers.postgresql(pg_dsn, pg_table)
    second.unseal(init.keys)
    a, b = first.client(init.root_token), second.client(init.root_token)
    a.sys.enable_secrets_engine("aws", path="aws")
    a.secrets.aws.configure_root_iam_credentials(
        access_key, secret_key, region="us-east-1", iam_endpoint=world.endpoint,
        sts_endpoint=world.endpoint, max_retries=1,
    )  # fmt: skip
    arn = world.create_role("console-target")
    a.write("aws/roles/ops", credential_type="assumed_role", role_arns=[arn])
    a.write("aws/config/root", federation_endpoint=stand_in_server.endpoint)

    lease_id = b.write("aws/console/ops")["lease_id"]  # B signs in at A's endpoint

    assert len(stand_in_server.requests) == 1
    assert a.sys.read_lease(lease_id)["data"]["id"] == lease_id
    a.sys.revoke_lease(lease_id)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        b.sys.read_lease(lease_id)
    # An endpoint moved on B is A's at once: nothing listens there, so A's sign-in is a 502.
    b.write("aws/config/root", federation_endpoint="http://127.0.0.1:9/federation")
    answer = first.request("GET", "aws/console/ops", init.root_token)
    assert answer.status_code == 502
    assert "the federation endpoint could not be reached" in answer.json()["errors"][0]
    assert len(stand_in_server.requests) == 1


def test_a_console_link_takes_a_reason_as_credentials_do(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, stand_in: FederationStandIn
) -> None:
    """The reason (engines/aws/reason.py) on `aws/console/`: required by the role, sent to AWS as
    the `awsbroker:reason` session tag, and shown in the lease lookup."""
    assumed_role(aws, vault, reason_required=True, reason_min_length=5, reason_session_tag=True)

    refused = broker.request("POST", "aws/console/ops", json={})
    assert refused.status_code == 400, refused.text
    assert "requires a reason" in refused.json()["errors"][0]
    assert aws.calls("AssumeRole") == []
    assert stand_in.requests == []

    body = broker.ok("POST", "aws/console/ops", json={"reason": "INC-7 look at the S3 console"})
    [call] = aws.calls("AssumeRole")
    assert tags(call) == {"awsbroker:reason": "INC-7 look at the S3 console"}
    lookup = broker.ok("PUT", "sys/leases/lookup", json={"lease_id": body["lease_id"]})
    assert lookup["data"]["reason"] == "INC-7 look at the S3 console"
