"""Issue 19 section 1 end to end (docs/session-revocation.md): revoking an `assumed_role` or
`federation_token` lease of a role with `session_revocation` puts a deny of the session's
`aws:userid` on the identity it came from (read back from moto), before the lease is gone; a
role without it makes no AWS call. (STS's shortest session is 900 s: removal at expiry, crashes
and drift are proven in process with a manual clock, tests/unit/engines/aws/.)"""

from __future__ import annotations

import json
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import ACCOUNT, AWSWorld, Broker
from tests.support.moto_server import MotoServer
from tests.support.server import ServerFactory

S3_READ = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def deny_policies(aws: AWSWorld, role: str) -> dict[str, Any]:
    iam = aws.iam()
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return {
        n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
        for n in names
        if n.startswith("awsbroker-revoked-")
    }


def user_deny_policies(aws: AWSWorld, user: str, checker: tuple[str, str]) -> dict[str, Any]:
    iam = aws.iam(*checker)
    names = iam.list_user_policies(UserName=user)["PolicyNames"]
    return {
        n: iam.get_user_policy(UserName=user, PolicyName=n)["PolicyDocument"]
        for n in names
        if n.startswith("awsbroker-revoked-")
    }


def as_dict(doc: Any) -> Any:
    return json.loads(doc) if isinstance(doc, str) else doc


def expected(*userids: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsbrokerRevokedSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userid": sorted(userids)}},
            }
        ],
    }


def role_id(aws: AWSWorld, name: str) -> str:
    return str(aws.iam().get_role(RoleName=name)["Role"]["RoleId"])


def assumed(vault: hvac.Client, role: str, ttl: str = "1h") -> dict[str, Any]:
    return dict(vault.secrets.aws.generate_credentials(role, endpoint="sts", ttl=ttl))


def session_of(creds: dict[str, Any]) -> str:
    return str(creds["data"]["arn"]).rsplit("/", 1)[-1]


def test_revoking_an_assumed_role_lease_denies_exactly_that_session(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    arn = aws.create_role("target")
    vault.write(
        "aws/roles/r", credential_type="assumed_role", role_arns=[arn], session_revocation=True
    )
    assert vault.read("aws/roles/r")["data"]["session_revocation"] is True
    first, second = assumed(vault, "r"), assumed(vault, "r")
    assert deny_policies(aws, "target") == {}
    aws.proxy.clear()

    vault.sys.revoke_lease(first["lease_id"])

    userid = f"{role_id(aws, 'target')}:{session_of(first)}"
    (name, doc), *rest = deny_policies(aws, "target").items()
    assert rest == []
    assert as_dict(doc) == expected(userid)
    put = aws.calls("PutRolePolicy")
    assert [c.param("RoleName") for c in put] == ["target"]
    assert put[0].param("PolicyName") == name
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(first["lease_id"])
    assert vault.sys.read_lease(second["lease_id"])["data"]["id"] == second["lease_id"]

    # A second revocation lists both sessions, in the same broker-owned policy.
    vault.sys.revoke_lease(second["lease_id"])
    other = f"{role_id(aws, 'target')}:{session_of(second)}"
    assert {k: as_dict(v) for k, v in deny_policies(aws, "target").items()} == {
        name: expected(userid, other)
    }


def test_without_session_revocation_revoking_makes_no_aws_call(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    arn = aws.create_role("plain")
    vault.write("aws/roles/p", credential_type="assumed_role", role_arns=[arn])
    assert vault.read("aws/roles/p")["data"]["session_revocation"] is False
    creds = assumed(vault, "p")
    aws.proxy.clear()
    vault.sys.revoke_lease(creds["lease_id"])
    assert {"PutRolePolicy", "PutUserPolicy", "DeleteRolePolicy"}.isdisjoint(aws.actions())
    assert deny_policies(aws, "plain") == {}


def test_a_failed_deny_keeps_the_lease_and_is_retried(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    arn = aws.create_role("flaky")
    vault.write(
        "aws/roles/f", credential_type="assumed_role", role_arns=[arn], session_revocation=True
    )
    creds = assumed(vault, "f")
    aws.proxy.inject("PutRolePolicy", 403, "AccessDenied", "not now", times=1)

    with pytest.raises(hvac.exceptions.VaultError):
        vault.sys.revoke_lease(creds["lease_id"])
    assert vault.sys.read_lease(creds["lease_id"])["data"]["id"] == creds["lease_id"]
    assert deny_policies(aws, "flaky") == {}

    vault.sys.revoke_lease(creds["lease_id"])  # the retry
    assert len(deny_policies(aws, "flaky")) == 1


def test_session_revocation_needs_an_sts_type(broker: Broker, aws: AWSWorld) -> None:
    errors = broker.errors(
        "POST",
        "aws/roles/u",
        400,
        json={
            "credential_type": "iam_user",
            "policy_document": S3_READ,
            "session_revocation": True,
        },
    )
    assert "session_revocation is only valid for assumed_role and federation_token" in errors[0]


def test_revoking_a_federation_token_denies_the_federated_user_on_the_broker_user(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    vault.write(
        "aws/roles/fed",
        credential_type="federation_token",
        policy_document=S3_READ,
        session_revocation=True,
    )
    creds = dict(vault.secrets.aws.generate_credentials("fed", endpoint="sts"))
    broker_user = aws.iam().get_user()["User"]["UserName"]
    federated = str(creds["data"]["access_key"]) and aws.calls("GetFederationToken")[0].param(
        "Name"
    )

    # moto does not evaluate the policy's condition: the deny on the broker's own user stops
    # every call of that user there, so the check reads with another admin.
    checker = aws.new_admin("checker")
    vault.sys.revoke_lease(creds["lease_id"])

    docs = user_deny_policies(aws, broker_user, checker)
    assert [as_dict(d) for d in docs.values()] == [expected(f"{ACCOUNT}:{federated}")]


def broker_managed(aws: AWSWorld, user: str) -> list[str]:
    attached = aws.iam().list_attached_user_policies(
        UserName=user, PathPrefix="/awsbroker-revoked/"
    )
    return [p["PolicyArn"] for p in attached["AttachedPolicies"]]


def test_federated_sessions_overflow_the_broker_user_into_a_managed_policy_kept_attached(
    aws: AWSWorld, vault: hvac.Client, moto: MotoServer
) -> None:
    """Past the 2,048 characters of a user's inline policies, the revoked federated sessions
    go on in a managed policy the broker creates and attaches to its own user; one detached by
    hand is attached again by the periodic check (every 15 s on the server)."""
    moto.disable_auth()  # moto's deny on the broker's own user would stop its every call
    try:
        vault.write(
            "aws/roles/fed", credential_type="federation_token", policy_document=S3_READ,
            session_revocation=True,
        )  # fmt: skip
        broker_user = aws.iam().get_user()["User"]["UserName"]
        revoked = 0
        while not broker_managed(aws, broker_user):
            assert revoked < 80, "the revoked sessions never left the inline policy"
            creds = dict(vault.secrets.aws.generate_credentials("fed", endpoint="sts"))
            vault.sys.revoke_lease(creds["lease_id"])
            revoked += 1
        (inline,) = user_deny_policies(aws, broker_user, (aws.access_key, aws.secret_key)).values()
        assert len(json.dumps(as_dict(inline), separators=(",", ":"))) <= 2048
        (arn,) = broker_managed(aws, broker_user)
        assert ":policy/awsbroker-revoked/awsbroker-revoked-" in arn
        names = {c.param("Name") for c in aws.calls("GetFederationToken")}
        listed = as_dict(inline)["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
        iam = aws.iam()
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        overflow = as_dict(
            urllib.parse.unquote(doc["Document"])
            if isinstance(doc["Document"], str)
            else doc["Document"]
        )
        listed += overflow["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
        assert sorted(listed) == sorted(f"{ACCOUNT}:{n}" for n in names)

        iam.detach_user_policy(UserName=broker_user, PolicyArn=arn)
        deadline = time.monotonic() + 45
        while not broker_managed(aws, broker_user):
            assert time.monotonic() < deadline, "the detached policy was not attached again"
            time.sleep(0.5)
        assert broker_managed(aws, broker_user) == [arn]
    finally:
        moto.enable_auth()


def test_a_role_in_another_account_is_refused(broker: Broker, aws: AWSWorld) -> None:
    far = "arn:aws:iam::210987654321:role/elsewhere"
    errors = broker.errors(
        "POST",
        "aws/roles/x",
        400,
        json={"credential_type": "assumed_role", "role_arns": [far], "session_revocation": True},
    )
    assert "cannot write the deny on a role in another account" in errors[0]
    assert far in errors[0]
    assert broker.vault.read("aws/roles/x") is None
    # Without session revocation the same role is fine (Vault's behaviour).
    broker.vault.write("aws/roles/x", credential_type="assumed_role", role_arns=[far])


# --- revoke-sessions: every older session of an identity (aws:TokenIssueTime) -----------------


def cut_statement(issued_before: str) -> dict[str, Any]:
    return {
        "Sid": "AwsbrokerRevokedOlderSessions",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
    }


def lease_gone(vault: hvac.Client, lease_id: str) -> bool:
    try:
        vault.sys.read_lease(lease_id)
    except hvac.exceptions.InvalidRequest:
        return True
    return False


def test_revoke_sessions_of_an_assumed_role_denies_every_older_session_and_revokes_the_leases(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    arn = aws.create_role("cut-target")
    other = aws.create_role("untouched")
    vault.write("aws/roles/ops", credential_type="assumed_role", role_arns=[arn])
    vault.write("aws/roles/ops2", credential_type="assumed_role", role_arns=[arn])
    vault.write("aws/roles/else", credential_type="assumed_role", role_arns=[other])
    first, second = assumed(vault, "ops"), assumed(vault, "ops")
    same_identity = assumed(vault, "ops2")  # another broker role on the same AWS role
    elsewhere = assumed(vault, "else")
    aws.proxy.clear()

    body = broker.ok("POST", "aws/revoke-sessions/ops")

    (cut,) = body["data"]["identities"]
    assert (cut["kind"], cut["name"], cut["account"]) == ("role", "cut-target", ACCOUNT)
    revoked = {first["lease_id"], second["lease_id"], same_identity["lease_id"]}
    assert set(body["data"]["leases_revoked"]) == revoked
    # The exact deny, on the role the sessions come from, and only there.
    (doc,) = deny_policies(aws, "cut-target").values()
    assert as_dict(doc) == {
        "Version": "2012-10-17",
        "Statement": [cut_statement(cut["issued_before"])],
    }
    assert deny_policies(aws, "untouched") == {}
    assert [c.param("RoleName") for c in aws.calls("PutRolePolicy")] == ["cut-target"]
    assert all(lease_gone(vault, lease) for lease in revoked)
    assert not lease_gone(vault, elsewhere["lease_id"])
    # Every lease it revoked was issued before the cut.
    assert cut["issued_before"] < cut["denied_until"]

    # A session issued afterwards works on; revoking it denies it next to the cut.
    later = assumed(vault, "ops")
    assert not lease_gone(vault, later["lease_id"])


def test_revoke_sessions_of_a_session_token_role_cuts_the_broker_user(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write("aws/roles/st", credential_type="session_token")
    vault.write("aws/roles/fed", credential_type="federation_token", policy_document=S3_READ)
    arn = aws.create_role("assumed-elsewhere")
    vault.write("aws/roles/ar", credential_type="assumed_role", role_arns=[arn])
    token = dict(vault.secrets.aws.generate_credentials("st", endpoint="sts"))
    federated = dict(vault.secrets.aws.generate_credentials("fed", endpoint="sts"))
    role_session = assumed(vault, "ar")
    broker_user = aws.iam().get_user()["User"]["UserName"]
    checker = aws.new_admin("checker")  # moto denies every call of the cut user (see above)

    body = broker.ok("POST", "aws/revoke-sessions/st")

    (cut,) = body["data"]["identities"]
    assert (cut["kind"], cut["name"], cut["account"]) == ("user", broker_user, ACCOUNT)
    # Every session of that user ends, so every lease of its sessions is revoked: the
    # federation token's too (of another broker role), not the assumed role's.
    assert set(body["data"]["leases_revoked"]) == {token["lease_id"], federated["lease_id"]}
    assert lease_gone(vault, token["lease_id"])
    assert lease_gone(vault, federated["lease_id"])
    assert not lease_gone(vault, role_session["lease_id"])
    docs = user_deny_policies(aws, broker_user, checker)
    assert [as_dict(d) for d in docs.values()] == [
        {"Version": "2012-10-17", "Statement": [cut_statement(cut["issued_before"])]}
    ]


def test_revoke_sessions_refusals_are_400s_that_write_nothing(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write("aws/roles/keys", credential_type="iam_user", policy_document=S3_READ)
    far = "arn:aws:iam::210987654321:role/elsewhere"
    vault.write("aws/roles/far", credential_type="assumed_role", role_arns=[far])
    aws.proxy.clear()
    assert 'Role "nope" not found' in broker.errors("POST", "aws/revoke-sessions/nope", 400)[0]
    keys = broker.errors("POST", "aws/revoke-sessions/keys", 400)[0]
    assert "iam_user credentials" in keys
    assert "sys/leases/revoke-prefix" in keys
    message = broker.errors("POST", "aws/revoke-sessions/far", 400)[0]
    assert f"cannot write the deny on {far}" in message
    assert "session_revocation_role_arns" in message
    assert aws.mutating_calls() == []


def test_revoke_sessions_that_fails_on_a_later_target_names_the_ones_it_cut(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    """With several target roles the cuts are made one by one: one AWS refuses after another
    was cut leaves that one cut (its leases revoked), and the error says so."""
    arn = aws.create_role("cut-first")
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    vault.write("aws/roles/two", credential_type="assumed_role", role_arns=[arn, missing])
    vault.write("aws/roles/one", credential_type="assumed_role", role_arns=[arn])
    lease = assumed(vault, "one")

    errors = broker.errors("POST", "aws/revoke-sessions/two", 400)

    assert "Error writing the session deny policy on no-such-role" in errors[0]
    assert len(deny_policies(aws, "cut-first")) == 1
    assert lease_gone(vault, lease["lease_id"])
    assert any("role cut-first" in e and "already cut" in e for e in errors), errors


def test_revoke_sessions_is_a_write_the_policy_must_grant(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    arn = aws.create_role("granted")
    vault.write("aws/roles/g", credential_type="assumed_role", role_arns=[arn])
    vault.sys.create_or_update_policy("reader", 'path "aws/*" { capabilities = ["read", "list"] }')
    vault.sys.create_or_update_policy(
        "cutter", 'path "aws/revoke-sessions/g" { capabilities = ["update"] }'
    )
    reader = vault.auth.token.create(policies=["reader"])["auth"]["client_token"]
    cutter = vault.auth.token.create(policies=["cutter"])["auth"]["client_token"]
    refused = broker.server.request("POST", "aws/revoke-sessions/g", token=reader)
    assert refused.status_code == 403
    assert deny_policies(aws, "granted") == {}
    allowed = broker.server.request("POST", "aws/revoke-sessions/g", token=cutter)
    assert allowed.status_code == 200, allowed.text
    assert len(deny_policies(aws, "granted")) == 1


# --- two processes on one PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres
def test_two_nodes_revoking_sessions_of_one_role_at_once_deny_them_all(
    clean_world: AWSWorld, servers: ServerFactory, pg_dsn: str, pg_table: str
) -> None:
    """Two server processes sharing one PostgreSQL revoke sessions of the same role at the same
    time: the policy both rewrite ends up listing every revoked session, and no lease is left
    unrevoked on either node."""
    world = clean_world
    first = servers.postgresql(pg_dsn, pg_table)
    init = first.init_and_unseal()
    second = servers.postgresql(pg_dsn, pg_table)
    second.unseal(init.keys)
    a, b = first.client(init.root_token), second.client(init.root_token)
    a.sys.enable_secrets_engine("aws", path="aws")
    a.secrets.aws.configure_root_iam_credentials(
        world.access_key, world.secret_key, region="us-east-1", iam_endpoint=world.endpoint,
        sts_endpoint=world.endpoint, max_retries=1,
    )  # fmt: skip
    arn = world.create_role("shared")
    a.write("aws/roles/r", credential_type="assumed_role", role_arns=[arn], session_revocation=True)
    issued = [assumed(a if n % 2 else b, "r") for n in range(12)]
    nodes = [a if n % 2 else b for n in range(12)]

    with ThreadPoolExecutor(len(issued)) as pool:
        list(pool.map(lambda pair: pair[0].sys.revoke_lease(pair[1]["lease_id"]),
                      zip(nodes, issued, strict=True)))  # fmt: skip

    rid = role_id(world, "shared")
    (doc,) = deny_policies(world, "shared").values()
    assert as_dict(doc) == expected(*(f"{rid}:{session_of(c)}" for c in issued))
    for creds in issued:
        assert lease_gone(a, creds["lease_id"])
        assert lease_gone(b, creds["lease_id"])

    # One node cuts every older session while the other revokes: no lease is left either.
    more = [assumed(b, "r") for _ in range(6)]
    with ThreadPoolExecutor(4) as pool:
        cut = pool.submit(first.request, "POST", "aws/revoke-sessions/r", init.root_token)
        singles = [pool.submit(b.sys.revoke_lease, c["lease_id"]) for c in more[:3]]
        assert cut.result().status_code == 200, cut.result().text
        for single in singles:
            single.result()
    for creds in more:
        assert lease_gone(a, creds["lease_id"])
        assert lease_gone(b, creds["lease_id"])
    (doc,) = deny_policies(world, "shared").values()
    statements = as_dict(doc)["Statement"]
    assert statements[-1]["Sid"] == "AwsbrokerRevokedOlderSessions"
