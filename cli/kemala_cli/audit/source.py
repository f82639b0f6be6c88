"""Finding and reading one DynamoDB table export, from a local folder or from `s3://bucket/prefix`.

Two layouts are accepted, both under `<prefix>/AWSDynamoDB/<export id>/`:

- **AWS**: `manifest-summary.json`, `manifest-files.json` (JSON lines naming each `dataFileS3Key` with
  its `itemCount` and `md5Checksum`) and `data/*.json.gz`. Every listed data file must exist and match
  its MD5 and item count, so a dropped or altered data file is caught (the hash chains cannot see a
  ticket that vanished with its whole partition file).
- **moto** (the local stack): moto writes only `data/<uuid>.gz`, with no manifests. It is recognised by
  exactly that shape and loaded with completeness unchecked, which the load reports.

A folder with data files but no manifest that does not have moto's shape is an unfinished or truncated
export: a clear error, never a silent partial load.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kemala import aws

from kemala_cli.audit.dynamo_json import ExportFormatError, decode_line

_EXPORT_KEY = re.compile(r"^(?P<root>(?:.*/)?AWSDynamoDB/(?P<id>[^/]+))/(?P<rest>.+)$")
_MOTO_DATA = re.compile(r"^data/[0-9a-f-]{36}\.gz$")


class Store(Protocol):
    def list_keys(self) -> list[str]: ...

    def read(self, key: str) -> bytes: ...

    def describe(self, key: str) -> str: ...


class LocalStore:
    """Files below a folder, keyed by absolute path (so SRC may also be the AWSDynamoDB/<id> folder)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ExportFormatError(f"{root}: no such folder")
        self.root = root.resolve()

    def list_keys(self) -> list[str]:
        return sorted(p.as_posix() for p in self.root.rglob("*") if p.is_file())

    def read(self, key: str) -> bytes:
        return Path(key).read_bytes()

    def describe(self, key: str) -> str:
        return key


class S3Store:
    """Objects under `s3://bucket/prefix`; boto3 honours AWS_ENDPOINT_URL (moto's server locally)."""

    def __init__(self, url: str, client: Any = None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ExportFormatError(f"{url}: expected s3://bucket/prefix")
        self.bucket, self.prefix = bucket, prefix
        self.client = client if client is not None else aws.client("s3")

    def list_keys(self) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def open_store(src: str) -> Store:
    return S3Store(src) if src.startswith("s3://") else LocalStore(Path(src))


@dataclass
class DataFile:
    key: str
    item_count: int | None = None
    md5: str | None = None  # base64, as in manifest-files.json


@dataclass
class Export:
    """One located export: its files, which layout it has, and what its manifest says."""

    store: Store
    root: str  # key prefix up to and including AWSDynamoDB/<id>
    export_id: str
    layout: str  # "aws" | "moto"
    data_files: list[DataFile]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def location(self) -> str:
        return self.store.describe(self.root)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(where, decoded item) for every item, checking each file against its manifest entry."""
        total = 0
        for data_file in self.data_files:
            name = self.store.describe(data_file.key)
            raw = self.store.read(data_file.key)
            if data_file.md5 is not None:
                actual = base64.b64encode(hashlib.md5(raw).digest()).decode()
                if actual != data_file.md5:
                    raise ExportFormatError(f"{name}: MD5 does not match manifest-files.json (altered?)")
            try:
                text = gzip.decompress(raw).decode("utf-8")
            except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
                raise ExportFormatError(f"{name}: not a readable gzip file ({exc})") from None
            count = 0
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    count += 1
                    yield f"{name}:{number}", decode_line(line, f"{name}:{number}")
            if data_file.item_count is not None and count != data_file.item_count:
                raise ExportFormatError(
                    f"{name}: {count} items, but manifest-files.json says {data_file.item_count}"
                )
            total += count
        expected = self.summary.get("itemCount")
        if expected is not None and total != expected:
            raise ExportFormatError(
                f"{self.location}: {total} items in the data files, but manifest-summary.json says {expected}"
            )


def _read_json(store: Store, key: str) -> Any:
    try:
        return json.loads(store.read(key))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportFormatError(f"{store.describe(key)}: not JSON ({exc})") from None


def _manifest_files(store: Store, root: str, key: str) -> list[DataFile]:
    files = []
    text = store.read(key).decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            data_key = str(entry["dataFileS3Key"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ExportFormatError(
                f"{store.describe(key)}:{number}: expected a JSON line with dataFileS3Key"
            ) from None
        # The manifest names keys as written in the bucket; map them into wherever this copy lives.
        _, marker, tail = data_key.rpartition(f"AWSDynamoDB/{root.rsplit('/', 1)[-1]}/")
        files.append(
            DataFile(
                key=f"{root}/{tail}" if marker else data_key,
                item_count=entry.get("itemCount"),
                md5=entry.get("md5Checksum"),
            )
        )
    return files


def locate(src: str, export_id: str | None = None) -> Export:
    """Find the one export under `src` (or the one with `export_id`) and check its manifests."""
    store = open_store(src)
    groups: dict[tuple[str, str], list[str]] = {}
    for key in store.list_keys():
        match = _EXPORT_KEY.match(key)
        if match and (export_id is None or match["id"] == export_id):
            groups.setdefault((match["root"], match["id"]), []).append(match["rest"])
    if not groups:
        wanted = f"export {export_id}" if export_id else "DynamoDB export"
        raise ExportFormatError(f"{src}: no {wanted} here (expected .../AWSDynamoDB/<export id>/...)")
    if len(groups) > 1:
        ids = ", ".join(sorted(i for _, i in groups))
        raise ExportFormatError(f"{src}: holds several exports ({ids}); choose one with --export-id")
    ((root, found_id), rests) = next(iter(groups.items()))
    if "manifest-summary.json" in rests:
        summary = _read_json(store, f"{root}/manifest-summary.json")
        if summary.get("exportType", "FULL_EXPORT") != "FULL_EXPORT":
            raise ExportFormatError(f"{store.describe(root)}: only full exports can be audited")
        if "manifest-files.json" not in rests:
            raise ExportFormatError(f"{store.describe(root)}: missing manifest-files.json")
        files = _manifest_files(store, root, f"{root}/manifest-files.json")
        present = {f"{root}/{r}" for r in rests}
        for data_file in files:
            if data_file.key not in present:
                raise ExportFormatError(
                    f"{store.describe(data_file.key)}: listed in the manifest but missing"
                )
        return Export(store, root, found_id, "aws", files, summary)
    data = sorted(r for r in rests if r.startswith("data/"))
    if data and all(_MOTO_DATA.match(r) for r in data):
        return Export(store, root, found_id, "moto", [DataFile(f"{root}/{r}") for r in data])
    raise ExportFormatError(
        f"{store.describe(root)}: missing manifest-summary.json (an unfinished or truncated export?)"
    )
