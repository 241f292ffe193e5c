"""docs/webhook-payload.schema.json, the published contract of the `standard` webhook body, and
the renderer cannot drift apart: every committed standard golden (Tests/ConnwatchAlertingTests/
Golden/webhooks/standard-*.json, rendered by NotificationRendering.standardPayload and compared
byte for byte by the Swift tests, one per event type and state) is validated here by the
independent `jsonschema` library, and the schema's event types are exactly those of the goldens."""

import copy
import glob
import json
import os
import re

import pytest
from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(ROOT, "docs", "webhook-payload.schema.json")
GOLDEN_DIR = os.path.join(ROOT, "Tests", "ConnwatchAlertingTests", "Golden", "webhooks")
FORMATS = Draft202012Validator.FORMAT_CHECKER


def _load(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


SCHEMA = _load(SCHEMA_PATH)
GOLDENS = sorted(glob.glob(os.path.join(GOLDEN_DIR, "standard-*.json")))
EVENT_TYPES = SCHEMA["properties"]["type"]["enum"]


def _closed(schema):
    """The schema with the envelope, data and data.connector closed: what the renderer may emit."""
    closed = copy.deepcopy(schema)
    closed["additionalProperties"] = False
    data = closed["properties"]["data"]
    data["additionalProperties"] = False
    data["properties"]["connector"]["additionalProperties"] = False
    return closed


OPEN = Draft202012Validator(SCHEMA, format_checker=FORMATS)
CLOSED = Draft202012Validator(_closed(SCHEMA), format_checker=FORMATS)


def _errors(validator, instance):
    return [e.message for e in validator.iter_errors(instance)]


def test_schema_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    Draft202012Validator.check_schema(_closed(SCHEMA))
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_date_time_format_is_really_checked():
    # Without rfc3339-validator installed jsonschema accepts any string as a date-time.
    assert FORMATS.conforms("2026-11-29T12:00:00Z", "date-time")
    assert not FORMATS.conforms("29 Nov 2026 12:00", "date-time")
    assert not FORMATS.conforms("2026-13-29T12:00:00Z", "date-time")


def test_there_is_a_golden_per_event_type_and_state():
    assert GOLDENS, f"no standard goldens in {GOLDEN_DIR}"
    seen = set()
    for path in GOLDENS:
        body = _load(path)
        name = os.path.basename(path)
        assert name == f"standard-{body['type']}-{body['data']['state']}.json"
        seen.add((body["type"], body["data"]["state"]))
    types = {t for t, _ in seen}
    assert types == set(EVENT_TYPES), "schema enum and goldens list different event types"
    # 14 of SPEC §5 and 8 of observer mode (SPEC §3b).
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 22
    assert seen == {(t, s) for t in EVENT_TYPES for s in ("firing", "resolved")}


def test_goldens_cover_every_severity_and_the_optional_fields():
    bodies = [_load(p) for p in GOLDENS]
    severities = {b["data"]["severity"] for b in bodies}
    assert severities == set(SCHEMA["properties"]["data"]["properties"]["severity"]["enum"])
    for field in ("days_left", "expires_at", "missing_permissions"):
        assert any(field in b["data"] for b in bodies), field
        assert any(field not in b["data"] for b in bodies), field
    assert any(b["data"]["connector"]["labels"] for b in bodies)
    assert any(not b["data"]["connector"]["labels"] for b in bodies)


@pytest.mark.parametrize("path", GOLDENS, ids=os.path.basename)
def test_golden_is_valid(path):
    body = _load(path)
    assert _errors(OPEN, body) == []
    # Closed: nothing the renderer emits is undeclared (nor a misspelt optional field).
    assert _errors(CLOSED, body) == []


def _golden(name="standard-connector.consent.missing-firing.json"):
    return _load(os.path.join(GOLDEN_DIR, name))


@pytest.mark.parametrize(
    "path",
    [
        ("type",),
        ("timestamp",),
        ("data",),
        ("data", "alert_id"),
        ("data", "state"),
        ("data", "severity"),
        ("data", "connector"),
        ("data", "connector", "name"),
        ("data", "connector", "kind"),
        ("data", "connector", "tenant_id"),
        ("data", "connector", "client_id"),
        ("data", "connector", "labels"),
        ("data", "check"),
        ("data", "reason"),
        ("data", "summary"),
        ("data", "details"),
        ("data", "remediation"),
    ],
    ids=".".join,
)
def test_a_missing_required_field_is_invalid(path):
    body = _golden()
    assert _errors(OPEN, body) == []
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    assert _errors(OPEN, body) != []


def test_a_misspelt_required_field_is_invalid_even_in_the_open_schema():
    body = _golden()
    body["data"]["sumary"] = body["data"].pop("summary")
    assert _errors(OPEN, body) != []


def test_an_added_field_is_accepted_by_the_open_schema_only():
    body = _golden()
    body["data"]["runbook_url"] = "https://runbooks.example/connwatch"
    assert _errors(OPEN, body) == []
    assert _errors(CLOSED, body) != []
    body = _golden()
    body["data"]["day_left"] = 3  # misspelt optional field: the renderer could not emit it
    assert _errors(CLOSED, body) != []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b.__setitem__("type", "connector.secret.expird"), id="unknown-event-type"),
        pytest.param(lambda b: b.__setitem__("type", "connector.secret"), id="event-type-prefix"),
        pytest.param(lambda b: b["data"].__setitem__("state", "open"), id="unknown-state"),
        pytest.param(lambda b: b["data"].__setitem__("severity", "error"), id="unknown-severity"),
        pytest.param(lambda b: b.__setitem__("timestamp", "29 Nov 2026 12:00"), id="timestamp-not-date-time"),
        pytest.param(lambda b: b.__setitem__("timestamp", "2026-11-29T13:00:00+01:00"), id="timestamp-not-utc"),
        pytest.param(lambda b: b["data"].__setitem__("days_left", "9"), id="days-left-string"),
        pytest.param(lambda b: b["data"].__setitem__("days_left", 9.5), id="days-left-fraction"),
        pytest.param(lambda b: b["data"].__setitem__("expires_at", "soon"), id="expires-at-not-date-time"),
        pytest.param(lambda b: b["data"].__setitem__("missing_permissions", "Mail.Read"), id="permissions-not-list"),
        pytest.param(lambda b: b["data"]["connector"]["labels"].__setitem__("n", 1), id="label-not-string"),
        pytest.param(lambda b: b["data"]["connector"].__setitem__("client_id", "app"), id="client-id-not-guid"),
        pytest.param(lambda b: b["data"].__setitem__("Summary", "x"), id="field-not-snake-case"),
    ],
)
def test_a_wrong_value_is_invalid(mutate):
    body = _golden()
    mutate(body)
    assert _errors(OPEN, body) != []


def test_event_type_names_follow_standard_webhooks():
    # Standard Webhooks: dot-separated hierarchy of [a-zA-Z0-9_].
    for t in EVENT_TYPES:
        assert re.fullmatch(r"[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)+", t), t


def test_the_observers_own_alerts_name_it_by_its_reserved_name():
    # connwatchd records an observer's alerts under `observer:<tenant_id>` with kind
    # `observer` (ObserverIdentity): a name no connector can take, still schema-valid.
    body = _golden("standard-observer.credential.invalid-firing.json")
    body["data"]["connector"].update(
        {"name": "observer:contoso.onmicrosoft.com", "kind": "observer", "labels": {}})
    assert _errors(OPEN, body) == []
    assert _errors(CLOSED, body) == []
    body["data"]["connector"]["name"] = "observer:5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
    assert _errors(OPEN, body) == []
    for bad in ("Observer:contoso", "observer:", "monitor:contoso", "contoso:exchange", "a" * 64):
        body["data"]["connector"]["name"] = bad
        assert _errors(OPEN, body) != [], bad
