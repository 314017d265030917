"""docs/auth-kubernetes.md's walkthrough, "a Kubernetes pod gets AWS credentials with no
static token", run block by block as the doc shows it: a dev server with its AWS emulator
(what `scripts/dev` starts) stands in for the broker's pod, a loopback TokenReview stand-in
(HTTPS, private CA, every request checked) for the cluster's API server. The broker finds its
own pod token and CA in a folder (`AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR`), the app pod's
projected token is a file in another; the doc's names for them are replaced by the test's.
Each block must exit 0 and print what the doc shows."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import guide, walkthrough
from tests.support.cli import clean_environ
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running
from tests.support.tokenreview import TokenReviewStandIn

DOC = Path(__file__).resolve().parents[2] / "docs" / "auth-kubernetes.md"
BLOCKS = walkthrough.blocks(DOC.read_text())
BROKER_ADDR = "https://awsbroker.awsbroker.svc:8200"
API_SERVER = "https://kubernetes.default.svc"
APP_TOKEN_DIR = "/var/run/secrets/awsbroker"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenReviewStandIn]:
    directory = tmp_path_factory.mktemp("apiserver")
    with TokenReviewStandIn(directory, reviewer="broker-pod-token") as standin:
        yield standin


@pytest.fixture(scope="module")
def broker(
    tmp_path_factory: pytest.TempPathFactory, cluster: TokenReviewStandIn
) -> Iterator[ServerProcess]:
    """The broker's pod: its service account token is the reviewer's, its CA the cluster's."""
    pod = tmp_path_factory.mktemp("broker-serviceaccount")
    (pod / "token").write_text(cluster.reviewer)
    (pod / "ca.crt").write_text(cluster.ca_pem)
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    workdir = tmp_path_factory.mktemp("broker")
    server = ServerProcess(workdir, [*args, "--dev-root-token-id", ROOT_TOKEN], port)
    server.env["AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR"] = str(pod)
    server.env["TMPDIR"] = str(workdir)  # the emulator's log dir, not in the real /tmp
    with running(server) as started:
        yield started


def test_every_block_of_the_doc_is_run_or_says_why_not() -> None:
    marked, fences = guide.marked_fences(DOC.read_text())
    outputs = sum(1 for b in BLOCKS if b.output is not None)
    # Each fence is marked, or is the output of a walkthrough block.
    assert len(marked) + outputs == fences, "a block in docs/auth-kubernetes.md has no marker"
    assert all(b.output for b in BLOCKS), "every run block shows its output"
    assert [b.name for b in BLOCKS] == ["k8s-enable", "k8s-roles", "k8s-pod-login"]


def test_a_pod_gets_aws_credentials_with_no_static_token(
    broker: ServerProcess, cluster: TokenReviewStandIn, tmp_path: Path
) -> None:
    app_pod = tmp_path / "app-pod"
    app_pod.mkdir()
    jwt = cluster.issue("payments", "deployer", audiences=("awsbroker",))
    (app_pod / "token").write_text(jwt)
    root = broker.client(ROOT_TOKEN)
    env = {
        **clean_environ(),
        "PATH": f"{Path(sys.executable).parent}:{clean_environ().get('PATH', '')}",
        "HOME": str(tmp_path),
        "AWSBROKER_ADDR": broker.url,
        "AWSBROKER_TOKEN": ROOT_TOKEN,  # the operator's, for the first two blocks
        "AWSBROKER_TOKEN_FILE": str(tmp_path / "token-file"),
        "AWSBROKER_CACHE_DIR": str(tmp_path / "cache"),
        # The emulator stands in for AWS, as in the README's `aws exec` block.
        "AWS_ENDPOINT_URL": root.read("aws/config/root")["data"]["iam_endpoint"],
    }
    names = {BROKER_ADDR: broker.url, API_SERVER: cluster.url, APP_TOKEN_DIR: str(app_pod)}

    for block in BLOCKS:
        script = block.script
        for theirs, ours in names.items():
            script = script.replace(theirs, ours)
        result = walkthrough.run(
            walkthrough.Block(block.name, script, block.output, block.span), broker.url, env
        )
        printed = result.stdout
        for theirs, ours in names.items():
            printed = printed.replace(ours, theirs)
        assert result.returncode == 0, f"{block.name}:\n{printed}"
        assert printed.strip() == (block.output or "").strip(), block.name

    assert cluster.problems == []
    (review,) = cluster.requests
    assert review["spec"] == {"token": jwt, "audiences": ["awsbroker"]}
    assert cluster.bearers == [cluster.reviewer]  # the broker pod's own token
    assert jwt not in broker.log()
    assert cluster.reviewer not in broker.log()
