"""The Terraform: it parses, its variables line up, checkov passes, and the IAM policy names only our resources."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "infra" / "terraform"
MODULE = TERRAFORM / "modules" / "footfall"
ENVS = [TERRAFORM / "envs" / "dev", TERRAFORM / "envs" / "prod"]
CHECKOV = Path(os.environ.get("FOOTFALL_CHECKOV", Path(__file__).resolve().parents[2] / ".tools/checkov/bin/checkov"))


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of block labels and strings in some versions: drop them."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parsed(folder: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            out[path.name] = unquote(hcl2.load(handle))
    return out


def declared(folder: Path) -> set[str]:
    return {name for doc in parsed(folder).values() for block in doc.get("variable", []) for name in block}


def used(folder: Path) -> set[str]:
    text = "\n".join(p.read_text() for p in folder.glob("*.tf"))
    return set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", text))


@pytest.mark.slow
def test_every_tf_file_parses() -> None:
    files = sorted(TERRAFORM.rglob("*.tf"))
    assert len(files) >= 14
    for path in files:
        with path.open() as handle:
            assert isinstance(hcl2.load(handle), dict), path


@pytest.mark.parametrize("folder", [MODULE, *ENVS], ids=lambda p: p.name)
def test_variables_are_declared_used_and_described(folder: Path) -> None:
    assert used(folder) == declared(folder)
    for doc in parsed(folder).values():
        for block in doc.get("variable", []):
            for name, body in block.items():
                assert body.get("description"), f"{folder.name}: variable {name} has no description"


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_module_inputs_match_the_module_variables(env: Path) -> None:
    inputs = next(block["footfall"] for doc in parsed(env).values() for block in doc.get("module", []))
    given = set(inputs) - {"source"}
    variables = {name: body for doc in parsed(MODULE).values() for block in doc.get("variable", [])
                 for name, body in block.items()}
    assert given <= set(variables), f"unknown inputs: {given - set(variables)}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= given, f"missing inputs: {required - given}"


def test_outputs_name_buckets_jobs_database_and_workgroup() -> None:
    outputs = {name for doc in parsed(MODULE).values() for block in doc.get("output", []) for name in block}
    assert {"artifacts_bucket", "data_bucket", "job_names", "database", "workgroup"} <= outputs
    for env in ENVS:
        env_outputs = {name for doc in parsed(env).values() for block in doc.get("output", []) for name in block}
        assert outputs <= env_outputs


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def job_policy_statements() -> list[dict[str, Any]]:
    """The statements of the job role's policy document, the dynamic KMS one included."""
    bodies = [block["aws_iam_policy_document"]["jobs"] for doc in parsed(MODULE).values()
              for block in doc.get("data", []) if "jobs" in block.get("aws_iam_policy_document", {})]
    assert len(bodies) == 1
    statements = as_list(bodies[0].get("statement", []))
    for dynamic in as_list(bodies[0].get("dynamic", [])):
        statements.extend(as_list(dynamic["statement"]["content"]))
    return statements


def test_the_job_role_names_only_the_projects_own_resources() -> None:
    statements = job_policy_statements()
    assert len(statements) >= 5
    own = re.compile(r"aws_s3_bucket\.this\[\\?\"(artifacts|data)\\?\"\]\.arn|:catalog|database/\$\{var\.database\}|"
                     r"table/\$\{var\.database\}/\*|log-group:/aws-glue/\*|statement\.value")
    for statement in statements:
        actions = statement["actions"]
        assert not any(a in ("*", "s3:*", "glue:*", "logs:*", "kms:*") for a in actions), statement
        assert statement.get("effect", "Allow") == "Allow"
        for resource in statement["resources"]:
            assert resource != "*", statement
            assert own.search(resource), f"{statement.get('sid')}: {resource} is not one of the project's"


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip(f"checkov is not installed at {CHECKOV} (make test installs it)")
    done = subprocess.run([str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform", "--compact",
                           "--output", "json", "--skip-download"], capture_output=True, text=True,
                          timeout=600)
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    return {"failed": [c for r in reports for c in r.get("results", {}).get("failed_checks", [])],
            "passed": sum(r.get("summary", {}).get("passed", 0) for r in reports),
            "skipped": [c for r in reports for c in r.get("results", {}).get("skipped_checks", [])]}


@pytest.mark.infra
def test_checkov_finds_nothing(checkov_report: dict[str, Any]) -> None:
    failed = sorted({(c["check_id"], c["resource"]) for c in checkov_report["failed"]})
    assert failed == []
    assert checkov_report["passed"] > 50


@pytest.mark.infra
def test_every_skipped_check_is_justified_in_the_code(checkov_report: dict[str, Any]) -> None:
    text = "\n".join(p.read_text() for p in TERRAFORM.rglob("*.tf"))
    assert checkov_report["skipped"], "the report lists the skipped checks"
    for check in checkov_report["skipped"]:
        match = re.search(rf"#checkov:skip={check['check_id']}:(.+)", text)
        assert match and len(match.group(1).strip()) > 20, check["check_id"]


def test_the_job_role_allows_every_aws_call_the_code_makes() -> None:
    """The role is least-privilege, so a call added to the code without its permission would fail only on AWS."""
    src = Path(__file__).resolve().parents[2] / "src" / "footfall"
    code = (src / "catalog.py").read_text() + (src / "lake" / "s3.py").read_text()
    policy = (MODULE / "iam.tf").read_text()
    glue_calls = set(re.findall(r"\bglue\.(\w+)\(", code))
    glue_calls |= set(re.findall(r'get_paginator\("(get_partitions)"\)', code))
    glue_calls -= {"get_paginator", "create_database"}  # the database itself is Terraform's
    assert glue_calls >= {"get_table", "create_table", "update_table", "batch_create_partition"}
    for call in glue_calls:
        action = "glue:" + "".join(part.title() for part in call.split("_"))
        assert f'"{action}"' in policy, action
    s3_actions = {"head_bucket": "s3:ListBucket", "get_object": "s3:GetObject", "put_object": "s3:PutObject",
                  "upload_file": "s3:PutObject", "download_file": "s3:GetObject", "delete_objects": "s3:DeleteObject",
                  "list_objects_v2": "s3:ListBucket"}
    s3_calls = set(re.findall(r"\bs3\.(\w+)\(", code)) | set(re.findall(r'get_paginator\("(list_objects_v2)"\)', code))
    s3_calls -= {"get_paginator"}
    assert s3_calls and s3_calls <= s3_actions.keys(), s3_calls - s3_actions.keys()
    for call in s3_calls:
        assert f'"{s3_actions[call]}"' in policy, s3_actions[call]
