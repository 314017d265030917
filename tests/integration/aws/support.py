"""Helpers of the AWS engine's integration tests: the AWS world (moto behind the recording
proxy) and the broker (a dev server driven by hvac and raw HTTP)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import hvac
import requests
from mypy_boto3_iam import IAMClient
from mypy_boto3_sts import STSClient
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.moto_server import ADMIN_USER, MotoServer, moto_client
from tests.support.server import ROOT_TOKEN, ServerProcess

REGION = "us-east-1"
ACCOUNT = "123456789012"
MOUNT = "aws"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# Rule 31: vault-<display>-<role>-<10-digit unix time>-<random>, at most 64 characters.
IAM_NAME = r"vault-root-{role}-\d{{10}}-[0-9A-Za-z]+"
STS_NAME = re.compile(r"vault-\d{10}-[0-9A-Za-z]{15}")
# Calls that change something in AWS (or hand out credentials).
MUTATING = frozenset(
    {
        "CreateUser",
        "TagUser",
        "AttachUserPolicy",
        "PutUserPolicy",
        "AddUserToGroup",
        "CreateAccessKey",
        "DeleteAccessKey",
        "DetachUserPolicy",
        "DeleteUserPolicy",
        "RemoveUserFromGroup",
        "DeleteUser",
        "AssumeRole",
        "GetFederationToken",
        "GetSessionToken",
    }
)


def iam_name(role: str) -> re.Pattern[str]:
    return re.compile(IAM_NAME.format(role=re.escape(role)))


@dataclass
class AWSWorld:
    """moto, the proxy in front of it, and the admin key the `aws/` mount is configured with."""

    moto: MotoServer
    proxy: AWSProxy
    access_key: str
    secret_key: str
    _clients: list[Any] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """What the broker is pointed at: the recording proxy."""
        return self.proxy.endpoint

    def _client(self, service: str, access_key: str, secret_key: str, token: str | None) -> Any:
        client = moto_client(self.moto.endpoint, service, access_key, secret_key, token)
        self._clients.append(client)
        return client

    def iam(self, access_key: str | None = None, secret_key: str | None = None) -> IAMClient:
        """An IAM client straight to moto (not recorded), as the admin unless keys are given."""
        client: IAMClient = self._client(
            "iam", access_key or self.access_key, secret_key or self.secret_key, None
        )
        return client

    def sts(self, access_key: str, secret_key: str, token: str | None = None) -> STSClient:
        client: STSClient = self._client("sts", access_key, secret_key, token)
        return client

    def caller_arn(self, data: dict[str, Any]) -> str:
        """GetCallerIdentity with credentials the broker issued (`data` of its response)."""
        sts = self.sts(data["access_key"], data["secret_key"], data.get("security_token"))
        return sts.get_caller_identity()["Arn"]

    def users(self) -> list[str]:
        """IAM user names, without the admin users the tests made."""
        names = [u["UserName"] for u in self.iam().list_users()["Users"]]
        return [n for n in names if not n.startswith(ADMIN_USER)]

    def new_admin(self, name: str) -> tuple[str, str]:
        """Another IAM user allowed everything; its (access key id, secret key)."""
        iam = self.iam()
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=json.dumps(ALLOW_ALL))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def create_role(self, name: str, *, external_id: str | None = None) -> str:
        """An IAM role anyone may assume (and tag sessions of); its ARN."""
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
        if external_id is not None:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        trust = {"Version": "2012-10-17", "Statement": [statement]}
        role = self.iam().create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        return role["Role"]["Arn"]

    def calls(self, action: str | None = None) -> list[Call]:
        return self.proxy.calls(action)

    def actions(self) -> list[str]:
        return [c.action for c in self.proxy.calls()]

    def mutating_calls(self) -> list[str]:
        return [c.action for c in self.proxy.calls() if c.action in MUTATING]

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


@dataclass
class Broker:
    """The dev server: an hvac client with the root token, and raw HTTP for status checks."""

    server: ServerProcess
    vault: hvac.Client

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.server.request(method, path, token=ROOT_TOKEN, **kwargs)

    def errors(self, method: str, path: str, status: int, **kwargs: Any) -> list[str]:
        """Make a request that must fail with `status`; its `errors`."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        errors: list[str] = response.json()["errors"]
        return errors

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Make a request that must answer 200; its JSON body."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body


def fresh_mount(vault: hvac.Client, path: str) -> None:
    """Revoke (forced) every lease under `path`, then disable and re-enable the mount."""
    mounts = vault.sys.list_mounted_secrets_engines()["data"]
    if f"{path}/" in mounts:
        vault.sys.revoke_force(f"{path}/")
        vault.sys.disable_secrets_engine(path)
    vault.sys.enable_secrets_engine("aws", path=path)


def configure(
    vault: hvac.Client, world: AWSWorld, mount: str = MOUNT, key: tuple[str, str] | None = None
) -> None:
    """Write `<mount>/config/root`: the admin's key (or `key`), the proxy, max_retries=1."""
    access_key, secret_key = key or (world.access_key, world.secret_key)
    vault.secrets.aws.configure_root_iam_credentials(
        access_key,
        secret_key,
        region=REGION,
        iam_endpoint=world.endpoint,
        sts_endpoint=world.endpoint,
        max_retries=1,
        mount_point=mount,
    )
