"""`sys/host-info`: what the server's host looks like, in the shape of Vault's answer (which
gopsutil fills), from the standard library and Linux's `/proc`. A field we cannot read honestly
is left out, not guessed (docs/compatibility.md lists them)."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from awsbroker.sdk.logical import JSONObject, JSONValue

PROC = Path("/proc")
# /proc/meminfo names → Vault's memory keys (gopsutil's VirtualMemoryStat).
_MEMINFO = {
    "MemTotal": "total",
    "MemAvailable": "available",
    "MemFree": "free",
    "Buffers": "buffers",
    "Cached": "cached",
    "Active": "active",
    "Inactive": "inactive",
    "Shmem": "shared",
    "SwapTotal": "swaptotal",
    "SwapFree": "swapfree",
    "Dirty": "dirty",
    "Slab": "slab",
}
_CPU_TIMES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest"]


def host_info() -> JSONObject:
    return {
        "cpu": cpu(),
        "cpu_times": cpu_times(),
        "disk": disk(),
        "host": host(),
        "memory": memory(),
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def cpu() -> list[JSONValue]:
    """One entry per logical CPU, from /proc/cpuinfo; without it, only the count is known."""
    entries: list[JSONValue] = []
    for block in _read(PROC / "cpuinfo").strip().split("\n\n"):
        fields = {
            k.strip(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines())
        }
        if "processor" not in fields:
            continue
        entry: JSONObject = {"cpu": int(fields["processor"])}
        for key, name in [("vendor_id", "vendorId"), ("model name", "modelName")]:
            if key in fields:
                entry[name] = fields[key]
        if "cpu MHz" in fields:
            entry["mhz"] = float(fields["cpu MHz"])
        if "flags" in fields:
            entry["flags"] = list(fields["flags"].split())
        entries.append(entry)
    if not entries:
        entries = [{"cpu": n} for n in range(os.cpu_count() or 0)]
    return entries


def cpu_times() -> list[JSONValue]:
    """Seconds each CPU spent per state, from /proc/stat (Linux only)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    entries: list[JSONValue] = []
    for line in _read(PROC / "stat").splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        entry: JSONObject = {"cpu": name}
        for key, value in zip(_CPU_TIMES, values, strict=False):
            entry[key] = int(value) / ticks
        entries.append(entry)
    return entries


def disk() -> list[JSONValue]:
    """The file system of `/` (Vault lists every partition)."""
    st = os.statvfs("/")
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    entry: JSONObject = {
        "path": "/",
        "total": total,
        "free": free,
        "used": used,
        "usedPercent": 100 * used / (used + free) if used + free else 0.0,
    }
    if st.f_files:
        entry |= {
            "inodesTotal": st.f_files,
            "inodesFree": st.f_ffree,
            "inodesUsed": st.f_files - st.f_ffree,
            "inodesUsedPercent": 100 * (st.f_files - st.f_ffree) / st.f_files,
        }
    return [entry]


def host() -> JSONObject:
    info: JSONObject = {
        "hostname": socket.gethostname(),
        "os": sys.platform.rstrip("0123456789"),
        "kernelVersion": platform.release(),
        "kernelArch": platform.machine(),
    }
    try:
        release = platform.freedesktop_os_release()
        info["platform"] = release.get("ID", "")
        info["platformFamily"] = release.get("ID_LIKE", release.get("ID", "")).split()[0]
        info["platformVersion"] = release.get("VERSION_ID", "")
    except (OSError, IndexError):
        pass
    uptime = _read(PROC / "uptime").split()
    if uptime:
        seconds = int(float(uptime[0]))
        info["uptime"] = seconds
        info["bootTime"] = int(time.time()) - seconds
    if PROC.is_dir():
        info["procs"] = sum(1 for p in PROC.iterdir() if p.name.isdigit())
    return info


def memory() -> JSONObject:
    """From /proc/meminfo (kB); elsewhere only the total the OS reports."""
    values: dict[str, int] = {}
    for line in _read(PROC / "meminfo").splitlines():
        key, _, rest = line.partition(":")
        if key in _MEMINFO and rest.split():
            values[_MEMINFO[key]] = int(rest.split()[0]) * 1024
    if "total" not in values and hasattr(os, "sysconf"):
        values["total"] = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    out: JSONObject = dict(values)
    if {"total", "free", "buffers", "cached"} <= values.keys():
        used = values["total"] - values["free"] - values["buffers"] - values["cached"]
        out["used"] = used
        out["usedPercent"] = 100 * used / values["total"]
    return out
