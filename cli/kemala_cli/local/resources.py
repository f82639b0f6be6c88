"""Creating the template's resources in moto, and the physical names/ARNs/URLs every `Ref` resolves to.

Phase 1 (`name_resources`) gives every resource its physical name, `Ref` value and attributes without
calling AWS: the template's own name property when it sets one, else `kemala-<LogicalId>`. Phase 2
(`create_resources`) creates what moto can hold. Resources that are code, not state (functions, layers,
permissions, roles, event source mappings, schedules, the HTTP API) are driven in-process by the local
stack instead, and each such type is logged once.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from kemala_cli.cfn import dynamodb_create_table_args
from kemala_cli.local.intrinsics import Resolver, Unresolvable
from kemala_cli.local.template import ACCOUNT_ID, Translated

log = logging.getLogger("kemala.local")

# type -> (name property, ARN pattern over {region}, {account}, {name}, {id})
_NAMING: dict[str, tuple[str | None, str]] = {
    "AWS::DynamoDB::Table": ("TableName", "arn:aws:dynamodb:{region}:{account}:table/{name}"),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:{region}:{account}:{name}"),
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{name}"),
    "AWS::SecretsManager::Secret": ("Name", "arn:aws:secretsmanager:{region}:{account}:secret:{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn:aws:sns:{region}:{account}:{name}"),
    "AWS::Lambda::Function": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:aws:logs:{region}:{account}:log-group:{name}:*"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "arn:aws:cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::{account}:role/{name}"),
    "AWS::KMS::Key": (None, "arn:aws:kms:{region}:{account}:key/{name}"),
    "AWS::Lambda::LayerVersion": ("LayerName", "arn:aws:lambda:{region}:{account}:layer:{name}:1"),
    "AWS::Events::Rule": ("Name", "arn:aws:events:{region}:{account}:rule/{name}"),
    "AWS::Scheduler::Schedule": ("Name", "arn:aws:scheduler:{region}:{account}:schedule/default/{name}"),
}

# Resource types the local stack runs itself (not in moto), with the one line it logs for each.
DRIVEN_IN_PROCESS = {
    "AWS::Lambda::Function": (
        "functions run in-process from functions/<name>/app.py (moto runs no code without Docker)"
    ),
    "AWS::Lambda::LayerVersion": "the layer is the installed `kemala` package (pip install -e)",
    "AWS::Lambda::Permission": "invocation permissions are implied: only the local stack invokes functions",
    "AWS::Lambda::EventSourceMapping": "SQS event source mappings are polled by the local SQS driver",
    "AWS::Events::Rule": "schedules are run by the local scheduler",
    "AWS::Scheduler::Schedule": "schedules are run by the local scheduler",
    "AWS::ApiGatewayV2::Api": "the HTTP API is served by the local HTTP server (payload v2, authorizers)",
    "AWS::ApiGatewayV2::Stage": "one $default stage; route throttling is not enforced locally",
    "AWS::IAM::Role": (
        "IAM is not enforced locally (moto accepts any call); least privilege is checked by cfn-lint/review"
    ),
    "AWS::IAM::Policy": "IAM is not enforced locally",
}


# Creation order: what others refer to by ARN or name first (keys, then data stores, then the rest).
_ORDER = {
    "AWS::KMS::Key": 0,
    "AWS::KMS::Alias": 1,
    "AWS::SNS::Topic": 2,
    "AWS::DynamoDB::Table": 3,
    "AWS::SQS::Queue": 3,
    "AWS::SecretsManager::Secret": 3,
    "AWS::S3::Bucket": 4,
    "AWS::S3::BucketPolicy": 5,
}


def default_name(logical_id: str, type_: str) -> str:
    name = f"kemala-{logical_id}"
    return name.lower() if type_ == "AWS::S3::Bucket" else name


def name_resources(translated: Translated, resolver: Resolver, region: str) -> dict[str, str]:
    """Give every resource a physical name and register its Ref/attributes; returns logical -> name."""
    names: dict[str, str] = {}
    pending = dict(translated.resources)
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            type_ = resource.get("Type", "")
            name_prop, arn_pattern = _NAMING.get(
                type_, (None, f"arn:aws:local:{region}:{{account}}:{{name}}")
            )
            props = resource.get("Properties") or {}
            try:
                name = resolver.resolve(props[name_prop]) if name_prop and name_prop in props else None
            except Unresolvable:
                continue
            if name is None:
                name = default_name(logical_id, type_)
                if type_ == "AWS::SQS::Queue" and props.get("FifoQueue"):
                    name += ".fifo"
            names[logical_id] = str(name)
            arn = arn_pattern.format(region=region, account=ACCOUNT_ID, name=name)
            _register(resolver, logical_id, type_, str(name), arn, region)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise Unresolvable(f"cannot name resources {sorted(pending)}: their names depend on each other")
    return names


def _register(resolver: Resolver, logical_id: str, type_: str, name: str, arn: str, region: str) -> None:
    if type_ == "AWS::SQS::Queue":
        resolver.set(logical_id, None, Arn=arn, QueueName=name)  # Ref (the URL) is known once created
    elif type_ == "AWS::SNS::Topic":
        resolver.set(logical_id, arn, TopicArn=arn, TopicName=name)
    elif type_ == "AWS::SecretsManager::Secret":
        resolver.set(logical_id, arn, Id=arn)
    elif type_ == "AWS::S3::Bucket":
        resolver.set(
            logical_id,
            name,
            Arn=arn,
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{region}.amazonaws.com",
        )
    elif type_ == "AWS::ApiGatewayV2::Api":
        resolver.set(logical_id, "local", ApiId="local", ApiEndpoint="http://127.0.0.1")
    elif type_ == "AWS::KMS::Key":
        resolver.set(logical_id, name, Arn=arn, KeyId=name)
    elif type_ == "AWS::DynamoDB::Table":
        resolver.set(logical_id, name, Arn=arn, StreamArn=f"{arn}/stream/local")
    else:
        resolver.set(logical_id, name, Arn=arn)


@dataclass
class Created:
    """What phase 2 created, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)  # -> table name
    queues: dict[str, str] = field(default_factory=dict)  # -> queue URL
    queue_arns: dict[str, str] = field(default_factory=dict)  # -> queue ARN
    buckets: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # -> secret name
    secret_values: dict[str, str] = field(default_factory=dict)  # secret name -> value (local only)
    topics: dict[str, str] = field(default_factory=dict)  # -> topic ARN
    notes: list[str] = field(default_factory=list)


def generate_secret_string(spec: dict[str, Any]) -> str:
    """CloudFormation's GenerateSecretString, done locally (the value never leaves this machine)."""
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-./:;<=>?@[]^_`{|}~"
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded) or string.ascii_letters
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        doc = json.loads(spec["SecretStringTemplate"])
        doc[spec["GenerateStringKey"]] = value
        return json.dumps(doc)
    return value


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def _attr_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def create_resources(
    translated: Translated, resolver: Resolver, names: dict[str, str], clients: Any
) -> Created:
    """Create the template's stateful resources in moto; `clients(service)` returns a boto3 client."""
    created = Created()
    skipped: dict[str, list[str]] = {}
    resources = translated.resources
    ordered = sorted(resources, key=lambda k: _ORDER.get(resources[k].get("Type", ""), len(_ORDER)))
    for logical_id in ordered:
        resource = resources[logical_id]
        type_ = resource.get("Type", "")
        props = resolver.resolve(resource.get("Properties") or {})
        name = names[logical_id]
        if type_ == "AWS::KMS::Key":
            policy = props.get("KeyPolicy")
            key = clients("kms").create_key(
                Description=props.get("Description", logical_id),
                **({"Policy": json.dumps(policy)} if policy else {}),
            )["KeyMetadata"]
            resolver.set(logical_id, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])
        elif type_ == "AWS::KMS::Alias":
            clients("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        elif type_ == "AWS::S3::BucketPolicy":
            policy = _local_bucket_policy(props["PolicyDocument"], created.notes)
            if policy["Statement"]:
                clients("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
        elif type_ == "AWS::DynamoDB::Table":
            _create_table(clients("dynamodb"), props, name)
            created.tables[logical_id] = name
        elif type_ == "AWS::SQS::Queue":
            attrs = {k: _attr_value(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
            url = clients("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            resolver.set(logical_id, url, QueueUrl=url)
            created.queues[logical_id] = url
            created.queue_arns[logical_id] = resolver.get_att(logical_id, "Arn")
        elif type_ == "AWS::S3::Bucket":
            _create_bucket(clients("s3"), props, name, translated.parameters["AWS::Region"], created)
            created.buckets[logical_id] = name
        elif type_ == "AWS::SecretsManager::Secret":
            value = props.get("SecretString") or generate_secret_string(props.get("GenerateSecretString", {}))
            arn = clients("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
            resolver.set(logical_id, arn, Id=arn)
            created.secrets[logical_id] = name
            created.secret_values[name] = value
        elif type_ == "AWS::SNS::Topic":
            arn = clients("sns").create_topic(Name=name)["TopicArn"]
            created.topics[logical_id] = arn
        elif type_ == "AWS::Logs::LogGroup":
            logs = clients("logs")
            logs.create_log_group(logGroupName=name)
            if "RetentionInDays" in props:
                logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        elif type_ == "AWS::CloudWatch::Alarm":
            _create_alarm(clients("cloudwatch"), props, name)
        elif type_ in DRIVEN_IN_PROCESS:
            skipped.setdefault(type_, []).append(logical_id)
        else:
            skipped.setdefault(type_, []).append(logical_id)
    # Redrive policies name their DLQ by ARN: set them once every queue exists.
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::SQS::Queue":
            extra = {
                key: _attr_value(resolver.resolve(props[key]))
                for key in ("RedrivePolicy", "RedriveAllowPolicy")
                if key in props
            }
            if extra:
                clients("sqs").set_queue_attributes(QueueUrl=created.queues[logical_id], Attributes=extra)
    for type_, ids in sorted(skipped.items()):
        why = DRIVEN_IN_PROCESS.get(type_, "not created locally (moto does not need it for Kemala)")
        created.notes.append(f"{type_} ({len(ids)}): {why}")
    return created


def _create_table(ddb: Any, props: dict[str, Any], name: str) -> None:
    args = dynamodb_create_table_args(props, name)
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    ddb.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _create_bucket(s3: Any, props: dict[str, Any], name: str, region: str, created: Created) -> None:
    args: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if props.get("ObjectLockEnabled"):
        args["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**args)
    versioning = props.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    lock = props.get("ObjectLockConfiguration")
    if lock:
        retention = (lock.get("Rule") or {}).get("DefaultRetention") or {}
        for unit in ("Days", "Years"):
            if unit in retention:
                retention[unit] = int(retention[unit])
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule.get("ServerSideEncryptionByDefault", {}),
                **(
                    {"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}
                ),
            }
            for rule in encryption.get("ServerSideEncryptionConfiguration", [])
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    ownership = props.get("OwnershipControls")
    if ownership:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ownership)
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        try:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": _lifecycle_rules(lifecycle.get("Rules", []))}
            )
        except Exception as exc:  # moto covers most, not all, lifecycle shapes
            created.notes.append(f"S3 bucket {name}: lifecycle rules not applied locally ({exc})")


def _lifecycle_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation's lifecycle rule spelling to the S3 API's."""
    out = []
    for rule in rules:
        api: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled")}
        api["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "NoncurrentVersionExpiration" in rule:
            days = rule["NoncurrentVersionExpiration"].get("NoncurrentDays")
            api["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(days)}
        if "AbortIncompleteMultipartUpload" in rule:
            days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
        out.append(api)
    return out


_ALARM_KEYS = (
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "DatapointsToAlarm",
    "Unit",
)


def _create_alarm(cloudwatch: Any, props: dict[str, Any], name: str) -> None:
    args = {k: props[k] for k in _ALARM_KEYS if k in props}
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in args:
            args[key] = int(args[key])
    if "Threshold" in args:
        args["Threshold"] = float(args["Threshold"])
    cloudwatch.put_metric_alarm(AlarmName=name, **args)


def _local_bucket_policy(policy: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The bucket policy minus TLS-only statements: the local endpoint is plain HTTP, so a Deny on
    `aws:SecureTransport = false` would (correctly) refuse every local request, the audit tool's included."""
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [st for st in statements if "aws:SecureTransport" not in json.dumps(st.get("Condition", {}))]
    if len(kept) != len(statements):
        notes.append("S3 bucket policy: TLS-only statements skipped (the local endpoint is plain HTTP)")
    return {**policy, "Statement": kept}
