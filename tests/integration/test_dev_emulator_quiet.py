"""`awsbroker server --dev --dev-aws-emulator` keeps the emulator's log out of the terminal:
revoking an `iam_user` lease, for which moto lacks ListServiceSpecificCredentials (a 500 and
a 40-line traceback in moto's log), prints one WARNING line naming the call, and no traceback
or HTML. The emulator's log goes to a file the start-up banner names, and its address,
given or picked, is in the banner too."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running


def test_revoking_an_iam_user_lease_prints_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # where the server makes its awsbroker-dev-* dir
    workdir = tmp_path / "server"
    workdir.mkdir()
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]

    with running(ServerProcess(workdir, args, port)) as server:
        vault = server.client(ROOT_TOKEN)
        creds = vault.secrets.aws.generate_credentials("iam-user")
        vault.sys.revoke_lease(creds["lease_id"])
        output = server.log()

    (emulator_log,) = temp.glob("awsbroker-dev-*/emulator.log")
    assert f"The emulator's own log is in {emulator_log}." in output
    assert "Traceback" not in output
    assert "<html" not in output.lower()
    assert "<!doctype" not in output.lower()
    about = [line for line in output.splitlines() if "ListServiceSpecificCredentials" in line]
    assert len(about) == 1, about
    assert "[WARNING]" in about[0]
    assert "IAM ListServiceSpecificCredentials is not supported by the AWS endpoint" in about[0]
    assert creds["data"]["access_key"] not in output
    moto_log = emulator_log.read_text()
    assert "list_service_specific_credentials action has not been implemented" in moto_log
    assert '"POST / HTTP/1.1" 200' in moto_log  # the request lines are there, not on stderr


def test_the_emulator_listens_where_asked_and_the_banner_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    port, emulator_port = free_port(), free_port()
    endpoint = f"http://{HOST}:{emulator_port}"
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-aws-emulator-address", f"{HOST}:{emulator_port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]

    with running(ServerProcess(tmp_path, args, port)) as server:
        output = server.log()
        assert f"AWS emulator (moto) on {endpoint}; aws/ is configured against it" in output
        assert f"AWS_ENDPOINT_URL={endpoint} awsbroker aws exec" in output
        # The emulator answers there, and aws/ issues through it: the key it gives is known.
        creds = server.client(ROOT_TOKEN).secrets.aws.generate_credentials("iam-user")["data"]
        sts = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=creds["access_key"],
            aws_secret_access_key=creds["secret_key"],
        )
        arn = sts.get_caller_identity()["Arn"]  # an unknown key would be moto's user/moto
        assert arn.startswith("arn:aws:iam::123456789012:user/vault-root-iam-user-"), arn
