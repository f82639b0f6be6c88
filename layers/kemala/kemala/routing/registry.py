"""The agency registry: which agency answers for a (category, region), like FixMyStreet's contacts.

Bodies (agencies) each cover some categories in one jurisdiction: a kabupaten/kota (`kab-...`/`kota-...`)
or the whole province (`jateng`). `resolve` picks the most specific: the region's own active agency for
the category, else the provincial one, else None (the router then sends the ticket to triage).

The registry is data: `config/agencies.yaml` (applied with `kemala agencies apply`) and, at run time, the
agency records in DirectoryTable (`kemala.store.agencies`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kemala.routing.types import PROVINCE, Agency


class RegistryConflict(ValueError):
    """The agencies do not form a registry: a duplicate id, or two active agencies for one contact."""


class Registry:
    """An immutable index of agencies by id and by (region, category)."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._agencies = list(agencies)
        self._by_id: dict[str, Agency] = {}
        self._contacts: dict[tuple[str, str], Agency] = {}
        for agency in self._agencies:
            if agency.id in self._by_id:
                raise RegistryConflict(f"agency id {agency.id!r} is used twice")
            self._by_id[agency.id] = agency
            if not agency.active:
                continue
            for category in agency.categories:
                key = (agency.region, category)
                other = self._contacts.get(key)
                if other is not None:
                    raise RegistryConflict(
                        f"agencies {other.id!r} and {agency.id!r} both answer for {category!r} "
                        f"in {agency.region!r}"
                    )
                self._contacts[key] = agency

    @classmethod
    def from_agencies(cls, agencies: Iterable[Agency]) -> Registry:
        return cls(agencies)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Registry:
        """Read a registry file (`agencies:` list). PyYAML is a CLI dependency, so imported here only."""
        return cls(Agency.model_validate(raw) for raw in read_agency_file(path))

    @property
    def agencies(self) -> list[Agency]:
        return list(self._agencies)

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)

    def resolve(self, category: str, region: str | None) -> Agency | None:
        """The region's active agency for `category`, else the provincial one, else None."""
        if region and region != PROVINCE:
            local = self._contacts.get((region, category))
            if local is not None:
                return local
        return self._contacts.get((PROVINCE, category))

    def categories(self) -> set[str]:
        """Every category some active agency answers for."""
        return {category for _, category in self._contacts}

    def __len__(self) -> int:
        return len(self._agencies)


def read_agency_file(path: str | Path) -> list[dict[str, Any]]:
    """The raw agency mappings of a registry file, unvalidated (the CLI reports problems per entry)."""
    import yaml

    with Path(path).open(encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    if not isinstance(document, dict) or not isinstance(document.get("agencies"), list):
        raise ValueError(f"{path}: expected a mapping with an 'agencies' list at the top level")
    entries = document["agencies"]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: agencies[{index}] is not a mapping")
    return entries
