"""The storage format version, and the one place where stored records are upgraded.

The physical key `core/format` holds `{"version": N}`: the format of every record in storage.
It is plain JSON like `core/seal-config` (a node reads it before it can unseal), and absent
means format 1, which is written by the first node that starts on the storage.

A build understands the formats up to `latest(STEPS)`. `STEPS` is the ordered table of
upgrades, `{from_version: step}`: the step from N rewrites, through the unsealed barrier, every
record that format N+1 stores differently, and must be safe to run again (a node may die after
the step and before recording its new version). Today's format is 1 and there is no step.

Who may do what, so that no node ever reads records in a format it does not understand:

- A node refuses to start, and to unseal, on storage newer than it understands
  (`check`, raising `StorageTooNew`), and seals itself if the storage moves past it while it
  runs (`tick`: another node took it for dead and upgraded).
- Each node advertises the newest format it understands in its heartbeat (nodes.py). The
  format moves only to what every live node understands: until then a newer node runs at
  the old format, and logs once that it waits and for whom.
- An upgrade is claimed first, with compare-and-set on `core/format` (`upgrading` names the
  target and the node), so two nodes upgrading at once run each step once; after claiming, the
  node looks at the live nodes again, and gives the claim back if one that understands less
  has appeared meanwhile. While a claim stands, its target is the format nodes must
  understand. A claim whose node died is taken over, and its steps resume where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.core.nodes import FIRST_FORMAT, NodeRecord, NodeRegistry
from awsbroker.sdk import records
from awsbroker.sdk.errors import InternalError, StorageTooNew
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.storage import Storage

log = logging.getLogger("awsbroker.core.upgrade")

FORMAT_PATH = "core/format"
Step = Callable[[Storage], None]
Steps = Mapping[int, Step]
STEPS: Steps = {}


def latest(steps: Steps) -> int:
    """The newest format a build with `steps` understands. The table must run without a gap
    from format 1: anything else is a mistake in the code, not in the storage."""
    if set(steps) != set(range(FIRST_FORMAT, FIRST_FORMAT + len(steps))):
        raise ValueError(f"upgrade steps must go from format {FIRST_FORMAT} without a gap")
    return FIRST_FORMAT + len(steps)


@dataclass(frozen=True)
class FormatRecord:
    """`core/format`: the format of storage, and the upgrade under way, if any."""

    version: int
    upgrading_to: int = 0
    by: str = ""  # the boot ID of the node upgrading

    @property
    def required(self) -> int:
        """The newest format a node must understand to read storage now."""
        return max(self.version, self.upgrading_to)

    def dump(self) -> bytes:
        record: JSONObject = {"version": self.version}
        if self.upgrading_to:
            record["upgrading"] = {"to": self.upgrading_to, "by": self.by}
        return records.dump(record)

    @classmethod
    def load(cls, blob: bytes) -> FormatRecord:
        record = records.load(blob)
        upgrading = record.get("upgrading")
        claim = upgrading if isinstance(upgrading, dict) else {}
        version, to = _count(record.get("version")), _count(claim.get("to", 0))
        if version < FIRST_FORMAT:
            raise InternalError(f"the stored {FORMAT_PATH} record is malformed")
        return cls(version, to, str(claim.get("by", "")) if to else "")


class StorageFormat:
    """This node's view of the storage format: the checks, and the upgrade when it may run."""

    def __init__(
        self,
        physical: Storage,
        barrier: AESGCMBarrier,
        nodes: NodeRegistry,
        seal: Callable[[], None],
        steps: Steps = STEPS,
        *,
        changed: Callable[[], object] = lambda: None,
    ) -> None:
        self._physical = physical
        self._barrier = barrier
        self._nodes = nodes
        self._seal = seal
        # Counts the upgrade as a change (`changes.py`): steps may rewrite records that every
        # node keeps a view of, such as the mount table.
        self._changed = changed
        self._steps = steps
        self.latest = latest(steps)
        nodes.storage_format = self.latest
        self.current = FIRST_FORMAT  # the format in effect, as last read
        self._last_tick = float("-inf")
        self._waiting_for: tuple[str, ...] = ()

    def check(self) -> FormatRecord:
        """The stored format (recording format 1 if none is), or `StorageTooNew` if this build
        cannot read it."""
        return self._checked(*self._read())[1]

    def after_unseal(self) -> None:
        """Check again once this node's heartbeat is stored, and seal if the check fails.

        A node deciding to upgrade claims first and looks at the live nodes after; this node
        beats first and reads the format after. So one of the two sees the other, whatever
        the interleaving: the upgrade gives way, or this node does."""
        try:
            self.check()
        except StorageTooNew:
            self._seal()
            raise

    def tick(self) -> None:
        """Once a heartbeat period while unsealed: seal if the format moved past this build,
        else move it on as far as every live node understands."""
        now = self._nodes.clock.now()
        if self._barrier.sealed or now - self._last_tick < self._nodes.heartbeat_every:
            return
        self._last_tick = now
        try:
            blob, record = self._checked(*self._read())
        except StorageTooNew as exc:
            log.error("%s; sealing this node", exc)
            self._seal()
            return
        if record.version < self.latest or record.upgrading_to:
            try:
                self._upgrade(blob, record)
            except Exception:  # the claim stays ours: the next tick resumes
                log.exception("storage format upgrade failed; retrying at the next heartbeat")

    # ---- the upgrade ----------------------------------------------------------------------

    def _upgrade(self, blob: bytes, record: FormatRecord) -> None:
        me = self._nodes.boot_id
        if record.upgrading_to and record.by != me and self._nodes.alive(record.by):
            return  # another node is at it
        target = self._target()
        unclaimed = FormatRecord(record.version).dump()
        if target <= record.version:
            if record.upgrading_to:  # a dead node's claim on nothing left to do
                self._physical.compare_and_set(FORMAT_PATH, blob, unclaimed)
            return
        claim = FormatRecord(record.version, target, me).dump()
        if not self._physical.compare_and_set(FORMAT_PATH, blob, claim):
            return  # changed meanwhile: look again at the next tick
        if self._target() < target:  # a node that understands less started meanwhile
            self._physical.compare_and_set(FORMAT_PATH, claim, unclaimed)
            return
        self._run_steps(claim, record.version, target)

    def _run_steps(self, claim: bytes, version: int, target: int) -> None:
        me = self._nodes.boot_id
        for step_from in range(version, target):
            self._steps[step_from](self._barrier)
            done = step_from + 1
            after = FormatRecord(done, target, me) if done < target else FormatRecord(done)
            if not self._physical.compare_and_set(FORMAT_PATH, claim, after.dump()):
                log.error("storage format upgrade: the claim on %s was lost", FORMAT_PATH)
                return
            claim = after.dump()
        self.current = target
        self._changed()
        log.info("storage format upgraded from %d to %d", version, target)

    def _target(self) -> int:
        """The newest format every live node understands (this one included), logging once
        for each new set of nodes that hold it below this build's."""
        live = [n for n in self._nodes.live() if n.boot_id != self._nodes.boot_id]
        target = min([self.latest, *(n.storage_format for n in live)])
        behind = tuple(_describe(n) for n in live if n.storage_format < self.latest)
        if behind and behind != self._waiting_for:
            log.warning(
                "storage stays below format %d, the newest this build understands, until every "
                "live node understands it: waiting for %s",
                self.latest,
                ", ".join(behind),
            )
        self._waiting_for = behind
        return target

    def _checked(self, blob: bytes, record: FormatRecord) -> tuple[bytes, FormatRecord]:
        if record.required > self.latest:
            raise StorageTooNew(record.required, self.latest)
        self.current = record.version
        return blob, record

    def _read(self) -> tuple[bytes, FormatRecord]:
        blob = self._physical.get(FORMAT_PATH)
        if blob is None:
            blob = FormatRecord(FIRST_FORMAT).dump()
            if not self._physical.compare_and_set(FORMAT_PATH, None, blob):
                return self._read()  # another node wrote it first
        return blob, FormatRecord.load(blob)


def _describe(node: NodeRecord) -> str:
    where = node.api_address or node.hostname or node.boot_id
    return f"{where} (format {node.storage_format})"


def _count(value: JSONValue) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InternalError(f"the stored {FORMAT_PATH} record is malformed")
