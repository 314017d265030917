"""A workload that logs in with AppRole gets AWS credentials through its policy, and revoking
its token, or disabling the auth mount, revokes them: the real dev server, hvac, and moto
behind the recording proxy."""

from __future__ import annotations

import json

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import ALLOW_ALL, AWSWorld, Broker
from tests.integration.aws.test_iam_user_creds import issued_name, poll, rejected

READ_CREDS = 'path "aws/creds/u" { capabilities = ["read"] }'


def test_an_approle_token_reads_credentials_and_its_revocation_revokes_them(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write("aws/roles/u", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL))
    vault.sys.create_or_update_policy("aws-u", READ_CREDS)
    vault.sys.enable_auth_method("approle")
    try:
        vault.auth.approle.create_or_update_approle("ci", token_policies=["aws-u"])
        role_id = vault.auth.approle.read_role_id("ci")["data"]["role_id"]
        secret_id = vault.auth.approle.generate_secret_id("ci")["data"]["secret_id"]
        workload = broker.server.client()
        workload.auth.approle.login(role_id, secret_id)  # hvac keeps the token

        creds = workload.secrets.aws.generate_credentials("u")
        assert issued_name(aws).startswith("vault-approle-u-")  # the login's display name
        assert aws.caller_arn(creds["data"]).endswith(issued_name(aws))
        with pytest.raises(hvac.exceptions.Forbidden):  # only what its policy allows
            workload.sys.list_mounted_secrets_engines()

        vault.auth.token.revoke(workload.token)
        assert poll(lambda: aws.users() == []), "the login token's lease was not revoked"
        assert rejected(aws, creds["data"]) == "InvalidClientTokenId"

        secret_id = vault.auth.approle.generate_secret_id("ci")["data"]["secret_id"]
        workload.auth.approle.login(role_id, secret_id)
        again = workload.secrets.aws.generate_credentials("u")
        assert len(aws.users()) == 1
    finally:
        vault.sys.disable_auth_method("approle")
    assert poll(lambda: aws.users() == []), "disabling the mount did not revoke the lease"
    assert rejected(aws, again["data"]) == "InvalidClientTokenId"
