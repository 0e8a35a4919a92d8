#!/usr/bin/env python3
"""Checks request bodies against the receiveMovementRequest schema of Defra's published Receipt API.

    check_receipt_bodies.py RECEIPT_API_YAML BODY.json [BODY.json ...]

Resolves the OpenAPI document's $refs and validates each body with jsonschema (OpenAPI 3.0 schemas
are draft 4 in the parts used here: boolean exclusiveMinimum, no additionalProperties), with
OpenAPI's `nullable: true` read as "or null". Prints one line per problem and exits 1 if any body
fails, 0 if all pass.

One place where the published schema contradicts its own business rule is read as the rule says:
the enum of `reasonForNoConsignmentCode` lists display names ("Non-Haz Waste Transfer", ...), while
the rule, the example and Defra's backend take the codes (BUSINESS_RULE_ENUMS below; see
docs/defra/README.md).
"""
import json
import sys

import jsonschema
import yaml


# Property name -> the values its business rule allows, where the schema's enum says otherwise.
BUSINESS_RULE_ENUMS = {
    "reasonForNoConsignmentCode": ["NON_HAZ_WASTE_TRANSFER", "NO_DOC_WITH_WASTE", "HWRC_RECEIPT"],
}


def resolve(node, document):
    if isinstance(node, dict):
        if "$ref" in node:
            target = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, document)
        resolved = {key: resolve(value, document) for key, value in node.items() if key not in ("example", "nullable")}
        if node.get("nullable") is True and isinstance(resolved.get("type"), str):
            resolved["type"] = [resolved["type"], "null"]
        for name, values in BUSINESS_RULE_ENUMS.items():
            if isinstance(resolved.get("properties"), dict) and name in resolved["properties"]:
                resolved["properties"][name] = dict(resolved["properties"][name], enum=values)
        return resolved
    if isinstance(node, list):
        return [resolve(item, document) for item in node]
    return node


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    body_schema = document["components"]["requestBodies"]["receiveMovementRequest"]["content"]["application/json"]["schema"]
    schema = resolve(body_schema, document)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    failures = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as handle:
            body = json.load(handle)
        for error in validator.iter_errors(body):
            failures += 1
            where = "/".join(str(part) for part in error.absolute_path) or "(body)"
            print(f"{path}: {where}: {error.message}")
    print(f"checked {len(sys.argv) - 2} bodies, {failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
