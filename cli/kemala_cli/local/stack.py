"""The local stack's lifecycle: moto, resources, seed data, functions, HTTP API, pollers, schedules.

`LocalStack(options).start()` returns when everything is serving and `DIR/local.json` is written;
`stop()` shuts it all down (threads joined, servers closed). Used by `kemala local up` and by the e2e tests
(through the command, in a subprocess).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kemala_cli.cfn import load_template
from kemala_cli.cfn import template as cfn_template
from kemala_cli.local import fake_x_adapter
from kemala_cli.local.functions import (
    LocalFunction,
    StdoutRouter,
    build_environments,
    load_functions,
    shared_environment,
)
from kemala_cli.local.http_api import HttpApi, read_routes, serve
from kemala_cli.local.intrinsics import Resolver
from kemala_cli.local.resources import Created, create_resources, name_resources
from kemala_cli.local.schedules import Scheduler, read_schedules
from kemala_cli.local.seed import Seeded, seed
from kemala_cli.local.sqs_driver import Poller, read_mappings
from kemala_cli.local.template import Translated, translate

log = logging.getLogger("kemala.local")

DEFAULT_REGION = "ap-southeast-3"  # Jakarta: where a Central Java deployment would run
X_API_PARAMETER = re.compile(r"^X(Api)?BaseUrl$|^XApiUrl$", re.IGNORECASE)
X_API_ENV = "X_API_BASE_URL"


@dataclass
class Options:
    port: int = 3000
    state_dir: Path = Path(".kemala")
    speed: float = 1.0
    region: str = DEFAULT_REGION
    template: Path | None = None
    route_function_logs: bool = True  # function stdout -> DIR/logs/<function>.log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalStack:
    options: Options
    translated: Translated | None = None
    resolver: Resolver | None = None
    created: Created = field(default_factory=Created)
    seeded: Seeded = field(default_factory=Seeded)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    pollers: list[Poller] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._moto: Any = None
        self._http: Any = None
        self._fake_x: fake_x_adapter.RunningFakeX | None = None
        self._scheduler: Scheduler | None = None
        self._stdout: StdoutRouter | None = None
        self._saved_stdout: Any = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # --- AWS clients of the local stack itself ------------------------------------------------------

    def client(self, service: str) -> Any:
        """The stack's own client for `service` (long read timeout for SQS long polls)."""
        with self._clients_lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                config = Config(read_timeout=30, max_pool_connections=50, retries={"max_attempts": 2})
                self._clients[service] = boto3.client(service, config=config)
            return self._clients[service]

    # --- start ----------------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        started = time.monotonic()
        state_dir = self.options.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "local.json").unlink(missing_ok=True)
        self._quiet_libraries()
        if self.options.route_function_logs:
            self._saved_stdout = sys.stdout
            self._stdout = StdoutRouter(sys.stdout)
            sys.stdout = self._stdout
        endpoint = self._start_moto()
        self._fake_x = fake_x_adapter.start()
        if self._fake_x is None:
            self.notes.append("fake X API: kemala_cli.fake_x is not available; replies cannot be posted")
        self._build_resources()
        assert self.translated is not None and self.resolver is not None
        self.seeded = seed(self.created.tables.get("DirectoryTable"), self.client)
        self.notes.extend(self.seeded.notes)
        if self._fake_x is not None:
            for agency_id, credentials in self.seeded.x_credentials.items():
                record = self.seeded.agencies[agency_id]
                self._fake_x.add_account(str(record.get("x_user_id")), credentials, record.get("x_handle"))
        self._start_functions()
        self._start_http()
        self._start_pollers()
        self._start_scheduler()
        self.info = self._local_json(endpoint)
        path = state_dir / "local.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.info, indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o600)  # it holds tokens and the local consumer secret
        tmp.replace(path)
        log.info("local stack up in %.1fs", time.monotonic() - started)
        return self.info

    @staticmethod
    def _quiet_libraries() -> None:
        for name in ("werkzeug", "botocore", "boto3", "urllib3", "moto"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # Lambda puts this in the function's log; here it would interleave with the demo's output
        warnings.filterwarnings("ignore", message="No application metrics to publish")

    def _start_moto(self) -> str:
        from moto.server import ThreadedMotoServer

        from kemala_cli import moto_atomic
        from kemala_cli.local import moto_speed

        moto_speed.install()  # item-level rollback instead of a whole-table deep copy per transaction
        moto_atomic.install()  # concurrent handlers: DynamoDB conditions must hold as on AWS
        port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._moto.start()
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": self.options.region,
                "AWS_REGION": self.options.region,
            }
        )
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        from kemala import aws

        aws.client.cache_clear()  # clients made before this point would talk to real AWS
        log.info("moto server on %s", endpoint)
        return endpoint

    def _build_resources(self) -> None:
        template = self.options.template
        overrides: dict[str, str] = {}
        source_params = (load_template(template) if template else cfn_template()).get("Parameters") or {}
        if self._fake_x is not None:
            overrides.update({p: self._fake_x.url for p in source_params if X_API_PARAMETER.match(p)})
        self.translated = translate(self.options.region, overrides, template)
        self.resolver = Resolver(self.translated.parameters, self.translated.conditions)
        names = name_resources(self.translated, self.resolver, self.options.region)
        self.created = create_resources(self.translated, self.resolver, names, self.client)
        for note in self.created.notes:
            log.info("%s", note)
        log.info(
            "created %d tables, %d queues, %d buckets, %d secrets, %d topics from template.yaml",
            len(self.created.tables),
            len(self.created.queues),
            len(self.created.buckets),
            len(self.created.secrets),
            len(self.created.topics),
        )

    def _start_functions(self) -> None:
        assert self.translated is not None and self.resolver is not None
        overrides = {X_API_ENV: self._fake_x.url} if self._fake_x is not None else {}
        envs = build_environments(self.translated, self.resolver, overrides)
        shared = shared_environment(envs)
        os.environ.update(shared)
        log_dir = self.options.state_dir / "logs" if self._stdout is not None else None
        self.functions = load_functions(self.translated, self.resolver, envs, log_dir, self._stdout)
        for fn in self.functions.values():
            fn.warm_up()  # a configuration error shows now, naming the function
        log.info("functions: %s (logs in %s)", ", ".join(sorted(self.functions)), log_dir)

    def _physical_to_logical(self) -> dict[str, str]:
        return {fn.name: logical for logical, fn in self.functions.items()}

    def _start_http(self) -> None:
        assert self.translated is not None and self.resolver is not None
        routes = read_routes(self.translated, self.resolver, self._physical_to_logical())
        self.routes = routes
        self._http = serve(HttpApi(routes, self.functions, self.options.region), self.options.port)
        port = self._http.server_address[1]
        self.api_url = f"http://127.0.0.1:{port}"
        log.info(
            "HTTP API on %s: %s",
            self.api_url,
            ", ".join(f"{r.route_key}{' (auth)' if r.authorizer else ''}" for r in routes),
        )

    def _start_pollers(self) -> None:
        assert self.translated is not None and self.resolver is not None
        by_arn = {self.created.queue_arns[k]: url for k, url in self.created.queues.items()}
        mappings = read_mappings(
            self.translated.of_type("AWS::Lambda::EventSourceMapping"),
            self.resolver.resolve,
            self._physical_to_logical(),
            by_arn,
        )
        sqs = self.client("sqs")
        for mapping in mappings:
            if not mapping.enabled:
                continue
            for _ in range(max(1, mapping.concurrency)):
                poller = Poller(
                    mapping, self.functions[mapping.function], sqs, self.options.region, self._stop
                )
                poller.start()
                self.pollers.append(poller)
        log.info(
            "SQS event sources: %s",
            ", ".join(
                f"{m.function} <- {m.queue_url.rsplit('/', 1)[-1]} (batch {m.batch_size} x{m.concurrency})"
                for m in mappings
            )
            or "none",
        )

    def _start_scheduler(self) -> None:
        assert self.translated is not None and self.resolver is not None
        arns = {fn.arn: logical for logical, fn in self.functions.items()}
        schedules = read_schedules(
            self.translated.of_type("AWS::Events::Rule", "AWS::Scheduler::Schedule"), self.resolver, arns
        )
        if schedules:
            self._scheduler = Scheduler(
                schedules, self.functions, self.options.region, self.options.speed, self._stop
            )
            self._scheduler.start()
        log.info(
            "schedules: %s",
            ", ".join(f"{s.function} {s.expression}" for s in schedules) or "none",
        )

    # --- what clients need ------------------------------------------------------------------------

    def _local_json(self, endpoint: str) -> dict[str, Any]:
        webhook_path = next(
            (r.path for r in getattr(self, "routes", []) if r.path.startswith("/webhooks")), "/webhooks/x"
        )
        consumer_secret = self._x_consumer_secret()
        agencies = self.seeded.agencies
        return {
            "api_url": self.api_url,
            "webhook_url": self.api_url + webhook_path,
            "x_consumer_secret": consumer_secret,
            "fake_x_url": self._fake_x.url if self._fake_x else None,
            "aws_endpoint_url": endpoint,
            "region": self.options.region,
            "tokens": self.seeded.tokens,
            "tables": self.created.tables,
            "queues": self.created.queues,
            "buckets": self.created.buckets,
            "agency_queues": {aid: rec.get("queue_url") for aid, rec in agencies.items()},
            "agencies": {
                aid: {k: rec.get(k) for k in ("name", "region", "categories", "x_handle", "x_secret_name")}
                for aid, rec in agencies.items()
            },
            "consumers": {self._queue_logical(p.mapping.queue_url): p.mapping.function for p in self.pollers},
            "functions": sorted(self.functions),
            "routes": [r.route_key for r in getattr(self, "routes", [])],
            "pid": os.getpid(),
        }

    def _queue_logical(self, url: str) -> str:
        return next((k for k, v in self.created.queues.items() if v == url), url)

    def _x_consumer_secret(self) -> str | None:
        """The value behind the secret the webhook reads (X_CONSUMER_SECRET_NAME), as X would sign with."""
        names = {fn.env.get("X_CONSUMER_SECRET_NAME") for fn in self.functions.values()} - {None}
        for name in names:
            value = self.created.secret_values.get(str(name))
            if value is not None:
                with contextlib.suppress(ValueError):
                    doc = json.loads(value)
                    if isinstance(doc, dict) and "consumer_secret" in doc:
                        return str(doc["consumer_secret"])
                return value
        return None

    # --- stop -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        for poller in self.pollers:
            poller.join(timeout=5)
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._fake_x is not None:
            self._fake_x.stop()
        if self._moto is not None:
            self._moto.stop()
        for fn in self.functions.values():
            fn.close()
        if self._saved_stdout is not None:
            sys.stdout = self._saved_stdout
        with contextlib.suppress(FileNotFoundError):
            (self.options.state_dir / "local.json").unlink()
