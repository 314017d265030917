"""The AWS secrets engine: its table of contents.

Paths: `config/root`, `config/rotate-root`, `config/lease`, `roles/`, `creds/` and `sts/`
(and `container-creds/`, the same credentials for the AWS SDKs' container provider),
`static-roles/` and `static-creds/`. One secret type, `access_keys`, renewed and revoked by the
lease manager. Two kinds of durable jobs, run by the core on one process at their time: `root`
(scheduled rotation of the engine's key) and `static/<role>` (a static role's rotations and
grace periods). A periodic hook, on every process, rolls back half-made IAM users whose
write-ahead entries outlived their request, and recovers rotations a crash interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.engines.aws import (
    iam_user,
    path_config_lease,
    path_config_root,
    path_console,
    path_container_creds,
    path_creds,
    path_revoke_sessions,
    path_roles,
    path_rotate_root,
    path_static_creds,
    path_static_roles,
    root_rotation,
    root_schedule,
    session_revocation,
    static_rotation,
)
from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.records.lease_config import SECRET_ACCESS_KEYS
from awsbroker.engines.aws.transport.clients import ClientMaker, MountClients
from awsbroker.engines.aws.transport.federation import HttpFederation
from awsbroker.sdk.errors import Sealed
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend, JobType, SecretType

# How long a new root key may take to be accepted by AWS (IAM is eventually consistent).
VERIFY_TIMEOUT = 60.0
log = logging.getLogger("awsbroker.engines.aws")

if TYPE_CHECKING:
    from awsbroker.engines.aws.transport.api import Federation


class AWSBackend(FrameworkBackend["AWSBackend"]):
    def __init__(
        self,
        config: BackendConfig,
        calls: ClientMaker | None = None,
        local: ClientMaker | None = None,
    ) -> None:
        super().__init__(
            self,
            paths=[
                *path_config_root.paths(),
                *path_rotate_root.paths(),
                *path_config_lease.paths(),
                *path_roles.paths(),
                *path_creds.paths(),
                *path_container_creds.paths(),
                *path_console.paths(),
                *path_revoke_sessions.paths(),
                *path_static_roles.paths(),
                *path_static_creds.paths(),
            ],
            secrets=[
                SecretType(SECRET_ACCESS_KEYS, revoke=iam_user.revoke, renew=iam_user.renew),
            ],
            periodic=periodic,
            jobs=[
                JobType(root_schedule.JOB, root_rotation.run_job),
                JobType(static_rotation.JOB_PREFIX, static_rotation.run),
            ],
        )
        self.storage = config.storage
        self.system = config.system
        self.mount_path = config.mount_path
        # Credentials issued, AWS calls and rotations are reported here (sdk/telemetry.py).
        self.telemetry = config.telemetry
        # Nothing here is a copy of stored state, which other processes sharing the storage
        # may change at any time: the clients follow config/root as stored at each use
        # (transport/clients.py), and the rest belongs to this process (a lock, the hooks below).
        # The mount's clients come from `calls` (a test's in-process fake), or are the light
        # ones in this process when it is None; `local` makes the clients signed with a one-off
        # key (boto3's when None).
        self.clients = MountClients(
            lambda: root_config.current(self), config.telemetry, calls, local
        )
        # AWS's sign-in federation endpoint, for console sign-in (path_console.py).
        self.federation: Federation = HttpFederation()
        # One rotation (of any key of this mount) at a time in this process.
        self.rotation_lock = threading.RLock()
        self.verify_timeout = VERIFY_TIMEOUT
        self.sleep: Callable[[float], None] = time.sleep
        # Called after each step of a rotation with the step's name; crash tests raise here.
        self.after_step: Callable[[str], None] = lambda step: None


def periodic(backend: AWSBackend) -> None:
    iam_user.rollback_due(backend)
    try:
        session_revocation.maintain(backend)  # issue 19 section 1
    except Sealed:
        raise  # sealed meanwhile: the core's tick stops, quietly, until the unseal
    except Exception:
        log.exception("checking the session deny policies failed; retrying next time")
    if not backend.rotation_lock.acquire(blocking=False):
        return  # a rotation is running here; recover next time
    try:
        root_rotation.recover_abandoned(backend)
        static_rotation.recover_abandoned(backend)
    except Sealed:
        raise
    except Exception:
        log.exception("recovering an interrupted rotation failed; retrying next time")
    finally:
        backend.rotation_lock.release()


def factory(config: BackendConfig) -> AWSBackend:
    return AWSBackend(config)
