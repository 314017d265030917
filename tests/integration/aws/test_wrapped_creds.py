"""A wrapped credential: the lease is the requesting token's, as unwrapped (Vault's rule: the
lease is registered before the response is wrapped)."""

from __future__ import annotations

import json

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import ALLOW_ALL, AWSWorld, Broker
from tests.support.reliability import wait_for


def test_a_wrapped_credential_keeps_its_lease_with_the_caller(
    aws: AWSWorld, broker: Broker, vault: hvac.Client
) -> None:
    vault.write(
        "aws/roles/wrapped", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL)
    )
    owner = vault.auth.token.create(policies=["root"])["auth"]["client_token"]
    wrapped = broker.server.request(
        "GET", "aws/creds/wrapped", owner, headers={"X-Vault-Wrap-TTL": "5m"}
    )
    assert wrapped.status_code == 200, wrapped.text
    info = wrapped.json()["wrap_info"]
    assert (info["creation_path"], info["ttl"]) == ("aws/creds/wrapped", 300)
    assert wrapped.json()["data"] is None
    assert len(aws.users()) == 1  # issued before it was wrapped

    inner = broker.server.request("POST", "sys/wrapping/unwrap", info["token"]).json()
    lease_id = inner["lease_id"]
    assert lease_id.startswith("aws/creds/wrapped/")
    assert inner["data"]["access_key"].startswith("AKIA")
    assert vault.sys.read_lease(lease_id)["data"]["id"] == lease_id

    # Owned by the token that asked, as an unwrapped one is: revoking it revokes the lease
    # (expired at once, revoked by the expiry worker) and the IAM user.
    vault.auth.token.revoke(owner)
    wait_for(lambda: aws.users() == [], timeout=15, what="the wrapped lease to be revoked")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(lease_id)
