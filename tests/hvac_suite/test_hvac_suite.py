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
AUTH_METHODS = "tests/integration_tests/api/auth_methods"
SYSTEM_BACKEND = "tests/integration_tests/api/system_backend"
# Where each file lives among hvac's tests, when not in AUTH_METHODS.
FOLDERS = {"test_wrapping.py": SYSTEM_BACKEND}

NOT_A_TEST = "hvac's context-manager helper named test_*: collected by pytest, runs nothing"

DESELECTED = {
    "test_token.py::TestToken::test_policy": NOT_A_TEST,
    "test_token.py::TestToken::test_role": NOT_A_TEST,
}

PASSED = {
    "test_approle.py": {
        "TestAppRole::test_create_or_update_approle_0_create_test_role",
        "TestAppRole::test_create_or_update_approle_1_bad_token_type",
        "TestAppRole::test_list_roles",
        "TestAppRole::test_read_role",
        "TestAppRole::test_delete_role",
        "TestAppRole::test_read_role_id",
        "TestAppRole::test_generate_secret_id_0_good_request_no_metadata",
        "TestAppRole::test_generate_secret_id_1_good_request_good_metadata",
        "TestAppRole::test_generate_secret_id_2_good_request_good_metadata",
        "TestAppRole::test_generate_secret_id_3_bad_metadata_option",
        "TestAppRole::test_create_custom_secret_id_0_good_request_no_metadata",
        "TestAppRole::test_create_custom_secret_id_1_good_request_good_metadata",
        "TestAppRole::test_create_custom_secret_id_2_good_request_good_metadata",
        "TestAppRole::test_create_custom_secret_id_3_bad_metadata_option",
        "TestAppRole::test_read_secret_id",
        "TestAppRole::test_destroy_secret_id",
        "TestAppRole::test_list_secret_id_accessors",
        "TestAppRole::test_read_secret_id_accessor",
        "TestAppRole::test_destroy_secret_id_accessor",
        "TestAppRole::test_login",
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
        "TestToken::test_create_wrapped_token_periodic",
        "TestToken::test_create_wrapped_token_w_role",
    },
    "test_wrapping.py": {
        "TestWrapping::test_unwrap",
        "TestWrapping::test_wrap_0_default_params",
        "TestWrapping::test_wrap_1_test_payload_and_default_TTL",
        "TestWrapping::test_wrap_2_default_payload_and_TTL_120",
        "TestWrapping::test_wrap_3_test_payload_and_TTL_120",
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
    folder = FOLDERS.get(test_file, AUTH_METHODS)
    deselect = [
        f"--deselect={folder}/{node}" for node in DESELECTED if node.startswith(test_file + "::")
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
            *(f"--junitxml={report}", *deselect, f"{folder}/{test_file}"),
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
