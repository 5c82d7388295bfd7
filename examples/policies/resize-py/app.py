"""`resize-py`: scale a Deployment and wait until the new replica count is rolled out.

The Python twin of examples/policies/resize (Rust): the same parameters, capabilities, calls and
messages. componentize-py generates the `wit_world` bindings from wit/ at build time
(scripts/build-python-policy); the manifest is manifest.json, which the build appends to the
component as its `cutover-manifest` custom section.
"""

import json
import re

import wit_world
from componentize_py_types import Err
from wit_world.imports import cluster, runtime, types

# Go's duration units (docs/manifest.md#durations), in nanoseconds.
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_NANOS_PER_SEC = 1_000_000_000


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go duration (`90s`, `1h30m`, `500ms`); the host has checked the syntax."""
    body = text[1:] if text.startswith("+") else text
    if body == "0":
        return 0
    nanos, at = 0, 0
    while at < len(body):
        part = _PART.match(body, at)
        if part is None or not body:
            raise invalid(f"parameters: invalid duration {text!r}; write e.g. 90s, 5m, 1h30m or 500ms")
        number, unit = part.groups()
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        nanos += int(whole or "0") * scale
        if fraction:
            nanos += int(fraction) * scale // 10 ** len(fraction)
        at = part.end()
    if at == 0:
        raise invalid(f"parameters: invalid duration {text!r}; write e.g. 90s, 5m, 1h30m or 500ms")
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


def invalid(reason: str) -> Err:
    return Err(types.Error_Invalid(reason))


def with_context(error: Err, context: str) -> Err:
    """The same error variant, its reason prefixed with what was being done (the SDK's `context`)."""
    variant = error.value
    return Err(type(variant)(f"{context}: {variant.value}"))


def read_params(text: str) -> tuple[str, int, int]:
    """(name, replicas, timeout in ns) from the parameters JSON, checked against the manifest by the host."""
    try:
        params = json.loads(text)
        name, replicas, timeout = params["name"], params["replicas"], params["timeout"]
    except (ValueError, KeyError, TypeError) as e:
        raise invalid(f"parameters: {e}")
    if not isinstance(name, str) or not isinstance(timeout, str):
        raise invalid("parameters: name and timeout must be strings")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas < 2**32:
        raise invalid(f"parameters: replicas must be an integer from 0 to {2**32 - 1}")
    return name, replicas, parse_duration(timeout)


def deployment(name: str) -> types.ObjectRef:
    """A Deployment in the run's namespace (namespace none)."""
    return types.ObjectRef(api_version="apps/v1", kind="Deployment", namespace=None, name=name)


class WitWorld(wit_world.WitWorld):
    def run(self, invocation: wit_world.Invocation) -> wit_world.Outcome:
        name, replicas, timeout = read_params(invocation.params)
        runtime.progress(1, 2, f"scaling {name} to {replicas}")
        body = json.dumps({"spec": {"replicas": replicas}})
        cluster.patch(deployment(name), cluster.PatchType.MERGE, body)
        runtime.log(runtime.Level.INFO, f"waiting up to {format_duration(timeout)} for {name} to roll out")
        try:
            cluster.wait(deployment(name), cluster.Condition_RolledOut(), timeout // 1_000_000)
        except Err as e:
            raise with_context(e, f"deployment {name}")
        runtime.progress(2, 2, "rolled out")
        return wit_world.Outcome(summary=f"deployment {name} scaled to {replicas}")
