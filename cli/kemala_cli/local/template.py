"""template.yaml through aws-sam-translator: the CloudFormation the local stack builds, with no AWS call.

SAM validates `CodeUri`/`ContentUri` as S3 URIs, so local paths are swapped for `s3://local/<path>` before
translating and read back from each function's `Code.S3Key` afterwards. Managed policies are never
resolved (the loader is a stub): IAM is not enforced locally.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kemala_cli.cfn import PROJECT_ROOT, load_template

LOCAL_BUCKET = "local"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "kemala-local"


@dataclass(frozen=True)
class Translated:
    """The translated template plus what translation needed: parameter values and the source paths."""

    resources: dict[str, dict[str, Any]]
    parameters: dict[str, Any]  # parameter values incl. pseudo parameters
    conditions: dict[str, Any]
    outputs: dict[str, Any]
    base_dir: Path = PROJECT_ROOT  # CodeUri paths are relative to the project (functions/<name>/)

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}


def _swap_code_uris(node: dict[str, Any]) -> None:
    props = node.get("Properties") or node
    for key in ("CodeUri", "ContentUri"):
        value = props.get(key)
        if isinstance(value, str) and not value.startswith("s3://"):
            props[key] = f"s3://{LOCAL_BUCKET}/{value}"


def code_path(function: dict[str, Any], base_dir: Path = PROJECT_ROOT) -> Path | None:
    """The local directory of a translated AWS::Lambda::Function (None for inline or real-S3 code)."""
    code = function.get("Properties", {}).get("Code", {})
    if code.get("S3Bucket") != LOCAL_BUCKET or not isinstance(code.get("S3Key"), str):
        return None
    return base_dir / code["S3Key"]


def parameter_values(
    template: dict[str, Any], region: str, overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": STACK_NAME,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
        "AWS::NotificationARNs": [],
    }
    for name, spec in (template.get("Parameters") or {}).items():
        if "Default" in spec:
            values[name] = spec["Default"]
    values.update(overrides or {})
    return values


def translate(region: str, overrides: dict[str, str] | None = None, path: Path | None = None) -> Translated:
    """Translate the SAM template (default: the project's template.yaml) into plain CloudFormation."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    source = load_template(path) if path else load_template()
    sam = copy.deepcopy(source)
    _swap_code_uris((sam.get("Globals") or {}).get("Function") or {})
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type", "").startswith("AWS::Serverless::"):
            _swap_code_uris(resource)
    params = parameter_values(source, region, overrides)
    given = {k: v for k, v in params.items() if not k.startswith("AWS::")}
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    cfn = translator.translate(sam, parameter_values=dict(given), get_managed_policy_map=lambda: {})
    return Translated(
        resources=cfn.get("Resources", {}),
        parameters=params,
        conditions=cfn.get("Conditions", {}),
        outputs=cfn.get("Outputs", {}),
    )
