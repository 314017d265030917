"""`?help=1` and `path-help` (issue 17 item 2): a path's help, as Vault serves it, never runs
the path. Asked of `aws/creds/<role>`, no credential is made: no lease, no call to AWS (the
recording proxy sees none). The shape is OpenBao 2.7's, measured against `bao server -dev`:
`{"help", "openapi", "see_also"}`; any valid token may ask (Vault's ACL always allows help),
no token or a bad one is refused."""

from __future__ import annotations

import json
from pathlib import Path

import hvac
from tests.integration.aws.support import AWSWorld, Broker
from tests.support import bao
from tests.support.cli import CLI
from tests.support.server import ROOT_TOKEN

ROLE = "helped"


def user_role(vault: hvac.Client) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    vault.write(f"aws/roles/{ROLE}", credential_type="iam_user", policy_document=json.dumps(policy))


def leases(broker: Broker) -> list[str]:
    response = broker.request("LIST", "sys/leases/lookup/aws/creds/")
    if response.status_code == 404:
        return []
    keys: list[str] = response.json()["data"]["keys"]
    return keys


def test_help_on_a_credentials_path_makes_no_credential(
    aws: AWSWorld, broker: Broker, tmp_path: Path
) -> None:
    user_role(broker.vault)
    log = tmp_path / "audit.log"
    broker.vault.sys.enable_audit_device("file", options={"file_path": str(log)}, path="helpfile")
    aws.proxy.clear()
    try:
        for method in ("GET", "POST", "PUT", "DELETE"):
            response = broker.request(method, f"aws/creds/{ROLE}", params={"help": "1"})
            assert response.status_code == 200, (method, response.text)
            body = response.json()
            assert set(body) == {"help", "openapi", "see_also"}
            assert body["help"].startswith(f"Request:        creds/{ROLE}\n")
            assert "Generate credentials of a role" in body["help"]
            assert "/creds/{name}" in json.dumps(body["openapi"]["paths"])
    finally:
        broker.vault.sys.disable_audit_device("helpfile")
    assert leases(broker) == []
    assert aws.calls() == []
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    helped = [e for e in entries if e["request"]["path"] == f"aws/creds/{ROLE}"]
    assert [e["type"] for e in helped] == ["request", "response"] * 4
    assert {e["request"]["operation"] for e in helped} == {"help"}


def test_sys_mounts_help_has_openbaos_shape(broker: Broker) -> None:
    body = broker.ok("GET", "sys/mounts", params={"help": "1"})
    # OpenBao 2.7.2's keys, measured with `bao server -dev`.
    assert set(body) == {"help", "openapi", "see_also"}
    assert body["see_also"] is None
    assert set(body["openapi"]) == {"openapi", "info", "paths", "components"}
    assert "/mounts" in body["openapi"]["paths"]  # relative to the mount, as Vault's
    assert body["help"].startswith("Request:        mounts\nMatching Route: ^mounts")


def test_who_may_ask_for_help(broker: Broker) -> None:
    server = broker.server
    # No token, or a bad one: refused before anything else, as Vault.
    assert server.request("GET", "sys/mounts", params={"help": "1"}).status_code == 403
    bad = server.request("GET", "sys/mounts", token="bogus", params={"help": "1"})
    assert bad.status_code == 403
    # A valid token with no policy at all reads nothing, but may read help, on a sudo path
    # too: Vault's ACL always allows help (OpenBao answers 200 to both, measured).
    auth = broker.vault.auth.token.create(policies=["nothing"], no_default_policy=True)["auth"]
    token = auth["client_token"]
    assert server.request("GET", "sys/mounts", token=token).status_code == 403
    for path in ("sys/mounts", "sys/audit"):
        response = server.request("GET", path, token=token, params={"help": "1"})
        assert response.status_code == 200, (path, response.text)
        assert "help" in response.json()


def test_help_of_an_unknown_path_is_a_404(broker: Broker) -> None:
    missing = broker.errors("GET", "nowhere/x", 404, params={"help": "1"})
    assert missing == ['no handler for route "nowhere/x". route entry not found.']
    assert broker.errors("GET", "aws/nothing/here", 404, params={"help": "1"}) == [
        "unsupported path"
    ]


def test_bao_and_awsbroker_path_help_print_the_help(
    aws: AWSWorld, broker: Broker, tmp_path: Path
) -> None:
    user_role(broker.vault)
    aws.proxy.clear()
    expected = broker.ok("GET", f"aws/creds/{ROLE}", params={"help": "1"})["help"]
    theirs = bao.Bao(bao.require(), tmp_path / "bao-home", broker.server.url, ROOT_TOKEN)
    result = theirs.run("path-help", f"aws/creds/{ROLE}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.strip()
    cli = CLI(
        tmp_path / "home", {"AWSBROKER_ADDR": broker.server.url, "AWSBROKER_TOKEN": ROOT_TOKEN}
    )
    assert cli.ok("path-help", f"aws/creds/{ROLE}") == expected
    assert leases(broker) == []
    assert aws.calls() == []


def test_a_mounts_own_help_lists_its_paths(broker: Broker) -> None:
    body = broker.ok("GET", "aws/", params={"help": "1"})
    assert body["help"].startswith("## PATHS\n")
    assert "Generate credentials of a role" in body["help"]
    assert "/creds/{name}" in body["openapi"]["paths"]
    assert "/config/root" in body["openapi"]["paths"]
