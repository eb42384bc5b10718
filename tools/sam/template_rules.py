#!/usr/bin/env python3
"""Project rules for template.yaml that the generic linters cannot know (run by
scripts/sam/checks.sh). Exit status 1 and one line per broken rule.

1. No SQS event source of a function filters EventsQueue: Lambda deletes the records a
   filter does not match, so a filter on a shared queue takes events from every other
   consumer. A filtering consumer needs its own queue.
2. The example consumer reads its own queue, which has a dead-letter queue, and the webhook
   fills it through a copy route (TEMPLATE_ROUTES, "copy": true) that it may send to.
3. The public Function URL's resource policy, as deployed: the template is run through the SAM
   transform (samtranslator from the venv, offline) and the result must grant WebhookFunction
   exactly one `lambda:InvokeFunctionUrl` (FunctionUrlAuthType NONE) and exactly one
   `lambda:InvokeFunction` (InvokedViaFunctionUrl true) to everyone, no more: SAM generates
   both for `AuthType: NONE`, so a hand-written copy is a duplicate and a missing one is a
   URL that answers 403. The generated permissions are listed.
4. Every function logs to a log group of the template that has a retention (Globals merged,
   as the transform does).
5. Every dead-letter queue keeps messages longer than its source queue: a standard queue's
   message keeps its original enqueue timestamp in the DLQ (SQS default retention: 4 days).
6. Every alarm has a one-minute period and notifies both AlarmTopicArn and the AlarmEmail
   topic (AlarmActions and OKActions).
7. The dashboard body is JSON (once ${...} substitutions are filled in) and names only
   resources of the template; the Salesloft callback URL output has no double slash.
8. The spool: SpoolBucket is encrypted, blocks all public access, has a bucket policy that
   denies requests without TLS (aws:SecureTransport false), has versioning off (each retry and
   each redrive attempt overwrites its object), objects owned by the bucket owner, a lifecycle
   rule that expires failed/, and no expiration of pending/ (undelivered events). The webhook's
   only S3 permission is s3:PutObject on pending/* (and SPOOL_BUCKET follows the bucket's
   condition); the redrive's S3 permissions stay within ListBucket (prefix pending/), Get/Put/
   Delete on pending/* and PutObject on failed/*; it runs one pass at a time and delivers where
   the webhook does (same table, queues, routes, dedup TTL, metric namespace, SQS statements).

    .venv/bin/python tools/sam/template_rules.py [template.yaml]
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys

import yaml  # PyYAML (a dependency of aws-sam-cli and cfn-lint)


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !If, ...) as plain mappings."""


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def refers_to(value, resource: str) -> bool:
    """Whether `value` is a Ref or GetAtt of `resource`."""
    return value in ({"Ref": resource}, {"Fn::GetAtt": [resource, "Arn"]})


def consumer_rules(resources: dict, broken: list[str]) -> None:
    """Rules 1 and 2."""

    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in (resource["Properties"].get("Events") or {}).items():
            props = event.get("Properties") or {}
            if event.get("Type") == "SQS" and refers_to(props.get("Queue"), "EventsQueue") and "FilterCriteria" in props:
                broken.append(
                    f"{name}.{event_name} filters EventsQueue: Lambda would delete the records "
                    "it does not match from a queue others read; give the consumer its own queue"
                )

    consumer = resources.get("ConsumerFunction", {}).get("Properties", {})
    queues = [e["Properties"]["Queue"] for e in (consumer.get("Events") or {}).values() if e.get("Type") == "SQS"]
    if queues != [{"Fn::GetAtt": ["ExampleConsumerQueue", "Arn"]}]:
        broken.append(f"ConsumerFunction must read ExampleConsumerQueue only, reads {queues}")
    redrive = resources.get("ExampleConsumerQueue", {}).get("Properties", {}).get("RedrivePolicy", {})
    if not refers_to(redrive.get("deadLetterTargetArn"), "ExampleConsumerDeadLetterQueue"):
        broken.append("ExampleConsumerQueue has no dead-letter queue")

    webhook = resources["WebhookFunction"]["Properties"]
    routes = webhook["Environment"]["Variables"].get("TEMPLATE_ROUTES", {})
    # !If [DeployConsumer, !Sub '<json>', ""]
    branch = routes.get("Fn::If", [None, {}])[1] if isinstance(routes, dict) else {}
    sub = branch.get("Fn::Sub", "") if isinstance(branch, dict) else ""
    try:
        specs = json.loads(re.sub(r"\$\{[^}]+\}", "https://queue", sub)) if sub else []
    except json.JSONDecodeError as err:
        specs = []
        broken.append(f"TEMPLATE_ROUTES is not a JSON list: {err}")
    copies = [s for s in specs if s.get("copy") is True and "${ExampleConsumerQueue}" in sub]
    if not copies:
        broken.append("WebhookFunction's TEMPLATE_ROUTES has no copy route to ExampleConsumerQueue")
    statements = json.dumps(webhook.get("Policies", []))
    if '"ExampleConsumerQueue", "Arn"' not in statements:
        broken.append("WebhookFunction may not send to ExampleConsumerQueue")


# --- 3. the Function URL's permissions after the SAM transform ---------------------------------


class _NoManagedPolicies:
    """samtranslator asks for the AWS managed policies' name -> ARN map only for policies given
    by name; this template has none (SAM's own basic/SQS execution roles are built in). Asked
    anyway, answer with nothing rather than calling IAM."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: dict) -> dict:
    """The template as the SAM transform turns it into CloudFormation (locally, offline)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform

    doc = copy.deepcopy(template)
    for resource in doc["Resources"].values():
        # `sam deploy` uploads the code and puts its S3 location here; any S3 URI will do.
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    return transform(doc, {}, _NoManagedPolicies())


def url_permission_rules(template: dict, transformed: dict, broken: list[str]) -> list[str]:
    """Rule 3; returns lines describing what the transform generated."""
    import samtranslator

    resources = transformed["Resources"]
    public = {
        name: r["Properties"] for name, r in resources.items()
        if r.get("Type") == "AWS::Lambda::Permission"
        and r["Properties"].get("Principal") == "*"
        and refers_to(r["Properties"].get("FunctionName"), "WebhookFunction")
    }
    url = [n for n, p in public.items()
           if p.get("Action") == "lambda:InvokeFunctionUrl" and p.get("FunctionUrlAuthType") == "NONE"]
    invoke = [n for n, p in public.items()
              if p.get("Action") == "lambda:InvokeFunction" and p.get("InvokedViaFunctionUrl") is True]
    info = [f"SAM transform (samtranslator {samtranslator.__version__}): public permissions of WebhookFunction:"]
    for name, props in public.items():
        origin = "template" if name in template["Resources"] else "generated by SAM"
        extra = {k: v for k, v in props.items() if k not in ("Action", "FunctionName", "Principal")}
        info.append(f"  {name}: {props.get('Action')} {json.dumps(extra, sort_keys=True)} ({origin})")
    for what, names in (("lambda:InvokeFunctionUrl with FunctionUrlAuthType NONE", url),
                        ("lambda:InvokeFunction with InvokedViaFunctionUrl true", invoke)):
        if len(names) != 1:
            broken.append(
                f"after the SAM transform WebhookFunction has {len(names)} public {what} "
                f"permission(s) ({', '.join(names) or 'none'}), expected exactly 1: SAM generates "
                "it for FunctionUrlConfig AuthType NONE; remove a hand-written copy, or add the "
                "missing one if this SAM version does not generate it")
    others = sorted(set(public) - set(url) - set(invoke))
    if others:
        broken.append(f"WebhookFunction grants other public permissions: {', '.join(others)}")
    return info


# --- 4. log groups --------------------------------------------------------------------------


def log_group_rules(transformed: dict, broken: list[str]) -> None:
    resources = transformed["Resources"]
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        ref = (resource["Properties"].get("LoggingConfig") or {}).get("LogGroup")
        group = resources.get(ref.get("Ref")) if isinstance(ref, dict) else None
        if not group or group.get("Type") != "AWS::Logs::LogGroup":
            broken.append(f"{name} does not log to a log group of the template (LoggingConfig.LogGroup: {ref})")
        elif "RetentionInDays" not in group.get("Properties", {}):
            broken.append(f"{name}'s log group {ref['Ref']} has no RetentionInDays")
        elif group.get("Condition") != resource.get("Condition"):
            broken.append(f"{name} and its log group {ref['Ref']} have different conditions")


# --- 5. dead-letter queue retention ---------------------------------------------------------

SQS_DEFAULT_RETENTION = 345600  # 4 days


def dlq_retention_rules(resources: dict, broken: list[str]) -> None:
    def retention(name: str):
        value = resources[name].get("Properties", {}).get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION)
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None

    for name, resource in resources.items():
        if resource.get("Type") != "AWS::SQS::Queue":
            continue
        target = (resource.get("Properties", {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        if not (isinstance(target, dict) and "Fn::GetAtt" in target):
            continue
        dlq = target["Fn::GetAtt"][0]
        src, dst = retention(name), retention(dlq)
        if src is None or dst is None:
            broken.append(f"{name} / {dlq}: MessageRetentionPeriod must be a literal number of seconds")
        elif dst <= src:
            broken.append(
                f"{dlq} keeps messages {dst} s, not longer than its source {name} ({src} s): a "
                "message keeps its original enqueue timestamp in the dead-letter queue and would "
                "expire there early")


# --- 6. alarms ------------------------------------------------------------------------------

NOTIFY = ({"Ref": "AlarmTopicArn"}, {"Ref": "AlarmNotificationTopic"})


def alarm_rules(resources: dict, broken: list[str]) -> list[str]:
    names = []
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        names.append(name)
        props = resource.get("Properties", {})
        if props.get("Period") != 60:
            broken.append(f"{name}: Period {props.get('Period')}, expected 60 (one-minute alarms)")
        for key in ("AlarmActions", "OKActions"):
            text = json.dumps(props.get(key))
            missing = [json.dumps(t) for t in NOTIFY if json.dumps(t) not in text]
            if missing:
                broken.append(f"{name}.{key} does not notify {' and '.join(missing)}")
    return names


# --- 7. dashboard and outputs ---------------------------------------------------------------


def dashboard_rules(template: dict, broken: list[str]) -> None:
    resources = template["Resources"]
    params = template.get("Parameters", {})
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        body = resource.get("Properties", {}).get("DashboardBody")
        text = body.get("Fn::Sub") if isinstance(body, dict) else None
        if not isinstance(text, str):
            broken.append(f"{name}.DashboardBody is not a !Sub string")
            continue
        for ref in re.findall(r"\$\{([^}!]+)\}", text):
            base = ref.split(".", 1)[0]
            if not (base.startswith("AWS::") or base in resources or base in params):
                broken.append(f"{name}.DashboardBody refers to ${{{ref}}}, not a resource or parameter")
            elif base in resources and resources[base].get("Condition"):
                broken.append(f"{name}.DashboardBody refers to the conditional resource {base}")
        try:
            json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
        except json.JSONDecodeError as err:
            broken.append(f"{name}.DashboardBody is not JSON: {err}")
    callback = (template.get("Outputs", {}).get("SalesloftCallbackUrl") or {}).get("Value")
    if not (isinstance(callback, dict) and callback.get("Fn::Sub") == "${WebhookFunctionUrl.FunctionUrl}salesloft"):
        broken.append("Outputs.SalesloftCallbackUrl must be !Sub ${WebhookFunctionUrl.FunctionUrl}salesloft "
                      f"(FunctionUrl ends with /), is {callback}")


# --- 8. the spool ---------------------------------------------------------------------------

SPOOL_BUCKET = "SpoolBucket"
BUCKET_ARN = {"Fn::GetAtt": [SPOOL_BUCKET, "Arn"]}
ALL_OBJECTS = {"Fn::Sub": "${SpoolBucket.Arn}/*"}
PENDING_OBJECTS = {"Fn::Sub": "${SpoolBucket.Arn}/pending/*"}
FAILED_OBJECTS = {"Fn::Sub": "${SpoolBucket.Arn}/failed/*"}
PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
# Variables the redrive must share with the webhook: it delivers where the webhook would have.
SHARED_VARIABLES = ("TABLE_NAME", "QUEUE_URL", "ROUTES", "TEMPLATE_ROUTES", "DEDUP_TTL_SECONDS", "METRICS_NAMESPACE")


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_statements(function: dict) -> tuple[list[dict], list]:
    """The inline statements of a SAM function's Policies (both branches of an Fn::If that
    wraps a statement), and the other entries (managed policy names, SAM policy templates)."""
    statements, others = [], []
    for policy in as_list(function.get("Properties", {}).get("Policies") or []):
        if not (isinstance(policy, dict) and "Statement" in policy):
            others.append(policy)
            continue
        for statement in as_list(policy["Statement"]):
            if isinstance(statement, dict) and "Fn::If" in statement:
                branches = statement["Fn::If"][1:]
                statements += [b for b in branches if isinstance(b, dict) and "Effect" in b]
            else:
                statements.append(statement)
    return statements, others


def s3_statements(statements: list[dict]) -> list[dict]:
    """The statements that grant (or could grant) anything on S3."""
    def s3(action) -> bool:
        return isinstance(action, str) and (action == "*" or action.lower().startswith("s3:"))
    return [s for s in statements if "NotAction" in s or any(s3(a) for a in as_list(s.get("Action")))]


def spool_rules(resources: dict, broken: list[str]) -> list[str]:
    bucket = resources.get(SPOOL_BUCKET)
    if not bucket or bucket.get("Type") != "AWS::S3::Bucket":
        broken.append(f"{SPOOL_BUCKET} (AWS::S3::Bucket) is missing: the spool has no bucket")
        return []
    condition = bucket.get("Condition")
    props = bucket.get("Properties", {})
    name = SPOOL_BUCKET

    # The bucket.
    if not (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"):
        broken.append(f"{name} has no default encryption (BucketEncryption)")
    block = props.get("PublicAccessBlockConfiguration") or {}
    open_settings = [k for k in PUBLIC_ACCESS_BLOCK if block.get(k) is not True]
    if open_settings:
        broken.append(f"{name} does not block public access: {', '.join(open_settings)} not true "
                      "(it holds verified payloads)")
    if "VersioningConfiguration" in props:
        broken.append(f"{name} has a VersioningConfiguration: versioning must stay off (never "
                      "enabled, not even suspended), each sender retry and each redrive attempt "
                      "overwrites its object and versions would keep every payload")
    ownership = [r.get("ObjectOwnership") for r in (props.get("OwnershipControls") or {}).get("Rules", [])]
    if ownership != ["BucketOwnerEnforced"]:
        broken.append(f"{name}: OwnershipControls must be BucketOwnerEnforced (ACLs off), is {ownership}")
    rules = [r for r in (props.get("LifecycleConfiguration") or {}).get("Rules", []) if r.get("Status") == "Enabled"]
    if not any(r.get("Prefix") == "failed/" and "ExpirationInDays" in r for r in rules):
        broken.append(f"{name} has no enabled lifecycle rule expiring failed/ (Prefix failed/, ExpirationInDays)")
    for rule in rules:
        prefix = rule.get("Prefix", "")
        expires = any(k in rule for k in ("ExpirationInDays", "ExpirationDate"))
        if expires and isinstance(prefix, str) and ("pending/".startswith(prefix) or prefix.startswith("pending/")):
            broken.append(f"{name}: lifecycle rule {rule.get('Id')} (Prefix {prefix!r}) expires objects under "
                          "pending/, which are events not delivered yet: it would lose them silently")

    policies = [r for r in resources.values()
                if r.get("Type") == "AWS::S3::BucketPolicy" and refers_to(r.get("Properties", {}).get("Bucket"), name)]
    def denies_plain_http(statement: dict) -> bool:
        bool_condition = (statement.get("Condition") or {}).get("Bool") or {}
        return (statement.get("Effect") == "Deny"
                and statement.get("Principal") in ("*", {"AWS": "*"})
                and "s3:*" in as_list(statement.get("Action"))
                and str(bool_condition.get("aws:SecureTransport")).lower() == "false"
                and BUCKET_ARN in as_list(statement.get("Resource"))
                and ALL_OBJECTS in as_list(statement.get("Resource")))
    if not any(denies_plain_http(s) for p in policies
               for s in as_list(p["Properties"].get("PolicyDocument", {}).get("Statement"))):
        broken.append(f"{name} has no bucket policy denying s3:* on the bucket and its objects to every "
                      "principal without TLS (Bool aws:SecureTransport \"false\")")
    for policy in policies:
        if policy.get("Condition") != condition:
            broken.append(f"{name} and its bucket policy have different conditions")

    # The webhook: PutObject on pending/* and nothing else on S3.
    webhook = resources.get("WebhookFunction", {})
    statements, others = policy_statements(webhook)
    for other in others:
        if "s3" in json.dumps(other).lower():
            broken.append(f"WebhookFunction has an S3 policy outside its inline statements: {json.dumps(other)}")
    grants = s3_statements(statements)
    for statement in grants:
        if not (statement.get("Effect") == "Allow" and as_list(statement.get("Action")) == ["s3:PutObject"]
                and as_list(statement.get("Resource")) == [PENDING_OBJECTS]):
            broken.append(f"WebhookFunction's S3 permission {statement.get('Sid')} is not exactly s3:PutObject on "
                          f"${{SpoolBucket.Arn}}/pending/*: {json.dumps(statement)}")
    if not grants:
        broken.append("WebhookFunction may not write to the spool (s3:PutObject on ${SpoolBucket.Arn}/pending/*)")
    variable = webhook.get("Properties", {}).get("Environment", {}).get("Variables", {}).get("SPOOL_BUCKET")
    if variable != {"Fn::If": [condition, {"Ref": name}, ""]}:
        broken.append(f"WebhookFunction's SPOOL_BUCKET must be !If [{condition}, !Ref {name}, \"\"], is {variable}")

    # The redrive.
    redrive = resources.get("SpoolRedriveFunction")
    if not redrive:
        broken.append("SpoolRedriveFunction is missing: nothing would empty the spool")
        return [f"spool: {name} private, TLS only, versioning off, failed/ expires; webhook S3: PutObject on pending/*"]
    if redrive.get("Condition") != condition:
        broken.append(f"SpoolRedriveFunction and {name} have different conditions")
    rprops = redrive.get("Properties", {})
    if rprops.get("ReservedConcurrentExecutions") != 1:
        broken.append("SpoolRedriveFunction must have ReservedConcurrentExecutions 1 (one pass at a time)")
    rvars = rprops.get("Environment", {}).get("Variables", {})
    wvars = webhook.get("Properties", {}).get("Environment", {}).get("Variables", {})
    if rvars.get("SPOOL_BUCKET") != {"Ref": name}:
        broken.append(f"SpoolRedriveFunction's SPOOL_BUCKET must be !Ref {name}, is {rvars.get('SPOOL_BUCKET')}")
    for var in SHARED_VARIABLES:
        if rvars.get(var) != wvars.get(var):
            broken.append(f"SpoolRedriveFunction's {var} differs from WebhookFunction's: a redriven delivery "
                          f"must go where the webhook would have sent it ({rvars.get(var)} vs {wvars.get(var)})")
    rstatements, rothers = policy_statements(redrive)
    for other in rothers:
        if "s3" in json.dumps(other).lower():
            broken.append(f"SpoolRedriveFunction has an S3 policy outside its inline statements: {json.dumps(other)}")
    for statement in s3_statements(rstatements):
        actions = set(as_list(statement.get("Action")))
        resource = as_list(statement.get("Resource"))
        prefix = ((statement.get("Condition") or {}).get("StringLike") or {}).get("s3:prefix") \
            or ((statement.get("Condition") or {}).get("StringEquals") or {}).get("s3:prefix")
        allowed = statement.get("Effect") == "Allow" and "NotResource" not in statement and (
            (actions == {"s3:ListBucket"} and resource == [BUCKET_ARN]
             and all(isinstance(p, str) and p.startswith("pending/") for p in as_list(prefix or [None])))
            or (actions <= {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} and resource == [PENDING_OBJECTS])
            or (actions == {"s3:PutObject"} and resource == [FAILED_OBJECTS]))
        if not allowed:
            broken.append(f"SpoolRedriveFunction's S3 permission {statement.get('Sid')} goes beyond ListBucket "
                          "(s3:prefix pending/), Get/Put/DeleteObject on pending/* and PutObject on failed/*: "
                          f"{json.dumps(statement)}")

    def sqs(statements: list[dict]) -> list[str]:
        return sorted(json.dumps({k: s.get(k) for k in ("Effect", "Action", "Resource")}, sort_keys=True)
                      for s in statements if any(str(a).startswith("sqs:") for a in as_list(s.get("Action"))))
    if sqs(rstatements) != sqs(statements):
        broken.append("SpoolRedriveFunction's SQS statements differ from WebhookFunction's: it must be able to "
                      "send to every queue the webhook sends to, and to no other")
    return [f"spool: {name} private, TLS only, versioning off, failed/ expires, pending/ never; "
            "webhook S3: PutObject on pending/*; redrive S3: pending/ and failed/ only"]


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    with open(path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    resources = template["Resources"]
    broken: list[str] = []
    info: list[str] = []

    consumer_rules(resources, broken)
    dlq_retention_rules(resources, broken)
    alarms = alarm_rules(resources, broken)
    info.append(f"alarms (Period 60, notifying both topics): {', '.join(alarms)}")
    dashboard_rules(template, broken)
    info += spool_rules(resources, broken)
    try:
        transformed = sam_transform(template)
    except Exception as err:  # noqa: BLE001 - any failure of the transform is a broken rule
        broken.append(f"the SAM transform failed: {err}")
    else:
        info[:0] = url_permission_rules(template, transformed, broken)
        log_group_rules(transformed, broken)

    for line in info:
        print(f"template rules: {line}")
    for line in broken:
        print(f"template rules: {line}", file=sys.stderr)
    if not broken:
        print(f"template rules: {path} follows the project's rules")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
