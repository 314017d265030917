"""hvac's own integration tests, run unmodified against a real awsbroker server.

The test files are hvac's, from the sdist of the installed hvac (tests/support/hvac_sdist.py
fetches it; none of it is in our repository). They run in a pytest subprocess with our plugin
`awsbroker_hvac.py` (beside this file), which makes hvac's `ServerManager` start `awsbroker
server` instead of `vault server`; each test class gets its own server, initialized and
unsealed through hvac as hvac does it.

Every test of each file either passes or is deselected here with the reason; the set that
passes must be exactly `PASSED`, so a regression (or a new hvac with other tests) fails.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.support import hvac_sdist
from tests.support.cli import clean_environ

PLUGIN_DIR = Path(__file__).parent
API = "tests/integration_tests/api"
AUTH_METHODS = f"{API}/auth_methods"


def location(test_file: str) -> str:
    """A key of `PASSED`: a file of hvac's auth_methods tests (`test_token.py`), or a path
    under hvac's `tests/integration_tests/api` (`system_backend/test_audit.py`)."""
    return f"{API}/{test_file}" if "/" in test_file else f"{AUTH_METHODS}/{test_file}"


WRAPPING = "response wrapping (X-Vault-Wrap-TTL) is not served: a 400 says so (compatibility.md)"
NOT_A_TEST = "hvac's context-manager helper named test_*: collected by pytest, runs nothing"
VAULT_BINARY = (
    "hvac decodes the new root token by running the `vault` binary, which is not installed "
    "here; the same flow passes with the bao CLI (tests/cli/test_bao_rekey_generate_root.py) "
    "and hvac's own calls in tests/integration/test_generate_root.py"
)

DESELECTED = {
    "test_approle.py::TestAppRole::test_generate_secret_id_1_good_request_good_metadata": (
        WRAPPING
    ),
    "test_approle.py::TestAppRole::test_generate_secret_id_2_good_request_good_metadata": (
        WRAPPING
    ),
    "test_approle.py::TestAppRole::test_create_custom_secret_id_1_good_request_good_metadata": (
        WRAPPING
    ),
    "test_approle.py::TestAppRole::test_create_custom_secret_id_2_good_request_good_metadata": (
        WRAPPING
    ),
    "test_token.py::TestToken::test_create_wrapped_token_periodic": WRAPPING,
    "test_token.py::TestToken::test_create_wrapped_token_w_role": WRAPPING,
    "test_token.py::TestToken::test_policy": NOT_A_TEST,
    "test_token.py::TestToken::test_role": NOT_A_TEST,
    "system_backend/test_auth.py::TestAuth::test_auth_backend_manipulation": (
        "enables the `github` auth method, which is not served (400 unknown auth method type)"
    ),
    **{
        f"system_backend/test_health.py::TestHealth::test_read_health_status_{case}": (
            "hvac skips it itself: it needs a Vault HA standby node"
        )
        for case in (
            "1_unsealed_standby_node_HEAD_method",
            "2_unsealed_standby_node_GET_method",
            "3_sealed_standby_node_HEAD_method",
            "4_sealed_standby_node_GET_method",
        )
    },
    **{
        f"test_jwt.py::TestJWT::{name}": (
            "signs its JWT with Vault's identity OIDC provider (`identity/oidc/*`): there is no "
            "identity store here (compatibility.md)"
        )
        for name in (
            "test_configure_0_configure_using_vault_identity_OIDC",
            "test_jwt_login_0_success",
            "test_read_config_0_configure_using_vault_identity_OIDC",
        )
    },
    **{
        f"test_kubernetes.py::TestKubernetes::{name}": (
            "writes a kubernetes_ca_cert that holds no certificate, refused here with a 400 "
            "(compatibility.md, Kubernetes auth)"
        )
        for name in (
            "test_configure_0_success",
            "test_configure_1_issuer_test",
            "test_list_roles_0_success",
            "test_list_roles_1_no_roles",
            "test_read_config_0_success",
        )
    },
    "system_backend/test_key.py::TestKey::test_start_generate_root_with_completion": VAULT_BINARY,
}
# hvac's system_backend/test_mount.py and test_lease.py are not run either: their setUp mounts kv
# and pki, which are not served; what they call is run through hvac by
# tests/integration/test_remount.py (`move_backend`, on an `aws` mount) and
# tests/integration/test_token_leases.py (the lease methods, on token leases).
# hvac's system_backend/test_policies.py is not run: its setUp mounts a `kv` engine, which is not
# served, so every test of it fails before its policy calls (the same calls as
# system_backend/test_policy.py and tests/differential/test_policies.py make, which pass).

PASSED = {
    "test_approle.py": {
        "TestAppRole::test_create_or_update_approle_0_create_test_role",
        "TestAppRole::test_create_or_update_approle_1_bad_token_type",
        "TestAppRole::test_list_roles",
        "TestAppRole::test_read_role",
        "TestAppRole::test_delete_role",
        "TestAppRole::test_read_role_id",
        "TestAppRole::test_generate_secret_id_0_good_request_no_metadata",
        "TestAppRole::test_generate_secret_id_3_bad_metadata_option",
        "TestAppRole::test_create_custom_secret_id_0_good_request_no_metadata",
        "TestAppRole::test_create_custom_secret_id_3_bad_metadata_option",
        "TestAppRole::test_read_secret_id",
        "TestAppRole::test_destroy_secret_id",
        "TestAppRole::test_list_secret_id_accessors",
        "TestAppRole::test_read_secret_id_accessor",
        "TestAppRole::test_destroy_secret_id_accessor",
        "TestAppRole::test_login",
    },
    "secrets_engines/test_aws.py": {
        "TestAws::test_configure_lease_0_success",
        "TestAws::test_configure_root_iam_credentials_0_success",
        "TestAws::test_create_or_update_role_0_success",
        "TestAws::test_create_or_update_role_1_with_policy_arns",
        "TestAws::test_create_or_update_role_2_assumed_role_with_policy_document",
        "TestAws::test_create_or_update_role_3_invalid_credential_type",
        "TestAws::test_delete_role_0_success",
        "TestAws::test_list_roles_0_success",
        "TestAws::test_read_lease_0_success",
        "TestAws::test_read_role_0_success",
    },
    "system_backend/test_audit.py": {
        "TestAudit::test_audit_backend_manipulation",
        "TestAudit::test_audit_hash_0_hash_returned",
        "TestAudit::test_audit_hash_1_audit_backend_not_enabled",
    },
    "system_backend/test_auth.py": {"TestAuth::test_tune_auth_backend"},
    "system_backend/test_health.py": {
        "TestHealth::test_read_health_status_0_default_params",
        "TestHealth::test_read_health_status_5_GET_method",
    },
    "system_backend/test_init.py": {
        "TestInit::test_is_initialized",
        "TestInit::test_read_init_status",
    },
    "system_backend/test_leader.py": {"TestLeader::test_read_health_status"},
    "system_backend/test_policy.py": {
        "TestPolicy::test_create_or_update_policy_0_success",
        "TestPolicy::test_create_or_update_policy_1_pretty_print_false",
        "TestPolicy::test_json_policy_manipulation",
        "TestPolicy::test_policy_manipulation",
    },
    "system_backend/test_seal.py": {"TestSeal::test_seal_unseal", "TestSeal::test_unseal_multi"},
    "test_jwt.py": {
        "TestJWT::test_create_role_0_success",
        "TestJWT::test_delete_role_0_success",
        "TestJWT::test_list_roles_0_success",
        "TestJWT::test_read_role_0_success",
    },
    "test_kubernetes.py": {
        "TestKubernetes::test_configure_2_set_invalid_kubernetes_ca_cert",
        "TestKubernetes::test_configure_3_set_invalid_pem_key",
        "TestKubernetes::test_configure_4_set_invalid_token_reviewer_jwt",
        "TestKubernetes::test_configure_5_missing_kubernetes_ca_cert",
        "TestKubernetes::test_create_role_0_success",
        "TestKubernetes::test_create_role_1_both_bounds_wildcard_permitted",
        "TestKubernetes::test_create_role_2_token_type",
        "TestKubernetes::test_create_role_3_serviceaccount_name_for_alias",
        "TestKubernetes::test_create_role_4_with_audience_parameter",
        "TestKubernetes::test_delete_role_0_success",
        "TestKubernetes::test_delete_role_1_nonexistent_role_name",
        "TestKubernetes::test_list_roles_2_no_config",
        "TestKubernetes::test_read_config_1_no_config_written_yet",
        "TestKubernetes::test_read_role_0_success",
        "TestKubernetes::test_read_role_1_nonexistent_role_name",
    },
    "system_backend/test_key.py": {
        "TestKey::test_start_generate_root_then_cancel",
        "TestKey::test_rotate",
        "TestKey::test_rekey_multi",
        "TestKey::test_rekey_verify_multi",
        "TestKey::test_get_backed_up_keys",
    },
    "test_token.py": {
        "TestToken::test_auth_token_manipulation",
        "TestToken::test_self_auth_token_manipulation",
        "TestToken::test_auth_orphaned_token_manipulation",
        "TestToken::test_token_accessor",
        "TestToken::test_create_token_explicit_max_ttl",
        "TestToken::test_create_token_max_ttl",
        "TestToken::test_create_token_periodic",
        "TestToken::test_token_roles",
        "TestToken::test_create_token_w_role",
    },
}


def outcomes(report: Path) -> dict[str, str]:
    """`Class::test` → passed, failed, error or skipped (with its message), from JUnit XML."""
    found: dict[str, str] = {}
    tree = ET.parse(report)  # noqa: S314 - written by our own pytest subprocess
    for case in tree.getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome = f"{kind}: {element.get('message', '')}"[:500]
        found[name] = outcome
    return found


@pytest.mark.parametrize("test_file", sorted(PASSED))
def test_hvac_integration_file_passes(test_file: str, tmp_path: Path) -> None:
    root = hvac_sdist.require()
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")  # none of hvac's options (-n auto) nor ours
    report = tmp_path / "report.xml"
    deselect = [
        f"--deselect={location(node)}" for node in DESELECTED if node.startswith(test_file + "::")
    ]
    env = {
        **clean_environ(),
        "HOME": str(tmp_path / "home"),  # no ~/.vault-token for hvac to pick up
        "PYTHONPATH": f"{root}:{PLUGIN_DIR}",
        "AWSBROKER_HVAC_WORKDIR": str(tmp_path / "servers"),
    }
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-c", str(ini), f"--rootdir={root}"),
            *("-p", "awsbroker_hvac", "-p", "no:cacheprovider", "-q", "-rfE"),
            *(f"--junitxml={report}", *deselect, location(test_file)),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.exists(), f"hvac's tests did not run:\n{result.stdout}\n{result.stderr}"
    found = outcomes(report)
    not_passed = {name: outcome for name, outcome in found.items() if outcome != "passed"}
    assert not not_passed, f"{not_passed}\n{result.stdout[-6000:]}"
    assert set(found) == PASSED[test_file], result.stdout[-6000:]
    assert result.returncode == 0, result.stdout[-6000:]
