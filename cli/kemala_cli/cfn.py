"""Reading template.yaml, the single source of truth for resources, from Python.

CloudFormation's short-form tags (!Ref, !GetAtt, !Sub ...) are read into their long form
({"Ref": ...}, {"Fn::GetAtt": [...]}) so the template can be inspected or fed to samtranslator.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct(tag: str, node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag == "Ref":
        return {"Ref": value}
    if tag == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag}": value}


def _constructor_for(tag: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return _construct(tag, node, loader)

    return construct


for _tag in (
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "FindInMap",
    "ImportValue",
    "Base64",
    "Cidr",
    "GetAZs",
    "Condition",
    "ToJsonString",
):
    _CfnLoader.add_constructor(f"!{_tag}", _constructor_for(_tag))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return dict(yaml.load(fh, Loader=_CfnLoader))


@cache
def template() -> dict[str, Any]:
    return load_template()


def resources_of_type(tmpl: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in tmpl["Resources"].items() if res["Type"] == type_}


def dynamodb_create_table_args(properties: dict[str, Any], table_name: str) -> dict[str, Any]:
    """CreateTable arguments for an AWS::DynamoDB::Table's properties (keys, GSIs, billing)."""
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if properties.get("SSESpecification", {}).get("SSEEnabled"):
        args["SSESpecification"] = {"Enabled": True}
    return args
