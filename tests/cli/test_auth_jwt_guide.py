"""docs/auth-jwt.md, run: its operator blocks with the `awsbroker` command against a dev server
with the AWS emulator, then the GitHub Actions workflow, the GitLab CI job and the Kubernetes
pod it shows, each given a token that a real OpenID provider on loopback (npm `oidc-provider`)
signed with the claims that platform's tokens carry. The workflow runs with no broker token and
no AWS credentials in its environment: what it gets, it gets by logging in.

The provider stands in for each platform's issuer (the guide's issuer URLs are replaced by its
own), and a small loopback server for GitHub's token-request endpoint
(`ACTIONS_ID_TOKEN_REQUEST_URL`), which hands out the provider's tokens."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from tests.support import aws_cli, walkthrough
from tests.support.cli import clean_environ
from tests.support.guide import ROOT, Session
from tests.support.loopback_http import LoopbackServer, Reply, Request, answering
from tests.support.oidc_provider import OidcProvider
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running

DOC = ROOT / "docs" / "auth-jwt.md"
BLOCKS = {b.name: b for b in walkthrough.blocks(DOC.read_text())}
AUDIENCE = "https://broker.example.com"
BROKER = "https://broker.example.com:8200"
ISSUERS = ("https://token.actions.githubusercontent.com", "https://gitlab.com")
K8S_ISSUER = "https://kubernetes.example.com"
GITHUB_SUB = "repo:acme/app:ref:refs/heads/main"
GITHUB_DEV = "repo:acme/app:ref:refs/heads/dev"
GITHUB_CLAIMS = {
    "repository": "acme/app",
    "ref": "refs/heads/main",
    "actor": "octocat",
    "run_id": "8123456789",
    "workflow": "deploy",
}
GITLAB_SUB = "project_path:acme/app:ref_type:branch:ref:main"
GITLAB_CLAIMS = {
    "project_path": "acme/app",
    "namespace_path": "acme",
    "ref": "main",
    "ref_type": "branch",
    "ref_protected": "true",
    "user_login": "alice",
    "pipeline_id": "1519139981",
}
K8S_SUB = "system:serviceaccount:payments:billing"
K8S_CLAIMS = {
    "kubernetes.io": {
        "namespace": "payments",
        "serviceaccount": {"name": "billing", "uid": "a709ef71-30e2-489a-bd19-ade97031b9db"},
        "pod": {"name": "billing", "uid": "900f80ed-bafe-49f0-9ae2-c5f0a3ac2cbe"},
    }
}
TOKEN_PATH = "/var/run/secrets/broker/token"


def fenced(marker: str) -> str:
    """The fenced block right after `<!-- marker -->`."""
    match = re.search(rf"<!-- {marker} -->\n```\w*\n(.*?)```\n", DOC.read_text(), re.S)
    assert match, marker
    return match[1]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(clients=(GITHUB_SUB, GITHUB_DEV, GITLAB_SUB, K8S_SUB)) as p:
        yield p


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]
    workdir = tmp_path_factory.mktemp("auth-jwt-guide")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(workdir))
        with running(ServerProcess(workdir, args, port)) as server:
            yield server


@pytest.fixture(scope="module")
def operator(
    emulated: ServerProcess, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Session:
    """The operator's terminal: the broker's address and root token file."""
    home = tmp_path_factory.mktemp("operator")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **clean_environ(),
        "PATH": f"{bin_dir}:{clean_environ().get('PATH', '')}",
        "HOME": str(home),
        "AWSBROKER_ADDR": emulated.url,
        "AWSBROKER_TOKEN_FILE": str(emulated.token_file),
    }
    issuers = dict.fromkeys((*ISSUERS, K8S_ISSUER), provider.issuer)
    return Session(home / "work", env, {**issuers, BROKER: emulated.url})


@pytest.fixture(scope="module")
def workload_env(
    emulated: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A CI runner's environment: tools on PATH, an empty home, no broker token, no AWS
    credentials; AWS itself is the dev server's emulator."""
    aws_cli.require()
    endpoint = emulated.client(ROOT_TOKEN).read("aws/config/root")["data"]["iam_endpoint"]
    bin_dir = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in clean_environ().items()
        if not k.startswith(("AWS_", "VAULT_", "AWSBROKER"))
    }
    return {
        **env,
        "PATH": f"{bin_dir}:{env.get('PATH', '')}",
        "HOME": str(tmp_path_factory.mktemp("runner")),
        "AWS_ENDPOINT_URL": endpoint,
    }


class TokenRequestEndpoint:
    """GitHub's `ACTIONS_ID_TOKEN_REQUEST_URL`: GET with the request token as bearer and an
    `audience` answers `{"value": <an ID token for that audience>}`."""

    def __init__(self, provider: OidcProvider) -> None:
        self.request_token = secrets.token_urlsafe(16)
        self.audiences: list[str] = []
        self.provider = provider
        self._http = LoopbackServer(answering(self._answer), name="token-request-endpoint")
        self._http.start()

    def _answer(self, request: Request) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        authorized = request.headers.get("Authorization") == f"bearer {self.request_token}"
        if not authorized or query.get("api-version") != ["2.0"]:
            return Reply(401, b"{}")
        audience = query["audience"][0]
        self.audiences.append(audience)
        token = self.provider.token(audience, client=GITHUB_SUB, claims=GITHUB_CLAIMS)
        return Reply(200, json.dumps({"count": 1, "value": token}).encode())

    @property
    def url(self) -> str:
        return f"{self._http.url}/token?api-version=2.0"

    def close(self) -> None:
        self._http.stop()


def run(script: str, env: dict[str, str], cwd: Path, *, posix_sh: bool = False) -> str:
    """`script` as a runner runs it: GitHub's `bash -eo pipefail`, or a POSIX `sh -e`."""
    args = ["sh", "-e", "-c", script] if posix_sh else ["bash", "-eo", "pipefail", "-c", script]
    result = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{script}\nfailed:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_a_github_workflow_gets_aws_credentials_with_no_static_token(
    operator: Session,
    provider: OidcProvider,
    workload_env: dict[str, str],
    tmp_path: Path,
) -> None:
    operator.run(BLOCKS["github-operator"])
    workflow = yaml.safe_load(fenced("github-workflow"))
    assert workflow["permissions"]["id-token"] == "write"
    job = workflow["jobs"]["deploy"]
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    endpoint = TokenRequestEndpoint(provider)
    try:
        env = {
            **workload_env,
            **{k: operator.to_test(str(v)) for k, v in job["env"].items()},
            "ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": endpoint.request_token,
            "GITHUB_ENV": str(github_env),
        }
        printed = []
        for step in job["steps"]:
            # As the runner does: what a step appended to GITHUB_ENV is in the next ones' env.
            exported = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
            printed.append(run(step["run"], {**env, **exported}, tmp_path))
    finally:
        endpoint.close()
    assert endpoint.audiences == [AUDIENCE]
    assert printed[-1] == fenced("github-workflow-output")
    masked = [line for line in printed[0].splitlines() if line.startswith("::add-mask::")]
    assert len(masked) == 4
    assert "AWS_SECRET_ACCESS_KEY=" in github_env.read_text()


def test_another_branch_or_audience_is_refused_and_the_token_lives_15_minutes(
    operator: Session, provider: OidcProvider, emulated: ServerProcess
) -> None:
    if "auth/github/role/deploy" not in operator.printed.get("github-operator", ""):
        operator.run(BLOCKS["github-operator"])

    def login(token: str) -> Any:
        return emulated.request("POST", "auth/github/login", json={"role": "deploy", "jwt": token})

    refused = {
        provider.token(AUDIENCE, client=GITHUB_DEV): "claim 'sub' does not match any associated",
        provider.token("https://github.com/acme", client=GITHUB_SUB): (
            "aud claim does not match any expected audience"
        ),
    }
    for token, message in refused.items():
        response = login(token)
        assert response.status_code == 400
        assert message in response.text
    response = login(provider.token(AUDIENCE, client=GITHUB_SUB, claims=GITHUB_CLAIMS))
    assert response.json()["auth"]["lease_duration"] == 15 * 60


def test_a_gitlab_job_gets_aws_credentials(
    operator: Session,
    provider: OidcProvider,
    emulated: ServerProcess,
    workload_env: dict[str, str],
    tmp_path: Path,
) -> None:
    if "auth/github/role/deploy" not in operator.printed.get("github-operator", ""):
        operator.run(BLOCKS["github-operator"])  # the policy and AWS role it shares
    operator.run(BLOCKS["gitlab-operator"])
    job = yaml.safe_load(fenced("gitlab-job"))["deploy"]
    assert job["id_tokens"]["BROKER_ID_TOKEN"]["aud"] == AUDIENCE
    token = provider.token(AUDIENCE, client=GITLAB_SUB, claims=GITLAB_CLAIMS)
    env = {
        **workload_env,
        **{k: operator.to_test(str(v)) for k, v in job["variables"].items()},
        "BROKER_ID_TOKEN": token,
    }
    assert job["script"][0].startswith("apk add")
    printed = run("\n".join(job["script"][1:]), env, tmp_path, posix_sh=True)
    assert printed.strip().endswith("/awsbroker-example/ci-1519139981")

    unprotected = provider.token(
        AUDIENCE, client=GITLAB_SUB, claims={**GITLAB_CLAIMS, "ref_protected": "false"}
    )
    response = emulated.request(
        "POST", "auth/gitlab/login", json={"role": "deploy", "jwt": unprotected}
    )
    assert response.status_code == 400
    assert "claim 'ref_protected' does not match" in response.text


def test_a_kubernetes_pod_logs_in_with_its_service_account_token(
    operator: Session,
    provider: OidcProvider,
    workload_env: dict[str, str],
    tmp_path: Path,
) -> None:
    operator.run(BLOCKS["kubernetes-operator"])
    pod = yaml.safe_load(fenced("kubernetes-pod"))
    container = pod["spec"]["containers"][0]
    projected = pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert projected["audience"] == AUDIENCE
    mount = container["volumeMounts"][0]["mountPath"]
    assert f"{mount}/{projected['path']}" == TOKEN_PATH
    token_file = tmp_path / "token"
    token_file.write_text(provider.token(AUDIENCE, client=K8S_SUB, claims=K8S_CLAIMS))
    script = container["args"][0].removeprefix("apk add --no-cache curl jq &&")
    script = script.replace(TOKEN_PATH, str(token_file))
    env = {
        **workload_env,
        **{e["name"]: operator.to_test(e["value"]) for e in container["env"]},
    }
    assert run(script, env, tmp_path, posix_sh=True).strip() == "payments"


def test_every_block_of_the_guide_is_run() -> None:
    """Each fence is a walkthrough block (its commands and output) or a file the tests above
    run or compare: nothing in the guide is only read."""
    text = DOC.read_text()
    opening = sum(1 for i, line in enumerate(text.splitlines()) if line.startswith("```")) // 2
    run_blocks = [b for b in BLOCKS.values() if b.output is not None]
    assert sorted(BLOCKS) == ["github-operator", "gitlab-operator", "kubernetes-operator"]
    assert len(run_blocks) == len(BLOCKS)
    markers = ["github-workflow", "github-workflow-output", "gitlab-job", "kubernetes-pod"]
    markers += ["oidc-cli-role", "oidc-cli-login"]  # run by tests/cli/test_login_oidc.py
    for marker in markers:
        fenced(marker)
    assert opening == 2 * len(BLOCKS) + len(markers)


def test_the_readme_and_the_production_guide_link_it() -> None:
    assert "(docs/auth-jwt.md)" in (ROOT / "README.md").read_text()
    assert "(auth-jwt.md)" in (ROOT / "docs" / "production.md").read_text()
