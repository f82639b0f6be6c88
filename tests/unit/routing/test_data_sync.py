"""The routing data shipped in the layer is what config/*.yaml compiles to (Lambda cannot read YAML)."""

from __future__ import annotations

import pytest
from kemala.routing.resources import DATA_DIR
from kemala_cli import routing_train


@pytest.mark.parametrize("name", ["slang.json", "keywords.json", "gazetteer.json"])
def test_shipped_json_is_in_sync_with_config(name: str) -> None:
    compiled = routing_train.compile_sources()
    shipped = (DATA_DIR / name).read_text(encoding="utf-8")
    assert shipped == routing_train.dump_json(compiled[name]), (
        f"{name} is stale: run `kemala routing compile`"
    )


def test_a_town_in_two_regions_is_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("slang.yaml", "keywords.yaml"):
        (tmp_path / name).write_text((routing_train.CONFIG_DIR / name).read_text(encoding="utf-8"))
    (tmp_path / "gazetteer.yaml").write_text(
        "kab_cues: [kabupaten]\ncues: [di]\nregions:\n"
        "  kab-demak: {name: Kabupaten Demak, names: [demak], towns: [sayung]}\n"
        "  kab-kudus: {name: Kabupaten Kudus, names: [kudus], towns: [sayung]}\n"
    )
    with pytest.raises(routing_train.TrainingDataError, match="'sayung' is a town of both"):
        routing_train.compile_sources(tmp_path)


def test_an_unknown_keyword_category_is_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("slang.yaml", "gazetteer.yaml"):
        (tmp_path / name).write_text((routing_train.CONFIG_DIR / name).read_text(encoding="utf-8"))
    (tmp_path / "keywords.yaml").write_text("plumbing:\n  strong: [pipa]\n")
    with pytest.raises(routing_train.TrainingDataError, match="unknown category 'plumbing'"):
        routing_train.compile_sources(tmp_path)
