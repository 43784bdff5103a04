"""Numbers in words a user reads: counts, sizes, durations and moments. Pure Python.

One of each, shared by the pages, the API's messages, the scheduling core and the CLI
(which imports no Django), so that "3 min 05 s" reads the same everywhere.
"""

from __future__ import annotations

from datetime import datetime


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "job")`` → "1 job"; ``plural(3, "job")`` → "3 jobs"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def human_size(size: float) -> str:
    """Bytes in binary units: "512 bytes", "1.5 KiB", "20.0 MiB"."""
    value = float(size)
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            break
        value /= 1024
    return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"


def duration(seconds: float | None) -> str:
    """A length of time: "420 ms", "4.2 s", "42 s", "3 min 05 s", "2 h 03 min". Never "0s" for a
    few milliseconds; "" when unknown."""
    if seconds is None:
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"


def moment_from_now(moment: datetime, now: datetime) -> str:
    """When ``moment`` is, said from ``now``: "in about 4 min (14:02 UTC)", "4 min ago (14:02 UTC)"."""
    seconds = (moment - now).total_seconds()
    clock = f"{moment:%H:%M:%S} UTC" if abs(seconds) < 90 else f"{moment:%H:%M} UTC"
    if abs(seconds) < 1:
        return f"now ({clock})"
    span = duration(abs(seconds)) if abs(seconds) < 90 else duration(round(abs(seconds) / 60) * 60)
    return f"in about {span} ({clock})" if seconds > 0 else f"{span} ago ({clock})"


def number(value: float | int | None, digits: int = 4) -> str:
    """A metric's value as a person reads it: 0.7290000000000001 → "0.729", 12345678.9 → "1.235e+07",
    NaN and infinities by name."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"
