#!/usr/bin/env python3
"""Fills the demo scenario template for connwatch-sim with the example secrets.

scripts/example-secrets.sh writes random client secrets and a fresh SharePoint key file
under config/; this script puts the same values into the simulator's scenario, so that the
demo's connwatch configuration and the simulated Microsoft cloud agree. The result holds
secrets: it is written with mode 0600 to a git-ignored path.

Placeholders (whole JSON string values):
  ${credential:ID}      first line of config/credentials/ID
  ${secret_file:NAME}   first line of config/secrets/NAME
  ${keyfile_cert:NAME}  the public_cert of config/keys/NAME.json
  ${pem_cert:NAME}      the certificate in config/keys/NAME.pem (an observer's key + certificate)
  ${random}             a fresh random secret (one that nothing is configured with)
  ${days:+N} / ${days:-N}  now ± N days, ISO 8601 UTC

Usage: scripts/demo-scenario.py [--config DIR] [--template FILE] [--out FILE]
"""

import argparse
import datetime
import json
import os
import re
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLACEHOLDER = re.compile(r"^\$\{(credential|secret_file|keyfile_cert|pem_cert|random|days)(?::([^}]*))?\}$")


def first_line(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n", 1)[0].rstrip("\r")


def resolve(match, config_dir, now):
    kind, arg = match.group(1), match.group(2)
    if kind == "credential":
        return first_line(os.path.join(config_dir, "credentials", arg))
    if kind == "secret_file":
        return first_line(os.path.join(config_dir, "secrets", arg))
    if kind == "keyfile_cert":
        with open(os.path.join(config_dir, "keys", arg + ".json"), encoding="utf-8") as f:
            return json.load(f)["public_cert"]
    if kind == "pem_cert":
        with open(os.path.join(config_dir, "keys", arg + ".pem"), encoding="utf-8") as f:
            pem = f.read()
        begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
        start = pem.index(begin)
        return pem[start : pem.index(end, start) + len(end)] + "\n"
    if kind == "random":
        return "Rz7~" + secrets.token_urlsafe(30)
    if kind == "days":
        return (now + datetime.timedelta(days=int(arg))).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise ValueError(kind)


def fill(node, config_dir, now):
    if isinstance(node, dict):
        return {k: fill(v, config_dir, now) for k, v in node.items() if k != "_comment"}
    if isinstance(node, list):
        return [fill(v, config_dir, now) for v in node]
    if isinstance(node, str):
        match = PLACEHOLDER.match(node)
        if match:
            return resolve(match, config_dir, now)
        if "${" in node:
            raise ValueError(f"unknown placeholder in {node!r}")
    return node


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "config"), help="directory example-secrets.sh wrote")
    parser.add_argument("--template", default=os.path.join(ROOT, "config", "demo", "scenario.template.json"))
    parser.add_argument("--out", default=os.path.join(ROOT, "config", "demo", "scenario.json"))
    args = parser.parse_args()

    with open(args.template, encoding="utf-8") as f:
        template = json.load(f)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        scenario = fill(template, args.config, now)
    except FileNotFoundError as error:
        sys.exit(f"demo-scenario: {error.filename} is missing: run scripts/example-secrets.sh first")
    except (KeyError, ValueError) as error:
        sys.exit(f"demo-scenario: {error}")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(scenario, f, indent=2)
        f.write("\n")
    os.chmod(args.out, 0o600)
    print(f"demo scenario written to {args.out}")


if __name__ == "__main__":
    main()
