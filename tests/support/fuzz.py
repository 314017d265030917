"""Fuzzing a live server from its own OpenAPI description (`sys/internal/specs/openapi`).

One `awsbroker server --dev` process with a random root token, its `aws/` mount configured
against an in-process moto server (auth off) with one role per credential type and a static
role, so engine paths run for real. Schemathesis (4.x) turns each documented operation into a
Hypothesis strategy, in positive (valid by the schema) and negative (violating it) modes, with
the root token (and a few cases per operation with a generated one); each answer is judged:

- a 5xx is a failure, except a 502 from an engine path whose message says AWS (moto) could not
  be reached or answered garbage (`UPSTREAM_502`): the server is right to say so;
- so is a dropped connection or a timeout (the server crashed or hung), and an error status
  whose body is not `{"errors": [...]}`.

Each operation also gets the hostile requests of `tests/support/fuzz_hostile.py` (bodies nested
past the limit, odd `Content-Type`s, a foreign `Origin` or `Host`), judged the same way, and
each must get its own status (400, 403, 421).

After the run, `check_state` walks what the run may have left behind (mounts, policies, roles,
static roles, leases, token accessors) and reads every item: none may answer 500, and the
engine must still issue and revoke a credential.

Left out of the schema (they would end the run, not test input handling): `EXCLUDED`. Left out
case by case: disabling the `aws/` mount. After every `aws/config/root` write the good
configuration is written back, so later cases still reach moto and not generated endpoints.

`tests/fuzz/test_openapi_fuzz.py` runs a short, derandomized budget; `scripts/fuzz` runs this
module's `main` with thousands of cases and prints the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from tests.support.fuzz_hostile import Target, send_hostile
from tests.support.fuzz_state import check_state, log_exceptions
from tests.support.moto_server import REGION, MotoServer, bootstrap_admin, moto_client
from tests.support.server import ServerProcess, dev_server

OPENAPI_PATH = "sys/internal/specs/openapi"
MOUNT = "aws"
TIMEOUT = 30.0
# (method, path) -> why the operation is not fuzzed.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/sys/seal"): "seals the server: every later request would be 503",
    ("POST", "/auth/token/revoke-self"): "revokes the root token the run uses",
    ("POST", "/sys/audit/{path}"): (
        "enables audit devices that write files at generated paths or dial generated "
        "addresses; a device that then fails makes every request fail closed (500 by design)"
    ),
}
# A 502 is allowed on these paths, with one of these messages: AWS unreachable or garbled.
ENGINE_PATH = re.compile(rf"^/{MOUNT}/")
UPSTREAM_502 = re.compile(
    r"Could not connect|Connect timeout|Read timeout|Unable to parse response|"
    r"Throttl|Rate exceeded|endpoint URL|the federation endpoint could not be reached",
    re.IGNORECASE,
)
DYNAMIC_ROLES = ("fuzz-iam", "fuzz-assumed", "fuzz-federation", "fuzz-session")
STATIC_ROLE = "fuzz-static"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


@dataclass
class Failure:
    label: str
    mode: str
    kind: str
    status: int
    detail: str


@dataclass
class Report:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    allowed: list[Failure] = field(default_factory=list)  # 502s judged legitimate
    skipped: int = 0  # cases not sent (they would disable aws/)
    not_generated: list[str] = field(default_factory=list)
    operations: int = 0
    hostile: int = 0  # of `cases`: the hostile requests (tests/support/fuzz_hostile.py)
    seconds: float = 0.0
    by_operation: Counter[str] = field(default_factory=Counter)

    def distinct_failures(self) -> dict[str, Failure]:
        """One failure per (operation, kind, status, first error line)."""
        out: dict[str, Failure] = {}
        for failure in self.failures:
            key = f"{failure.label} {failure.kind} {failure.status} {failure.detail[:80]}"
            out.setdefault(key, failure)
        return out

    def summary(self) -> str:
        lines = [
            f"operations fuzzed: {self.operations} (excluded: {len(EXCLUDED)})",
            f"cases sent: {self.cases} (hostile: {self.hostile}), skipped: {self.skipped}, "
            f"in {self.seconds:.1f}s",
            "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
            f"allowed 502 (AWS unreachable): {len(self.allowed)}",
            f"failures: {len(self.failures)} ({len(self.distinct_failures())} distinct)",
        ]
        lines += [f"  {key}" for key in self.distinct_failures()]
        if self.not_generated:
            lines.append("could not generate: " + ", ".join(self.not_generated))
        return "\n".join(lines)


@dataclass
class Budget:
    """Cases per operation and generation mode; and per operation, mode and seeded role name
    for the engine's `{name}` paths (so credentials are really issued with generated input)."""

    per_operation: int
    per_seeded_name: int
    anonymous: int = 1  # per operation: cases without the root token
    seed: int | None = None  # None: derandomized (the same cases every run)


class World:
    """The server under test, moto behind its `aws/` mount, and the seeded state."""

    def __init__(self, workdir: Path) -> None:
        self.moto = MotoServer()
        self.mount = MOUNT
        self.token = f"fuzz-root-{uuid.uuid4().hex}"
        self.server: ServerProcess = dev_server(workdir, root_token=self.token)
        self.config: dict[str, Any] = {}
        self.role_arn = ""

    def start(self) -> None:
        self.moto.start()
        # Moto's state is per process: earlier tests' users and auth switch are gone.
        self.moto.disable_auth()
        self.moto.reset()
        access_key, secret_key = bootstrap_admin(self.moto.endpoint)
        self.server.start()
        self.config = {
            "access_key": access_key,
            "secret_key": secret_key,
            "region": REGION,
            "iam_endpoint": self.moto.endpoint,
            "sts_endpoint": self.moto.endpoint,
            "max_retries": 1,
            # Console sign-in (aws/console/): a loopback port nobody listens on, never AWS's
            # real sign-in endpoint; the 502 it gives is in UPSTREAM_502.
            "federation_endpoint": "http://127.0.0.1:9/federation",
            # What else a generated write may have changed, back to the defaults.
            "sts_region": "",
            "sts_fallback_endpoints": [],
            "sts_fallback_regions": [],
            "rotation_period": 0,
            "rotation_schedule": "",
            "rotation_window": 0,
            "disable_automated_rotation": False,
        }
        self.restore_config()
        iam = moto_client(self.moto.endpoint, "iam", access_key, secret_key)
        try:
            trust = json.dumps({"Version": "2012-10-17", "Statement": []})
            role = iam.create_role(RoleName="fuzz-target", AssumeRolePolicyDocument=trust)
            self.role_arn = role["Role"]["Arn"]
            iam.create_user(UserName=STATIC_ROLE)
        finally:
            iam.close()
        self.seed_roles()

    def close(self) -> None:
        try:
            self.server.close()
        finally:
            self.moto.stop()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.server.request(method, path, self.token, json=body, timeout=TIMEOUT)

    def restore_config(self) -> None:
        answer = self.call("POST", f"{MOUNT}/config/root", self.config)
        assert answer.status_code in (200, 204), answer.text

    def seed_roles(self) -> None:
        """The seeded roles, anew (not merged with what generated writes left in them)."""
        federation = {"credential_type": "federation_token", "policy_document": ALLOW_ALL}
        roles: dict[str, dict[str, Any]] = {
            "roles/fuzz-iam": {"credential_type": "iam_user", "policy_document": ALLOW_ALL},
            "roles/fuzz-assumed": {"credential_type": "assumed_role", "role_arns": [self.role_arn]},
            "roles/fuzz-federation": federation,
            "roles/fuzz-session": {"credential_type": "session_token"},
            f"static-roles/{STATIC_ROLE}": {"username": STATIC_ROLE, "rotation_period": "1h"},
        }
        for path, body in roles.items():
            for method, data in (("DELETE", None), ("POST", body)):
                answer = self.call(method, f"{MOUNT}/{path}", data)
                assert answer.status_code in (200, 204), f"{method} {path}: {answer.text}"

    def load_schema(self) -> Any:
        answer = self.call("GET", OPENAPI_PATH)
        assert answer.status_code == 200, answer.text
        schema: Any = schemathesis.openapi.from_dict(answer.json())
        for method, path in EXCLUDED:
            schema = schema.exclude(method=method.lower(), path=path)
        return schema


# ---- one case ----------------------------------------------------------------------------


def _skip(case: Any) -> bool:
    """Cases that would disable the `aws/` mount the run needs."""
    if case.operation.method.upper() != "DELETE" or case.operation.path != "/sys/mounts/{path}":
        return False
    target = str((case.path_parameters or {}).get("path", "")).strip("/")
    return target == MOUNT


def _errors_body(answer: requests.Response) -> bool:
    try:
        body = answer.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errors, list) and all(isinstance(e, str) for e in errors)


def judge(case: Any, status: int, text: str) -> str | None:
    """None when the answer is acceptable; else what is wrong with it."""
    return judge_path(case.operation.path, status, text)


def judge_path(path: str, status: int, text: str) -> str | None:
    """`judge` for an operation's path template (`/aws/creds/{name}`)."""
    if status == 502 and ENGINE_PATH.match(path) and UPSTREAM_502.search(text):
        return None
    if status >= 500:
        return "server error"
    return None


class Runner:
    def __init__(self, world: World, report: Report) -> None:
        self.world = world
        self.report = report
        self.session = requests.Session()
        self.base_url = world.server.url + "/v1"

    def send(self, case: Any, mode: GenerationMode, *, anonymous: bool = False) -> None:
        if _skip(case):
            self.report.skipped += 1
            return
        label = f"{case.operation.method.upper()} {case.operation.path}"
        # Anonymous cases keep the generated (random, invalid) token, or none.
        headers = {} if anonymous else {"X-Vault-Token": self.world.token}
        try:
            answer = case.call(
                base_url=self.base_url, session=self.session, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            self.report.cases += 1
            self._fail(case, mode, "no answer", 0, f"{type(exc).__name__}: {exc}")
            if not self.world.server.running:
                raise RuntimeError(f"the server died:\n{self.world.server.log()[-4000:]}") from exc
            return
        self.report.cases += 1
        status = answer.status_code
        self.report.statuses[status] += 1
        self.report.by_operation[f"{label} {status}"] += 1
        text = answer.text[:500]
        problem = judge(case, status, text)
        if problem is None and status >= 500:
            self.report.allowed.append(Failure(label, mode.value, "upstream", status, text))
        elif problem is not None:
            self._fail(case, mode, problem, status, text)
        elif status >= 400 and case.method.upper() != "HEAD" and not _errors_body(answer):
            self._fail(case, mode, "malformed error body", status, text)
        if case.operation.path == f"/{MOUNT}/config/root" and case.method.upper() == "POST":
            self.world.restore_config()

    def run_hostile(self, operation: Any) -> None:
        """The hostile requests (deep bodies, odd Content-Types, foreign Origin and Host)."""
        target = Target(self.session, self.base_url, self.world.server.port, self.world.token)
        send_hostile(target, operation, judge_path, self._record_hostile)
        if operation.path == f"/{MOUNT}/config/root" and operation.method.upper() == "POST":
            self.world.restore_config()

    def _record_hostile(
        self, label: str, kind: str, status: int, text: str, problem: str | None
    ) -> None:
        self.report.cases += 1
        self.report.hostile += 1
        self.report.statuses[status] += 1
        self.report.by_operation[f"{label} {status}"] += 1
        if problem is not None:
            self.report.failures.append(Failure(label, f"hostile: {kind}", problem, status, text))
        elif status >= 500:
            self.report.allowed.append(Failure(label, f"hostile: {kind}", "upstream", status, text))

    def _fail(self, case: Any, mode: GenerationMode, kind: str, status: int, text: str) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        with contextlib.suppress(Exception):
            text += "\n" + case.as_curl_command(headers={"X-Vault-Token": "$TOKEN"})
        self.report.failures.append(Failure(label, mode.value, kind, status, text))

    def run_operation(self, operation: Any, budget: Budget) -> None:
        self.report.operations += 1
        variants: list[tuple[dict[str, str] | None, int]] = [(None, budget.per_operation)]
        for name in _seeded_names(operation.path):
            variants.append(({"name": name}, budget.per_seeded_name))
        if operation.path.startswith(f"/{MOUNT}/"):
            self.world.seed_roles()  # earlier cases may have overwritten or deleted them
        # The root token is fixed, not generated: else negative mode spends its cases on
        # leaving it out. A few anonymous cases per operation test that side.
        token = {"X-Vault-Token": self.world.token}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed, examples in variants:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=fixed, headers=token
                )
                self._drive(operation, strategy, mode, examples, budget.seed)
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        mode = GenerationMode.POSITIVE
        self._drive(operation, strategy, mode, budget.anonymous, budget.seed, anonymous=True)

    def _drive(
        self,
        operation: Any,
        strategy: Any,
        mode: GenerationMode,
        examples: int,
        seed: int | None,
        *,
        anonymous: bool = False,
    ) -> None:
        if examples <= 0:
            return
        try:
            self._run(strategy, mode, examples, seed, anonymous)
        except HypothesisException:  # e.g. no negative case of an operation without inputs
            self.report.not_generated.append(f"{operation.label} ({mode.value})")

    def _run(
        self, strategy: Any, mode: GenerationMode, examples: int, seed: int | None, anonymous: bool
    ) -> None:
        test_settings = settings(
            max_examples=examples,
            derandomize=seed is None,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )

        @test_settings
        @given(case=strategy)
        def one(case: Any) -> None:
            self.send(case, mode, anonymous=anonymous)

        test: Callable[[], None] = one
        if seed is not None:
            test = hypothesis_seed(seed)(one)
        test()


def _seeded_names(path: str) -> list[str]:
    if re.fullmatch(rf"/{MOUNT}/(creds|sts|container-creds|roles)/\{{name\}}", path):
        return list(DYNAMIC_ROLES)
    if re.fullmatch(rf"/{MOUNT}/static-(creds|roles)/\{{name\}}", path):
        return [STATIC_ROLE]
    return []


def operations(schema: Any) -> list[Any]:
    out = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            out.append(result.ok())
        else:
            error = result.err()
            raise AssertionError(f"the document has an unusable operation: {error}")
    return out


def fuzz(world: World, budget: Budget) -> Report:
    report = Report()
    runner = Runner(world, report)
    started = time.monotonic()
    try:
        for operation in operations(world.load_schema()):
            runner.run_operation(operation, budget)
            runner.run_hostile(operation)
    finally:
        runner.session.close()
        report.seconds = time.monotonic() - started
    return report


# ---- the long run ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-operation", type=int, default=20, help="cases per operation/mode")
    parser.add_argument("--per-name", type=int, default=5, help="cases per seeded role name")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto's request log
    budget = Budget(args.per_operation, args.per_name, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="awsbroker-fuzz-") as workdir:
        world = World(Path(workdir))
        try:
            world.start()
            report = fuzz(world, budget)
            problems = check_state(world)
            logged = log_exceptions(world)
        finally:
            world.close()
    print(report.summary())
    print(f"state problems after the run: {len(problems)}")
    for problem in problems:
        print(f"  {problem}")
    print(f"tracebacks in the server log: {len(logged)}")
    for line in sorted(set(logged)):
        print(f"  {line}")
    for failure in report.distinct_failures().values():
        print(f"\n--- {failure.label} [{failure.mode}] {failure.kind} {failure.status}")
        print(failure.detail)
    return 1 if report.failures or problems else 0


if __name__ == "__main__":
    sys.exit(main())
