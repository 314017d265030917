"""An AWS engine in process for rotation tests: moto (auth on) behind the recording proxy, a
manual clock, and a fake system view whose job runner behaves as the core's worker.

The broker's own IAM user is `broker-root` (allowed everything); the tests check AWS with
another admin, `checker`, whose key the broker never touches, straight to moto (not recorded).
`restart()` builds a new backend over the same storage with a new boot ID, the old process
being dead: what a crash followed by a start looks like to the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mypy_boto3_iam import IAMClient
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer, bootstrap_admin, moto_client
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

REGION = "us-east-1"
ROOT_USER = "broker-root"
CHECKER = "checker"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# What changes AWS (or hands out credentials): bad input must cause none of these.
MUTATING = frozenset({"CreateAccessKey", "DeleteAccessKey", "AssumeRole", "CreateUser"})


class Crash(BaseException):
    """The process dies here: nothing after it runs, not even the clean-up of a failure."""


@dataclass
class World:
    moto: MotoServer
    proxy: AWSProxy
    clock: ManualClock
    checker_key: tuple[str, str]
    root_key: tuple[str, str]
    storage: InmemStorage = field(default_factory=InmemStorage)
    boots: int = 0
    system: FakeSystemView = field(init=False)
    backend: AWSBackend = field(init=False)
    _clients: list[object] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start()

    # ---- the broker ---------------------------------------------------------------------

    def start(self) -> AWSBackend:
        """A (new) process: a new boot ID over the same storage; earlier boots are dead."""
        self.boots += 1
        self.system = FakeSystemView(self.clock, boot_id=f"boot-{self.boots}")
        self.backend = AWSBackend(
            BackendConfig(storage=self.storage, system=self.system, mount_path="aws/")
        )
        self.backend.sleep = self.clock.advance
        return self.backend

    def restart(self) -> AWSBackend:
        """The process died; a new one starts and keeps the old one's job schedule."""
        jobs = dict(self.system.jobs)
        self.start()
        self.system.jobs.update(jobs)
        return self.backend

    def configure(self, **extra: JSONValue) -> None:
        self.ok(
            Operation.UPDATE,
            "config/root",
            access_key=self.root_key[0],
            secret_key=self.root_key[1],
            region=REGION,
            iam_endpoint=self.proxy.endpoint,
            sts_endpoint=self.proxy.endpoint,
            max_retries=0,
            **extra,
        )

    def call(self, op: Operation, path: str, /, **data: JSONValue) -> Response | None:
        request = Request(operation=op, path=path, data=dict(data), display_name="root")
        return self.backend.handle_request(request)

    def ok(self, op: Operation, path: str, /, **data: JSONValue) -> JSONObject:
        response = self.call(op, path, **data)
        return {} if response is None or response.data is None else response.data

    def run_jobs(self) -> list[str]:
        return self.system.run_due(self.backend)

    def config_key(self) -> str:
        return str(self.ok(Operation.READ, "config/root")["access_key"])

    # ---- AWS, as the tests see it -------------------------------------------------------

    def iam(self) -> IAMClient:
        client: IAMClient = moto_client(
            self.moto.endpoint, "iam", self.checker_key[0], self.checker_key[1]
        )
        self._clients.append(client)
        return client

    def key_ids(self, user: str = ROOT_USER) -> list[str]:
        metadata = self.iam().list_access_keys(UserName=user)["AccessKeyMetadata"]
        return sorted(k["AccessKeyId"] for k in metadata)

    def key_works(self, access_key: str, secret_key: str) -> bool:
        return self.moto.key_works(access_key, secret_key)

    def new_user(self, name: str, *, keys: int = 0) -> list[tuple[str, str]]:
        """An IAM user with `keys` access keys of its own (not the broker's)."""
        iam = self.iam()
        iam.create_user(UserName=name)
        made = []
        for _ in range(keys):
            key = iam.create_access_key(UserName=name)["AccessKey"]
            made.append((key["AccessKeyId"], key["SecretAccessKey"]))
        return made

    def actions(self) -> list[str]:
        return [c.action for c in self.proxy.calls()]

    def mutating(self) -> list[str]:
        return [a for a in self.actions() if a in MUTATING]

    def close(self) -> None:
        for client in self._clients:
            client.close()  # type: ignore[attr-defined]
        self._clients.clear()


def fresh_world(moto: MotoServer, proxy: AWSProxy) -> World:
    """Wipe moto, make the two admins, switch auth on; a world with config/root written."""
    moto.disable_auth()
    moto.reset()
    checker = bootstrap_admin(moto.endpoint, CHECKER)
    root = bootstrap_admin(moto.endpoint, ROOT_USER)
    moto.enable_auth()
    proxy.clear()
    proxy.clear_faults()
    world = World(moto, proxy, ManualClock(), checker, root)
    world.configure()
    proxy.clear()
    return world


def allow_all_role_in(account: str, moto: MotoServer, checker: tuple[str, str]) -> str:
    """A role `cross` in another (moto) account that anyone may assume and that may do
    anything there; its ARN. Needs auth off (moto makes the account on first use)."""
    arn = f"arn:aws:iam::{account}:role/cross"
    sts = moto_client(moto.endpoint, "sts", checker[0], checker[1])
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="setup")["Credentials"]
    iam = moto_client(
        moto.endpoint, "iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="cross", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="cross", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.create_user(UserName="far-away")
    sts.close()
    iam.close()
    return arn
