"""The AWS engine end to end: a real `awsbroker server --dev`, driven over HTTP by hvac, with
AWS played by moto (auth on, so keys really authenticate) behind the recording proxy.

Per module: one moto, one proxy, one dev server. Per test (`aws` fixture): leases under `aws/`
are force-revoked, the `aws/` mount is disabled and enabled again (fresh config, roles, WAL),
moto is wiped, a new admin user is bootstrapped, auth is switched on, and `aws/config/root` is
written with that admin's key and the proxy as IAM and STS endpoint (`max_retries=1`).

The test's own AWS calls (checks, fixtures such as roles and groups) go straight to moto, so
the proxy records only what the broker did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hvac
import pytest
from tests.integration.aws.support import MOUNT, AWSWorld, Broker, configure, fresh_mount
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.server import ROOT_TOKEN, running
from tests.support.server import dev_server as make_dev_server


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    workdir: Path = tmp_path_factory.mktemp("aws-dev")
    with running(make_dev_server(workdir)) as server:
        yield Broker(server, server.client(ROOT_TOKEN))


@pytest.fixture
def vault(broker: Broker) -> hvac.Client:
    return broker.vault


@contextmanager
def _fresh_world(moto: MotoServer, proxy: AWSProxy) -> Iterator[AWSWorld]:
    """moto wiped, an admin made, auth on, the proxy's faults and records cleared."""
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    proxy.clear_faults()
    proxy.clear()
    world = AWSWorld(moto, proxy, access_key, secret_key)
    try:
        yield world
    finally:
        proxy.clear_faults()
        world.close()


@pytest.fixture
def bare_aws(moto: MotoServer, proxy: AWSProxy, vault: hvac.Client) -> Iterator[AWSWorld]:
    """A fresh `aws/` mount (not configured) and a fresh moto with auth on."""
    fresh_mount(vault, MOUNT)
    with _fresh_world(moto, proxy) as world:
        yield world


@pytest.fixture
def clean_world(moto: MotoServer, proxy: AWSProxy) -> Iterator[AWSWorld]:
    """A fresh moto with auth on, and no broker attached (the tests that start their own
    server processes)."""
    with _fresh_world(moto, proxy) as world:
        yield world


@pytest.fixture
def aws(bare_aws: AWSWorld, vault: hvac.Client) -> AWSWorld:
    """`bare_aws` with `aws/config/root` written (the admin key, the proxy, max_retries=1)."""
    configure(vault, bare_aws)
    return bare_aws
