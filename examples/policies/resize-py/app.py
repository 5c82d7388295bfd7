"""`resize-py`: scale a Deployment and wait until the new replica count is rolled out.

The Python twin of examples/policies/resize (Rust): the same parameters, capabilities, calls and
messages. componentize-py generates the `wit_world` bindings from wit/ at build time
(scripts/build-python-policy); the manifest is manifest.json, which the build appends to the
component as its `cutover-manifest` custom section.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import cluster, runtime, types

from durations import format_duration, parse_duration

MAX_REPLICAS = 2**32 - 1


def invalid(reason: str) -> Err:
    """An `invalid` error, raised to end the run: componentize-py returns it as `run`'s error."""
    return Err(types.Error_Invalid(reason))


def with_context(error: Err, context: str) -> Err:
    """The same error variant, its reason prefixed with what was being done (the SDK's `context`)."""
    variant = error.value
    return Err(type(variant)(f"{context}: {variant.value}"))


def read_params(text: str) -> tuple[str, int, int]:
    """(name, replicas, timeout in ns): the host has checked them against the manifest, but a
    policy reads what it is given as input all the same."""
    try:
        params = json.loads(text)
        name, replicas, timeout = params["name"], params["replicas"], params["timeout"]
        if not isinstance(name, str) or not isinstance(timeout, str):
            raise invalid("parameters: name and timeout must be strings")
        if type(replicas) is not int or not 0 <= replicas <= MAX_REPLICAS:
            raise invalid(f"parameters: replicas must be an integer from 0 to {MAX_REPLICAS}")
        return name, replicas, parse_duration(timeout)
    except (ValueError, KeyError, TypeError) as e:
        # DurationError and json's errors are ValueErrors.
        raise invalid(f"parameters: {e}")


def deployment(name: str) -> types.ObjectRef:
    """A Deployment in the run's namespace (namespace none)."""
    return types.ObjectRef(api_version="apps/v1", kind="Deployment", namespace=None, name=name)


class WitWorld(wit_world.WitWorld):
    def run(self, invocation: wit_world.Invocation) -> wit_world.Outcome:
        name, replicas, timeout = read_params(invocation.params)
        runtime.progress(1, 2, f"scaling {name} to {replicas}")
        # A host call that fails raises Err(error); left uncaught, it is the run's error.
        body = json.dumps({"spec": {"replicas": replicas}})
        cluster.patch(deployment(name), cluster.PatchType.MERGE, body)
        runtime.log(runtime.Level.INFO, f"waiting up to {format_duration(timeout)} for {name} to roll out")
        try:
            cluster.wait(deployment(name), cluster.Condition_RolledOut(), timeout // 1_000_000)
        except Err as e:
            raise with_context(e, f"deployment {name}") from None
        runtime.progress(2, 2, "rolled out")
        return wit_world.Outcome(summary=f"deployment {name} scaled to {replicas}")
