"""The local stack as the e2e tests see it: `kemala local up` in a subprocess, driven over HTTP only.

One stack per session (start-up is a few seconds), on free ports with a temporary state dir; the tests
read local.json like any client would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kemala_cli.cfn import PROJECT_ROOT

START_TIMEOUT = 90.0


def stack_env() -> dict[str, str]:
    """The subprocess's environment: no real AWS credentials or endpoint reach it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "PYTHONUNBUFFERED": "1"})
    return env


def kemala(*args: str) -> list[str]:
    """The installed `kemala` console script (as people run it; `python -m kemala_cli.main` would import
    main twice, and CliError raised by a command module would not be the one main catches)."""
    return [str(Path(sys.executable).parent / "kemala"), *args]


class RunningStack:
    def __init__(self, process: subprocess.Popen[bytes], state_dir: Path, info: dict[str, Any]) -> None:
        self.process = process
        self.state_dir = state_dir
        self.info = info

    def __getitem__(self, key: str) -> Any:
        return self.info[key]

    def stop(self) -> int:
        """Ctrl-C, as a person would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_stack(state_dir: Path, *extra: str) -> RunningStack:
    log = (state_dir / "stack.out").open("wb")
    process = subprocess.Popen(
        kemala("local", "up", "--port", "0", "--state-dir", str(state_dir), *extra),
        cwd=PROJECT_ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    local_json = state_dir / "local.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not local_json.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = (state_dir / "stack.out").read_text(errors="replace")[-3000:]
            pytest.fail(f"the local stack did not start (exit {process.poll()}):\n{output}")
        time.sleep(0.2)
    return RunningStack(process, state_dir, json.loads(local_json.read_text()))


def wait_until(what: str, probe: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll `probe` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {value!r})")
        time.sleep(every)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("kemala-local"))
    yield stack
    stack.stop()
