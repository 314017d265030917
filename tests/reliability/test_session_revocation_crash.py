"""Issue 19 section 1: a broker killed (SIGKILL) in the middle of revoking an `assumed_role`
lease with `session_revocation` leaves no orphan deny and no un-revoked lease; one killed
between creating a managed overflow policy and recording it leaves a policy the restarted
broker adopts.

The revocation stores its write-ahead entry, then calls PutRolePolicy, which the proxy holds;
the server is killed there, and the held call is then let through to moto: the worst case, a
deny written by a process that died before deleting the lease. After a restart on the same
file, the lease still exists (its credentials were never reported revoked), so the periodic
check undoes the deny once the dead process's heartbeat has expired (30 s, then at most 15 s
to the next periodic run). Revoking again then finishes it: the deny stands, the lease is gone.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable

import pytest
from tests.support.reliability import MOUNT, AWSWorld, Broker, wait_for
from tests.support.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.reliability

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


def deny_policies(aws: AWSWorld) -> list[str]:
    names = aws.iam.list_role_policies(RoleName="target")["PolicyNames"]
    return [n for n in names if n.startswith("awsbroker-revoked-")]


def kill_while_held(
    server: ServerProcess,
    aws: AWSWorld,
    action: str,
    revoke: Callable[[], None],
    *,
    landed: Callable[[], list[str]],
    wait: float = 30,
) -> None:
    """Run `revoke` in a thread until AWS `action` is held at the proxy, SIGKILL the server
    there, then let the held call through and wait until `landed` shows it reached moto."""
    arrived = aws.recorder.hold(action)
    revoking = threading.Thread(target=revoke, daemon=True)
    revoking.start()
    assert arrived.wait(timeout=wait), f"the revocation never reached {action}"
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGKILL)
    assert server.stop() == -signal.SIGKILL
    aws.recorder.release(action)
    wait_for(lambda: bool(landed()), timeout=30, what=f"the held {action}")
    revoking.join(timeout=30)


def test_sigkill_between_the_deny_and_the_lease_leaves_no_orphan_and_no_unrevoked_lease(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    server = servers.sqlite()
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=0)
    arn = aws.iam.create_role(RoleName="target", AssumeRolePolicyDocument=json.dumps(TRUST))
    broker.ok(
        "POST",
        f"{MOUNT}/roles/r",
        json={
            "credential_type": "assumed_role",
            "role_arns": [arn["Role"]["Arn"]],
            "session_revocation": True,
        },
    )
    lease_id = broker.ok("POST", f"{MOUNT}/sts/r")["lease_id"]

    answered: list[int] = []

    def revoke() -> None:
        try:
            response = broker.call("PUT", "sys/leases/revoke", json={"lease_id": lease_id})
        except OSError:  # the server died under the request
            return
        answered.append(response.status_code)

    # The call lands after its caller died.
    kill_while_held(server, aws, "PutRolePolicy", revoke, landed=lambda: deny_policies(aws))
    assert answered != [204], "the revocation was reported done"

    server.start()
    broker.unseal()
    assert broker.lookup(lease_id) is not None, "the lease is gone without its revocation"
    wait_for(lambda: not deny_policies(aws), timeout=120, what="the orphan deny undone")
    assert broker.lookup(lease_id) is not None

    broker.ok("PUT", "sys/leases/revoke", json={"lease_id": lease_id})
    assert broker.lookup(lease_id) is None
    assert len(deny_policies(aws)) == 1
    assert "Traceback" not in server.log()


def broker_policies(aws: AWSWorld) -> list[str]:
    found = aws.iam.list_policies(Scope="Local", PathPrefix="/awsbroker-revoked/")
    return sorted(p["Arn"] for p in found["Policies"])


def test_sigkill_between_create_policy_and_its_record_leaves_a_policy_the_restart_adopts(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    """Federated sessions overflow the broker user's inline policy into a managed policy; the
    server is killed while CreatePolicy is held, which then lands: a policy on AWS that no
    record names. After the restart, revoking the lease again adopts it (CreatePolicy answers
    EntityAlreadyExists for the broker's own deterministic name) instead of failing on it."""
    server = servers.sqlite()
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=0)
    s3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                  "Resource": "*"}]}  # fmt: skip
    broker.ok(
        "POST",
        f"{MOUNT}/roles/fed",
        json={
            "credential_type": "federation_token",
            "policy_document": json.dumps(s3),
            "session_revocation": True,
        },
    )
    leases = [broker.ok("POST", f"{MOUNT}/sts/fed")["lease_id"] for _ in range(80)]
    reached: list[str] = []

    def revoke_until_held() -> None:
        for lease_id in leases:
            reached.append(lease_id)
            try:
                response = broker.call("PUT", "sys/leases/revoke", json={"lease_id": lease_id})
            except OSError:  # the server died under the request
                return
            if response.status_code != 204:
                return

    # The policy is created after its creator died.
    kill_while_held(
        server,
        aws,
        "CreatePolicy",
        revoke_until_held,
        landed=lambda: broker_policies(aws),
        wait=120,
    )
    (orphan,) = broker_policies(aws)
    user = aws.iam.get_user()["User"]["UserName"]
    attached = aws.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert orphan not in [p["PolicyArn"] for p in attached]

    server.start()
    broker.unseal()
    in_flight = reached[-1]
    assert broker.lookup(in_flight) is not None, "the lease is gone without its revocation"
    broker.ok("PUT", "sys/leases/revoke", json={"lease_id": in_flight})

    assert broker.lookup(in_flight) is None
    assert broker_policies(aws) == [orphan]  # adopted, not made twice
    attached = aws.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert orphan in [p["PolicyArn"] for p in attached]
    assert "Traceback" not in server.log()
