"""Secrets engine mounts over HTTP with hvac (reference §6 and rules 11-13 of §13)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import hvac
import hvac.exceptions
import pytest
import requests
from tests.support.server import ROOT_TOKEN, ServerProcess

SYSTEM_TTL = 768 * 3600


def mounts(client: hvac.Client) -> dict[str, Any]:
    data: dict[str, Any] = client.sys.list_mounted_secrets_engines()["data"]
    return data


def test_dev_server_mounts(root_client: hvac.Client) -> None:
    listing = root_client.sys.list_mounted_secrets_engines()
    assert listing["data"]["aws/"]["type"] == "aws"
    assert listing["data"]["sys/"]["type"] == "system"
    assert listing["mount_type"] == "system"
    auth = root_client.sys.list_auth_methods()
    assert auth["token/"]["type"] == "token"
    assert auth["data"]["token/"]["type"] == "token"


def test_enable_with_hvac_nulls_lists_it_at_the_top_level(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    resp = root_client.sys.enable_secrets_engine("aws", path="enable-a")
    assert resp.status_code == 204
    assert resp.content == b""
    listing = root_client.sys.list_mounted_secrets_engines()
    entry = listing["data"]["enable-a/"]
    assert listing["enable-a/"] == entry
    assert entry["type"] == "aws"
    assert entry["accessor"].startswith("aws_")
    assert entry["accessor"] != listing["data"]["aws/"]["accessor"]
    assert entry["uuid"]
    assert entry["config"]["default_lease_ttl"] == 0
    assert entry["config"]["max_lease_ttl"] == 0
    assert (entry["local"], entry["seal_wrap"], entry["description"]) == (False, False, "")
    single = dev_server.request("GET", "sys/mounts/enable-a", token=ROOT_TOKEN).json()
    assert single["data"]["type"] == "aws"
    assert single["data"]["accessor"] == entry["accessor"]


def test_enable_with_description_options_and_config(root_client: hvac.Client) -> None:
    root_client.sys.enable_secrets_engine(
        "aws",
        path="enable-b",
        description="team b",
        config={"default_lease_ttl": "1h", "max_lease_ttl": 7200},
        options={"flavour": "x"},
    )
    entry = mounts(root_client)["enable-b/"]
    assert entry["description"] == "team b"
    assert entry["config"]["default_lease_ttl"] == 3600
    assert entry["config"]["max_lease_ttl"] == 7200
    assert entry["options"] == {"flavour": "x"}
    assert root_client.sys.retrieve_mount_option("enable-b", "flavour") == "x"
    tune = root_client.sys.read_mount_configuration("enable-b")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)
    assert tune["description"] == "team b"


def test_vault_cli_zero_durations_mean_system_defaults(dev_server: ServerProcess) -> None:
    body = {"type": "aws", "config": {"default_lease_ttl": "0s", "max_lease_ttl": "0s"}}
    resp = dev_server.request("POST", "sys/mounts/enable-cli", token=ROOT_TOKEN, json=body)
    assert resp.status_code == 204
    tune = dev_server.client(ROOT_TOKEN).sys.read_mount_configuration("enable-cli")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (SYSTEM_TTL, SYSTEM_TTL)


def test_tune(root_client: hvac.Client) -> None:
    root_client.sys.enable_secrets_engine("aws", path="tuned")
    tune = root_client.sys.read_mount_configuration("tuned")
    assert tune["data"]["default_lease_ttl"] == SYSTEM_TTL
    assert tune["data"]["max_lease_ttl"] == SYSTEM_TTL
    assert tune["data"]["force_no_cache"] is False

    resp = root_client.sys.tune_mount_configuration(
        "tuned", default_lease_ttl="3600s", max_lease_ttl="8600s"
    )
    assert resp.status_code == 204
    tune = root_client.sys.read_mount_configuration("tuned")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 8600)
    assert mounts(root_client)["tuned/"]["config"]["max_lease_ttl"] == 8600

    root_client.sys.tune_mount_configuration("tuned", default_lease_ttl=60, max_lease_ttl="2h")
    tune = root_client.sys.read_mount_configuration("tuned")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (60, 7200)

    root_client.sys.tune_mount_configuration("tuned", description="now described")
    tune = root_client.sys.read_mount_configuration("tuned")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (60, 7200)
    assert tune["description"] == "now described"

    root_client.sys.tune_mount_configuration(
        "tuned", default_lease_ttl="system", max_lease_ttl="system"
    )
    tune = root_client.sys.read_mount_configuration("tuned")
    assert (tune["data"]["default_lease_ttl"], tune["data"]["max_lease_ttl"]) == (
        SYSTEM_TTL,
        SYSTEM_TTL,
    )
    assert mounts(root_client)["tuned/"]["config"]["default_lease_ttl"] == 0
    # sys/mounts/* answers are also injected at the top level.
    assert tune["max_lease_ttl"] == SYSTEM_TTL


def test_tune_max_below_default_is_refused(root_client: hvac.Client) -> None:
    root_client.sys.enable_secrets_engine("aws", path="tune-bad")
    root_client.sys.tune_mount_configuration("tune-bad", default_lease_ttl="1h", max_lease_ttl="2h")
    for kwargs in (
        {"default_lease_ttl": "3h"},
        {"max_lease_ttl": "30m"},
        {"default_lease_ttl": "2h", "max_lease_ttl": "1h"},
        {"default_lease_ttl": "soon"},
    ):
        with pytest.raises(hvac.exceptions.InvalidRequest):
            root_client.sys.tune_mount_configuration("tune-bad", **kwargs)
        tune = root_client.sys.read_mount_configuration("tune-bad")["data"]
        assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200), kwargs


def test_tune_of_a_missing_mount_is_refused(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.sys.tune_mount_configuration("not-mounted", default_lease_ttl="1h")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.sys.read_mount_configuration("not-mounted")
    assert "not-mounted/" not in mounts(root_client)


BAD_ENABLES: list[tuple[str, dict[str, Any], str]] = [
    ("aws", {"type": "aws"}, "path is already in use"),
    ("aws/nested", {"type": "aws"}, "path is already in use"),
    ("sys", {"type": "aws"}, "path is already in use at sys/"),
    ("sys/nested", {"type": "aws"}, "path is already in use at sys/"),
    ("auth", {"type": "aws"}, "path is already in use at auth/"),
    ("auth/token", {"type": "aws"}, "path is already in use at auth/"),
    ("cubbyhole", {"type": "aws"}, "path is already in use at cubbyhole/"),
    ("identity", {"type": "aws"}, "path is already in use at identity/"),
    ("unknown-type", {"type": "no-such-engine"}, "no-such-engine"),
    ("no-type", {}, "type"),
    ("no-type-null", {"type": None, "description": None}, "type"),
    (
        "bad-ttls",
        {"type": "aws", "config": {"default_lease_ttl": "2h", "max_lease_ttl": "1h"}},
        "would be less than backend default lease TTL",
    ),
    (
        "bad-duration",
        {"type": "aws", "config": {"default_lease_ttl": "eventually"}},
        "default_lease_ttl",
    ),
    ("bad-config", {"type": "aws", "config": "not an object"}, "config"),
    ("bad-local", {"type": "aws", "local": "perhaps"}, "local"),
]


def test_bad_enables_are_400_and_write_nothing(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    before = mounts(root_client)
    for path, body, message in BAD_ENABLES:
        resp = dev_server.request("POST", f"sys/mounts/{path}", token=ROOT_TOKEN, json=body)
        assert resp.status_code == 400, (path, resp.text)
        assert resp.headers["Content-Type"] == "application/json"
        errors = resp.json()["errors"]
        assert len(errors) == 1, (path, errors)
        assert message in errors[0], (path, errors)
        assert mounts(root_client) == before, path
    auth = root_client.sys.list_auth_methods()["data"]
    assert list(auth) == ["token/"]


def test_enabling_a_taken_path_with_hvac(root_client: hvac.Client) -> None:
    root_client.sys.enable_secrets_engine("aws", path="taken")
    accessor = mounts(root_client)["taken/"]["accessor"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="path is already in use"):
        root_client.sys.enable_secrets_engine("aws", path="taken")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="path is already in use"):
        root_client.sys.enable_secrets_engine("aws", path="taken/deeper")
    assert mounts(root_client)["taken/"]["accessor"] == accessor
    root_client.sys.enable_secrets_engine("aws", path="nest/inner")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="path is already in use"):
        root_client.sys.enable_secrets_engine("aws", path="nest")
    assert "nest/" not in mounts(root_client)


def test_disable(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    root_client.sys.enable_secrets_engine("aws", path="short-lived")
    assert "short-lived/" in mounts(root_client)
    resp = root_client.sys.disable_secrets_engine("short-lived")
    assert resp.status_code == 204
    assert "short-lived/" not in mounts(root_client)
    assert "short-lived/" not in root_client.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.sys.read_mount_configuration("short-lived")
    missing = dev_server.request("GET", "short-lived/roles/x", token=ROOT_TOKEN)
    assert missing.status_code == 404
    assert root_client.sys.disable_secrets_engine("never-mounted").status_code == 204
    # The path can be used again, and the new mount is a new mount.
    root_client.sys.enable_secrets_engine("aws", path="short-lived")
    assert mounts(root_client)["short-lived/"]["config"]["default_lease_ttl"] == 0


def test_unknown_path_under_a_mount_is_404(dev_server: ServerProcess) -> None:
    resp = dev_server.request("GET", "aws/no/such/path/here", token=ROOT_TOKEN)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json"
    no_mount = dev_server.request("GET", "nothing-mounted-here/x", token=ROOT_TOKEN)
    assert no_mount.status_code == 404
    assert "no handler for route" in no_mount.json()["errors"][0]


def test_concurrent_enables_of_one_path_yield_one_mount(dev_server: ServerProcess) -> None:
    url = dev_server.v1("sys/mounts/raced")

    def enable(_: int) -> int:
        with requests.Session() as session:
            resp = session.post(url, headers={"X-Vault-Token": ROOT_TOKEN}, json={"type": "aws"})
            return resp.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(enable, range(8)))
    assert sorted(statuses) == [204] + [400] * 7, statuses
    listing = dev_server.client(ROOT_TOKEN).sys.list_mounted_secrets_engines()["data"]
    assert [path for path in listing if path.startswith("raced")] == ["raced/"]


def test_tune_max_alone_and_the_server_cap(root_client: hvac.Client) -> None:
    """As Vault (and OpenBao, tests/differential/test_mounts.py): a mount max may sit below the
    server default when the mount has no default of its own, and above the server's max (then
    it is the mount's limit: Terraform's `max_lease_ttl_seconds` often sets one); enabling, a
    default over the server's max without a mount max is refused."""
    root_client.sys.enable_secrets_engine("aws", path="max-only")
    resp = root_client.sys.tune_mount_configuration("max-only", max_lease_ttl="2h")
    assert resp.status_code == 204
    assert root_client.sys.read_mount_configuration("max-only")["data"]["max_lease_ttl"] == 7200

    resp = root_client.sys.tune_mount_configuration("max-only", max_lease_ttl=SYSTEM_TTL + 1)
    assert resp.status_code == 204
    tuned = root_client.sys.read_mount_configuration("max-only")["data"]
    assert tuned["max_lease_ttl"] == SYSTEM_TTL + 1

    with pytest.raises(
        hvac.exceptions.InvalidRequest,
        match=f"given default lease TTL greater than system max lease TTL of {SYSTEM_TTL}",
    ):
        root_client.sys.enable_secrets_engine(
            "aws", path="too-long", config={"default_lease_ttl": SYSTEM_TTL + 1}
        )
    assert "too-long/" not in root_client.sys.list_mounted_secrets_engines()["data"]
