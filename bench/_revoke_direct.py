"""The baseline of benchmark 2: the AWS calls of revoking IAM users, made directly with boto3.

Run as a separate process (`python -m bench._revoke_direct`), as the server is, so that its
client-side CPU does not compete for the GIL of the process hosting moto and the proxy. Reads
`{"endpoint", "access_key", "secret_key", "region", "max_retries", "workers", "users"}` as
JSON on stdin and prints `{"seconds", "cpu_seconds", "users", "failed"}`.

`delete_user` mirrors `awsbroker.engines.aws.iam_user.delete_user` and `_delete_extras` call
for call, with a boto3 client configured as the engine's (`transport/boto.py`) and shared
by `workers` threads, as the engine's cached client is shared by the expiry worker's pool.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3

from awsbroker.engines.aws.records.root_config import RootConfig
from awsbroker.engines.aws.transport.boto import client_config
from awsbroker.engines.aws.transport.errors import AWS_ERRORS

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


def client(spec: dict[str, Any]) -> IAMClient:
    """An IAM client made as the engine makes its own (`MountClients.iam`)."""
    root = RootConfig(
        access_key=spec["access_key"],
        secret_key=spec["secret_key"],
        region=spec["region"],
        iam_endpoint=spec["endpoint"],
        max_retries=int(spec["max_retries"]),
    )
    return boto3.session.Session(
        aws_access_key_id=root.access_key, aws_secret_access_key=root.secret_key
    ).client(
        "iam",
        region_name=root.region,
        endpoint_url=root.iam_endpoint,
        config=client_config(root.max_retries),
    )


def _best_effort(step: Any) -> None:
    # The engine logs any failure but NoSuchEntity and carries on (`_delete_extras`).
    with contextlib.suppress(*AWS_ERRORS):
        step()


def delete_user(iam: IAMClient, name: str) -> None:
    groups = iam.list_groups_for_user(UserName=name, MaxItems=1000)["Groups"]
    inline = iam.list_user_policies(UserName=name, MaxItems=1000)["PolicyNames"]
    attached = iam.list_attached_user_policies(UserName=name, MaxItems=1000)["AttachedPolicies"]
    keys = iam.list_access_keys(UserName=name, MaxItems=1000)["AccessKeyMetadata"]
    for key in keys:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in attached:
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in inline:
        iam.delete_user_policy(UserName=name, PolicyName=policy_name)
    for group in groups:
        iam.remove_user_from_group(UserName=name, GroupName=group["GroupName"])
    # `_delete_extras`
    _best_effort(lambda: iam.delete_login_profile(UserName=name))

    def mfa() -> None:
        for device in iam.list_mfa_devices(UserName=name)["MFADevices"]:
            iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
            if device["SerialNumber"].startswith("arn:"):
                iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])

    def certificates() -> None:
        for cert in iam.list_signing_certificates(UserName=name)["Certificates"]:
            iam.delete_signing_certificate(UserName=name, CertificateId=cert["CertificateId"])

    def ssh_keys() -> None:
        for ssh in iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]:
            iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=ssh["SSHPublicKeyId"])

    def service_credentials() -> None:
        found = iam.list_service_specific_credentials(UserName=name)
        for cred in found["ServiceSpecificCredentials"]:
            iam.delete_service_specific_credential(
                UserName=name, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
            )

    for step in (mfa, certificates, ssh_keys, service_credentials):
        _best_effort(step)
    iam.delete_user(UserName=name)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    iam = client(spec)
    users: list[str] = spec["users"]
    failed: list[str] = []

    def one(name: str) -> None:
        try:
            delete_user(iam, name)
        except Exception as exc:
            failed.append(f"{name}: {exc}")

    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(int(spec["workers"])) as pool:
        list(pool.map(one, users))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    iam.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "users": len(users), "failed": failed}


def main() -> int:
    print(json.dumps(run(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
