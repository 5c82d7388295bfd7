"""Go's durations (`90s`, `5m`, `1h30m`) as cutover reads and writes them (docs/manifest.md#durations).

Pure Python, no bindings: test_durations.py runs natively (scripts/build-python-policy runs it
before building the component).
"""

import re


class DurationError(ValueError):
    """Text that is not a duration."""


# The syntax, and the units in nanoseconds.
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_DURATION = re.compile(rf"\+?(?:0|(?:{_PART})+)")
_NANOS_PER_SEC = 1_000_000_000


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go duration (`90s`, `1h30m`, `500ms`), as the host checked it."""
    if not _DURATION.fullmatch(text):
        raise DurationError(f"invalid duration {text!r}; write e.g. 90s, 5m, 1h30m or 500ms")
    nanos = 0
    for number, unit in re.findall(_PART, text):
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        nanos += int(whole or "0") * scale
        if fraction:
            nanos += int(fraction) * scale // 10 ** len(fraction)
    return nanos


def format_duration(nanos: int) -> str:
    """The host's and the Rust SDK's spelling of a duration: `5m`, `1m30s`, `250ms`, `1.5s`."""
    if nanos == 0:
        return "0s"
    if nanos < _NANOS_PER_SEC:
        unit, scale = ("ms", 1_000_000) if nanos >= 1_000_000 else ("us", 1_000) if nanos >= 1_000 else ("ns", 1)
        return _decimal(nanos // scale, nanos % scale, scale) + unit
    secs, sub = divmod(nanos, _NANOS_PER_SEC)
    hours, minutes, seconds = secs // 3600, secs // 60 % 60, secs % 60
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if seconds or sub:
        text += _decimal(seconds, sub, _NANOS_PER_SEC) + "s"
    return text


def _decimal(whole: int, fraction: int, scale: int) -> str:
    if fraction == 0:
        return str(whole)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"
