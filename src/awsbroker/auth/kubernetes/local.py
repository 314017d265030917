"""The pod's own service account, as Kubernetes mounts it into every pod.

When the config sets no `token_reviewer_jwt` (or no `kubernetes_ca_cert`) and
`disable_local_ca_jwt` is false, the broker, running in a pod, uses its own service account's
token (and CA) as Vault does. The files are read at each review, so the token the kubelet
rotates is picked up. The directory is the standard one unless the server's environment sets
`AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR` (for tests, or an unusual mount).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DIR_ENV = "AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR"
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class LocalServiceAccount:
    directory: Path = Path(DEFAULT_DIR)

    @classmethod
    def from_environment(cls) -> LocalServiceAccount:
        return cls(Path(os.environ.get(DIR_ENV) or DEFAULT_DIR))

    def token(self) -> str:
        """The pod's token now, or "" when there is none (not running in a pod)."""
        return self._read("token").strip()

    def ca_cert(self) -> str:
        """The cluster's CA bundle as mounted in the pod, or "" when there is none."""
        return self._read("ca.crt")

    def _read(self, name: str) -> str:
        try:
            with (self.directory / name).open("rb") as f:
                return f.read(MAX_FILE_BYTES).decode("utf-8", "replace")
        except OSError:
            return ""
