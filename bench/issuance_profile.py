"""Where the CPU of one credential goes: awsbroker's request path vs the same AWS call made
with boto3 directly, profiled in one process and grouped by area.

    .venv/bin/python -m bench.issuance_profile                  # assumed_role, 2000 each
    .venv/bin/python -m bench.issuance_profile --type federation_token --count 500
    .venv/bin/python -m bench.issuance_profile --type iam_user --count 500

awsbroker's side is an in-process `Core` on SQLite (initialised, unsealed, `aws/` mounted, one
role), handling `aws/creds/<role>` reads with the root token, its AWS calls made in this
process (no HTTP server: that is measured by `bench.issuance`). The
baseline makes the role's AWS calls (one STS call; for `iam_user` CreateUser, PutUserPolicy and
CreateAccessKey) with one boto3 client per service built as the engine builds its own
(`transport/boto.py`). Both talk to the fake AWS (`tests/support/fake_aws.py`, no latency) in
its own process, so none of its CPU is counted. Each side runs `--count` requests twice: once
timed by `time.process_time()` (CPU ms per credential), once under cProfile, whose own time
per function is summed by area, leaving out the built-ins that mostly wait (socket reads and
writes, SQLite's statements, locks): the shares. cProfile's overhead inflates small
functions, so read them as proportions of the measured CPU. Figures from one run; the
machine may be shared: run it more than once.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import boto3

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.mounts import new_entry
from awsbroker.core.system.backend import SystemBackend
from awsbroker.engines.aws.transport.boto import client_config
from awsbroker.physical.sqlite import SQLiteStorage
from awsbroker.sdk.logical import JSONObject, Operation, Request
from awsbroker.server.compose import engines

ACCESS_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
ROLE_ARN = "arn:aws:iam::123456789012:role/awsbroker-bench"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
ROLES: dict[str, JSONObject] = {
    "assumed_role": {"credential_type": "assumed_role", "role_arns": [ROLE_ARN]},
    "federation_token": {"credential_type": "federation_token", "policy_document": POLICY},
    "iam_user": {"credential_type": "iam_user", "policy_document": POLICY},
}
# Areas, first match wins: (name, substrings of the profiled function's file path).
AREAS: list[tuple[str, tuple[str, ...]]] = [
    ("botocore: signing (SigV4)", ("botocore/auth.py", "botocore/signers.py", "/hmac.py")),
    ("botocore: request serialising", ("botocore/serialize.py", "botocore/validate.py")),
    ("botocore: response parsing (XML)", ("botocore/parsers.py", "xml/etree", "ElementTree")),
    ("botocore: endpoint resolution", ("botocore/regions.py", "botocore/endpoint_provider.py")),
    ("botocore: events and hooks", ("botocore/hooks.py", "botocore/handlers.py")),
    ("botocore: retries", ("botocore/retries", "botocore/retryhandler.py")),
    ("HTTP (urllib3, http.client, socket)", ("urllib3/", "http/client.py", "socket.py",
                                              "botocore/httpsession.py", "botocore/awsrequest.py",
                                              "ssl.py", "email/")),
    ("botocore: the rest", ("botocore/", "boto3/")),
    ("awsbroker: engine", ("awsbroker/engines/",)),
    ("awsbroker: storage (barrier, SQLite)", ("awsbroker/barrier/", "awsbroker/physical/",
                                              "sqlite3", "cryptography/")),
    ("awsbroker: core (tokens, leases, audit, router)", ("awsbroker/core/", "awsbroker/audit/",
                                                         "awsbroker/policy/")),
    ("awsbroker: sdk", ("awsbroker/sdk/",)),
    ("metrics (prometheus-client)", ("prometheus_client/",)),
    ("json", ("json/",)),
    ("threads and locks", ("threading.py", "queue.py")),
]  # fmt: skip


# Built-ins whose wall time is mostly waiting: socket reads and writes, SQLite's statements
# (their commits wait for the disk), locks. Their CPU is left out of the shares (not of the
# measured total).
WAITS = ("recv_into", "sendall", "'execute'", "'commit'", "acquire", "'poll'", "'select'")


def area_of(filename: str) -> str:
    for name, needles in AREAS:
        if any(n in filename for n in needles):
            return name
    if filename.startswith("~") or filename == "<string>":
        return "builtins (C: hashing, crypto, sockets...)"
    return "other Python"


def profile(run: Callable[[], None]) -> tuple[dict[str, float], float]:
    """Own time per area, and the total, of `run` under cProfile."""
    profiler = cProfile.Profile()  # wall clock: the CPU clock's syscalls would dwarf the code
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    areas: dict[str, float] = defaultdict(float)
    raw = stats.stats  # (file, line, function) -> (calls, primitive, own, cumulative, callers)
    for (filename, _, function), (_, _, own, _, callers) in raw.items():
        if any(w in function for w in WAITS):
            continue  # waiting for the fake AWS, the disk or a lock: not CPU
        name = area_of(filename)
        if name.startswith("builtins") and callers:
            # A C function counts where it was called from (hmac's digests in signing...).
            caller_file = next(iter(callers))[0]
            name = area_of(caller_file) if not caller_file.startswith("~") else name
        areas[name] += own
    return dict(areas), sum(areas.values())


def cpu_ms(run: Callable[[], None], count: int) -> float:
    started = time.process_time()
    run()
    return (time.process_time() - started) * 1000 / count


def start_fake() -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_aws", "--latency", "0"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().decode().strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.issuance_profile", description=__doc__)
    p.add_argument("--type", choices=sorted(ROLES), default="assumed_role")
    p.add_argument("--count", type=int, default=2000, help="credentials per side and pass")
    args = p.parse_args(argv)
    fake, endpoint = start_fake()
    workdir = tempfile.TemporaryDirectory(prefix="awsbroker-bench-")
    try:
        physical = SQLiteStorage(str(Path(workdir.name) / "profile.db"))
        core = Core(physical, engines(), CoreConfig(storage_type="sqlite"),
                    system_backend=SystemBackend)  # fmt: skip
        keys, token = core.initialize(1, 1)
        core.submit_unseal_key(keys[0])
        core.enable_mount(new_entry("aws/", "aws"))
        root: JSONObject = {
            "access_key": ACCESS_KEY[0], "secret_key": ACCESS_KEY[1], "region": "us-east-1",
            "iam_endpoint": endpoint, "sts_endpoint": endpoint, "max_retries": 0,
        }  # fmt: skip
        core.handle(Request(Operation.UPDATE, "aws/config/root", data=root, client_token=token))
        core.handle(Request(Operation.UPDATE, "aws/roles/r", data=ROLES[args.type],
                            client_token=token))  # fmt: skip

        def broker() -> None:
            for _ in range(args.count):
                response = core.handle(Request(Operation.READ, "aws/creds/r", client_token=token))
                assert response.data is not None
                assert response.data["access_key"]

        sts = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY[0], aws_secret_access_key=ACCESS_KEY[1]
        ).client("sts", region_name="us-east-1", endpoint_url=endpoint, config=client_config(0))
        iam = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY[0], aws_secret_access_key=ACCESS_KEY[1]
        ).client("iam", region_name="us-east-1", endpoint_url=endpoint, config=client_config(0))
        users = itertools.count()

        def direct() -> None:
            for i in range(args.count):
                if args.type == "iam_user":
                    name = f"direct-{next(users)}"
                    iam.create_user(UserName=name, Path="/")
                    iam.put_user_policy(UserName=name, PolicyName="r", PolicyDocument=POLICY)
                    iam.create_access_key(UserName=name)
                elif args.type == "assumed_role":
                    sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=f"s{i}", DurationSeconds=3600)
                else:
                    sts.get_federation_token(Name=f"n{i}", Policy=POLICY, DurationSeconds=3600)

        broker(), direct()  # warm both: clients built, models loaded, caches filled
        broker_ms, direct_ms = cpu_ms(broker, args.count), cpu_ms(direct, args.count)
        broker_areas, broker_total = profile(broker)
        direct_areas, direct_total = profile(direct)
        core.close()
    finally:
        fake.terminate()
        fake.wait()
        workdir.cleanup()
    print(f"{args.type}, {args.count} credentials per side, this process's CPU (no HTTP server;"
          " fake AWS in its own process)\n")  # fmt: skip
    print(f"CPU ms per credential: awsbroker {broker_ms:.2f}, direct boto3 {direct_ms:.2f}, "
          f"ratio {broker_ms / direct_ms:.2f}\n")  # fmt: skip
    names = sorted(set(broker_areas) | set(direct_areas), key=lambda n: -broker_areas.get(n, 0))
    print(f"{'area (share of profiled CPU, as ms of measured CPU)':52} {'awsbroker':>16}"
          f" {'direct boto3':>16}")  # fmt: skip
    for name in names:
        b, d = (
            broker_areas.get(name, 0.0) / broker_total,
            direct_areas.get(name, 0.0) / direct_total,
        )
        print(f"{name:52} {b:>9.1%} {b * broker_ms:5.2f}ms {d:>9.1%} {d * direct_ms:5.2f}ms")
    print(f"{'total':52} {'':>9} {broker_ms:5.2f}ms {'':>9} {direct_ms:5.2f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
