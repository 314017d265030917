"""When to rotate: a period or a cron schedule (with a window), and RFC 3339 times.

Pure functions, no storage and no AWS. Cron schedules have Vault's five fields (minute, hour,
day of month, month, day of week) and are read in UTC, as Vault reads them; `croniter` does
the arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, CroniterError, croniter

from awsbroker.sdk.errors import InvalidRequest

# Vault's documented minimums for automated root rotation (the rotation manager enforces them).
MIN_ROOT_PERIOD = 10
MIN_WINDOW = 3600
CRON_FIELDS = 5


def parse_cron(text: str) -> None:
    """Raise ValueError (with robfig/cron's wording for a wrong field count) unless `text` is a
    valid five-field cron schedule."""
    fields = text.split()
    if len(fields) != CRON_FIELDS:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    try:
        croniter(text, datetime.now(UTC))
    except (CroniterError, ValueError, KeyError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def validate_root_fields(period: int, cron: str, window: int) -> None:
    """The checks Vault's rotation manager adds to the SDK's (which `RootConfig` runs first),
    and ours: a schedule that never fires."""
    if cron:
        try:
            parse_cron(cron)
        except ValueError as exc:
            raise InvalidRequest(f"failed to parse provided rotation_schedule: {exc}") from None
        if next_cron_time(cron, datetime.now(UTC).timestamp()) is None:
            raise InvalidRequest(
                f'rotation_schedule "{cron}" never fires: no date matches it; send another, '
                'or "" to turn the schedule off'
            )
    if period and period < MIN_ROOT_PERIOD:
        raise InvalidRequest(
            f"rotation_period must be at least {MIN_ROOT_PERIOD} seconds, got {period}"
        )
    if window and window < MIN_WINDOW:
        raise InvalidRequest(f"rotation_window must be at least {MIN_WINDOW} seconds, got {window}")


def next_time(period: int, cron: str, after: float) -> float | None:
    """The first rotation time after `after` (Unix seconds), or None when neither is set."""
    if period:
        return after + period
    if cron:
        return next_cron_time(cron, after)
    return None


def next_cron_time(cron: str, after: float) -> float | None:
    """The schedule's first time after `after`, or None when no date matches it (`0 0 31 2 *`).
    config/root refuses such a schedule, but one stored before it did must not make every later
    use of the schedule fail (a rotation, the job): it just never fires."""
    try:
        return float(croniter(cron, datetime.fromtimestamp(after, UTC)).get_next(float))
    except CroniterBadDateError:
        return None


def rfc3339(when: float) -> str:
    """A Unix time as RFC 3339 in UTC, to the second (`2025-01-02T03:04:05Z`)."""
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    """The Unix time of an RFC 3339 string (Go writes up to nine fraction digits)."""
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        rest = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{rest}"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
