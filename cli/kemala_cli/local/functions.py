"""The template's functions, run in this process: environment, cold start, invocation, logs.

Environment. All functions share one process, and os.environ is process-wide. Functions read their
settings at cold start (kemala.settings.load_settings at import; Powertools Logger/Metrics at import), so
each function's complete environment (Globals + its own, Refs resolved) is applied while its module is
imported, under a lock, and then restored. The process environment also carries every variable on which
all functions agree, so a late `os.environ` read still finds table names and queue URLs; only variables
that differ between functions (POWERTOOLS_SERVICE_NAME, AWS_LAMBDA_FUNCTION_NAME ...) are import-time only.

Containers. Like Lambda, a container runs one invocation at a time (handlers and Powertools keep
per-invocation state on module globals). Each function gets up to `max_concurrency` containers, each a
fresh import of functions/<name>/app.py (its own cold start), created on demand.

Logs. What functions print (Powertools JSON logs, EMF metrics) goes to DIR/logs/<function>.log through a
per-thread stdout router, so the terminal shows only the local stack's own output.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from kemala_cli.lambda_loader import load_function
from kemala_cli.local.intrinsics import Resolver
from kemala_cli.local.template import ACCOUNT_ID, Translated, code_path

log = logging.getLogger("kemala.local")
_ENV_LOCK = threading.RLock()


class FunctionError(Exception):
    """The handler raised (Lambda reports an `Unhandled` error); carries the formatted traceback."""


@dataclass
class LocalContext:
    """The LambdaContext attributes Powertools and handlers use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


class StdoutRouter(io.TextIOBase):
    """sys.stdout replacement: writes go to the current thread's function log, else to the fallback."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self._local = threading.local()

    @contextlib.contextmanager
    def to(self, stream: TextIO) -> Iterator[None]:
        previous = getattr(self._local, "stream", None)
        self._local.stream = stream
        try:
            yield
        finally:
            self._local.stream = previous

    def write(self, text: str) -> int:
        stream = getattr(self._local, "stream", None) or self.fallback
        stream.write(text)
        return len(text)

    def flush(self) -> None:
        stream = getattr(self._local, "stream", None) or self.fallback
        stream.flush()


@contextlib.contextmanager
def applied_env(env: dict[str, str]) -> Iterator[None]:
    """os.environ with `env` applied (under the process-wide env lock), restored afterwards."""
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class LocalFunction:
    """One AWS::Lambda::Function of the translated template."""

    def __init__(
        self,
        logical_id: str,
        physical_name: str,
        properties: dict[str, Any],
        env: dict[str, str],
        code_dir: Path,
        region: str,
        log_dir: Path | None,
        stdout: StdoutRouter | None,
        max_concurrency: int = 4,
    ) -> None:
        self.logical_id = logical_id
        self.name = physical_name
        self.code_name = code_dir.name
        self.env = env
        self.timeout = float(properties.get("Timeout", 3))
        self.memory = int(properties.get("MemorySize", 128))
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical_name}"
        module, _, attr = str(properties.get("Handler", "app.lambda_handler")).rpartition(".")
        if module != "app":
            raise ValueError(
                f"{logical_id}: handler {module}.{attr}: only app.<handler> is supported locally"
            )
        self.handler_attr = attr
        self._max = max_concurrency
        self._idle: list[ModuleType] = []
        self._count = 0
        self._cond = threading.Condition()
        self._stdout = stdout
        self._log: TextIO | None = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._log = (log_dir / f"{self.code_name}.log").open("a", encoding="utf-8", buffering=1)
        self.invocations = 0
        self.errors = 0

    def _routed(self) -> contextlib.AbstractContextManager[None]:
        if self._stdout is None or self._log is None:
            return contextlib.nullcontext()
        return self._stdout.to(self._log)

    def _cold_start(self) -> ModuleType:
        started = time.perf_counter()
        with self._routed(), applied_env(self.env):
            module = load_function(self.code_name, fresh=True)
        log.debug("%s: cold start in %.0f ms", self.logical_id, (time.perf_counter() - started) * 1000)
        if not callable(getattr(module, self.handler_attr, None)):
            raise ValueError(f"functions/{self.code_name}/app.py has no {self.handler_attr}()")
        return module

    def warm_up(self) -> None:
        """Import one container now, so configuration errors show at start-up, not at the first event."""
        with self._container():
            pass

    @contextlib.contextmanager
    def _container(self) -> Iterator[ModuleType]:
        with self._cond:
            while not self._idle and self._count >= self._max:
                self._cond.wait()
            module = self._idle.pop() if self._idle else None
            if module is None:
                self._count += 1
        if module is None:
            try:
                module = self._cold_start()
            except BaseException:
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                raise
        try:
            yield module
        finally:
            with self._cond:
                self._idle.append(module)
                self._cond.notify()

    def invoke(self, event: Any) -> Any:
        """Run the handler on `event` in an idle container; raises FunctionError if it raised."""
        with self._container() as module:
            handler = getattr(module, self.handler_attr)
            context = LocalContext(
                self.name, self.memory, self.arn, self.timeout, log_group_name=f"/aws/lambda/{self.name}"
            )
            started = time.monotonic()
            self.invocations += 1
            with self._routed():
                try:
                    return handler(event, context)
                except Exception as exc:
                    self.errors += 1
                    detail = traceback.format_exc()
                    print(detail, file=sys.stdout)  # into this function's log
                    raise FunctionError(f"{self.logical_id}: {type(exc).__name__}: {exc}") from exc
                finally:
                    elapsed = time.monotonic() - started
                    if elapsed > self.timeout:
                        log.warning(
                            "%s ran %.1fs, over its %.0fs timeout (Lambda would have stopped it)",
                            self.logical_id,
                            elapsed,
                            self.timeout,
                        )

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


def build_environments(
    translated: Translated, resolver: Resolver, overrides: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Each function's environment as Lambda would set it (template values resolved + runtime vars)."""
    region = translated.parameters["AWS::Region"]
    envs: dict[str, dict[str, str]] = {}
    for logical_id, resource in translated.of_type("AWS::Lambda::Function").items():
        props = resource.get("Properties") or {}
        variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
        name = resolver.ref(logical_id)
        env = {k: str(v) for k, v in variables.items()}
        env.update({k: v for k, v in overrides.items() if k in env})
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
            }
        )
        envs[logical_id] = env
    return envs


def shared_environment(envs: dict[str, dict[str, str]]) -> dict[str, str]:
    """Variables every function that sets them agrees on: safe to put in the process environment."""
    values: dict[str, set[str]] = {}
    for env in envs.values():
        for key, value in env.items():
            values.setdefault(key, set()).add(value)
    return {key: next(iter(v)) for key, v in values.items() if len(v) == 1}


def load_functions(
    translated: Translated,
    resolver: Resolver,
    envs: dict[str, dict[str, str]],
    log_dir: Path | None,
    stdout: StdoutRouter | None,
) -> dict[str, LocalFunction]:
    functions: dict[str, LocalFunction] = {}
    region = translated.parameters["AWS::Region"]
    for logical_id, resource in translated.of_type("AWS::Lambda::Function").items():
        code_dir = code_path(resource, translated.base_dir)
        if code_dir is None or not (code_dir / "app.py").exists():
            log.warning("%s: no local code (functions/<name>/app.py); not run locally", logical_id)
            continue
        functions[logical_id] = LocalFunction(
            logical_id,
            str(resolver.ref(logical_id)),
            resource.get("Properties") or {},
            envs[logical_id],
            code_dir,
            region,
            log_dir,
            stdout,
        )
    return functions
