"""`sys/metrics` end to end: a real server (SQLite, listener `telemetry` opening the metrics)
issuing AWS credentials from moto behind the recording proxy. The Prometheus exposition is
parsed with prometheus-client's own parser, and the counters must move with what was done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.aws.support import ALLOW_ALL, MOUNT, AWSWorld, configure, fresh_mount
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, hcl_string, running

ROLE = "ci"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def open_metrics_server(workdir: Path) -> ServerProcess:
    """A config-file server whose listener serves `sys/metrics` without a token."""
    port = free_port()
    config = workdir / "config.hcl"
    config.write_text(
        f'storage "sqlite" {{\n  path = {hcl_string(str(workdir / "storage.db"))}\n}}\n'
        'listener "tcp" {\n'
        f"  address = {hcl_string(f'{HOST}:{port}')}\n"
        "  tls_disable = true\n"
        "  telemetry {\n    unauthenticated_metrics_access = true\n  }\n"
        "}\n"
        'telemetry {\n  prometheus_retention_time = "24h"\n  disable_hostname = true\n}\n'
    )
    return ServerProcess(workdir, ["--config", str(config)], port)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(open_metrics_server(tmp_path_factory.mktemp("metrics"))) as process:
        yield process


@pytest.fixture(scope="module")
def root(server: ServerProcess) -> hvac.Client:
    init = server.init_and_unseal()
    client = server.client(init.root_token)
    client.sys.enable_secrets_engine("aws", path=MOUNT)
    return client


@pytest.fixture
def aws(moto: MotoServer, proxy: AWSProxy, root: hvac.Client) -> Iterator[AWSWorld]:
    fresh_mount(root, MOUNT)
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    proxy.clear_faults()
    proxy.clear()
    world = AWSWorld(moto, proxy, access_key, secret_key)
    configure(root, world)
    root.write(
        f"{MOUNT}/roles/{ROLE}", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL)
    )
    try:
        yield world
    finally:
        proxy.clear_faults()
        world.close()


def scrape(server: ServerProcess, token: str | None = None) -> Samples:
    response = server.request("GET", "sys/metrics", token=token, params={"format": "prometheus"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def get(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_after_issuing_and_revoking(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld
) -> None:
    issued_labels = {"mount": "aws/", "role": ROLE, "credential_type": "iam_user"}
    create_user = {"service": "iam", "operation": "CreateUser"}
    delete_user = {"service": "iam", "operation": "DeleteUser"}
    reads = {"operation": "read", "mount": "aws/", "status": "200"}
    before = scrape(server)

    issued = root.secrets.aws.generate_credentials(ROLE)
    after_issue = scrape(server)

    def moved(samples: Samples, name: str, **labels: str) -> float:
        return get(samples, name, **labels) - get(before, name, **labels)

    assert moved(after_issue, "awsbroker_credentials_issued_total", **issued_labels) == 1
    assert moved(after_issue, "awsbroker_aws_calls_total", error_code="", **create_user) == 1
    assert moved(after_issue, "awsbroker_aws_call_duration_seconds_count", **create_user) == 1
    assert moved(after_issue, "awsbroker_aws_call_duration_seconds_sum", **create_user) > 0
    assert moved(after_issue, "awsbroker_requests_total", **reads) == 1
    assert moved(after_issue, "awsbroker_leases_active") == 1
    assert get(after_issue, "awsbroker_core_unsealed") == 1

    root.sys.revoke_lease(issued["lease_id"])
    after_revoke = scrape(server)
    assert moved(after_revoke, "awsbroker_lease_revocations_total", mount="aws/") == 1
    assert moved(after_revoke, "awsbroker_aws_calls_total", error_code="", **delete_user) == 1
    assert moved(after_revoke, "awsbroker_leases_active") == 0
    assert moved(after_revoke, "awsbroker_credentials_issued_total", **issued_labels) == 1


def test_aws_errors_are_counted_by_code(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld
) -> None:
    labels = {"service": "iam", "operation": "CreateUser", "error_code": "LimitExceeded"}
    before = get(scrape(server), "awsbroker_aws_calls_total", **labels)
    aws.proxy.inject("CreateUser", 409, "LimitExceeded", "too many users", times=1)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="LimitExceeded"):
        root.secrets.aws.generate_credentials(ROLE)
    after = scrape(server)
    assert get(after, "awsbroker_aws_calls_total", **labels) == before + 1
    failed = {"operation": "read", "mount": "aws/", "status": "400"}
    assert get(after, "awsbroker_requests_total", **failed) >= 1


def test_the_listener_lets_anyone_read_metrics_even_sealed(tmp_path: Path) -> None:
    with running(open_metrics_server(tmp_path)) as process:
        assert get(scrape(process), "awsbroker_core_unsealed") == 0, "sealed, and readable"
        init = process.init_and_unseal()
        assert get(scrape(process), "awsbroker_core_unsealed") == 1
        summary = process.request("GET", "sys/metrics").json()
        gauges = {g["Name"]: g["Value"] for g in summary["Gauges"]}
        assert gauges["awsbroker_core_unsealed"] == 1
        assert {"Counters", "Samples", "Timestamp"} <= set(summary)
        process.client(init.root_token).sys.seal()
        assert get(scrape(process), "awsbroker_core_unsealed") == 0


def test_metrics_need_a_token_that_may_read_them_by_default(dev_server: ServerProcess) -> None:
    root = dev_server.client(ROOT_TOKEN)
    assert dev_server.request("GET", "sys/metrics").status_code == 403
    plain = root.auth.token.create(policies=["default"])["auth"]["client_token"]
    assert dev_server.request("GET", "sys/metrics", token=plain).status_code == 403
    root.sys.create_or_update_acl_policy(
        "metrics", 'path "sys/metrics" {\n  capabilities = ["read"]\n}\n'
    )
    reader = root.auth.token.create(policies=["metrics"])["auth"]["client_token"]
    assert get(scrape(dev_server, reader), "awsbroker_core_unsealed") == 1
    bad: requests.Response = dev_server.request(
        "GET", "sys/metrics", token=reader, params={"format": "statsd"}
    )
    assert bad.status_code == 400
    assert "unsupported format" in bad.json()["errors"][0]
