"""pydantic-v2 glue shared by the decoration-time analysis (mirror of FastAPI's
``fastapi._compat``): ``ModelField`` wraps a FieldInfo and a TypeAdapter."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Annotated, Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Undefined = PydanticUndefined
RequiredParam = PydanticUndefined


class _UnsetType:
    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "_Unset"

    def __bool__(self) -> bool:
        return False


_Unset: Any = _UnsetType()

_ATTRS = {
    "default": ..., "default_factory": None, "alias": None, "alias_priority": None,
    "validation_alias": None, "serialization_alias": None, "title": None,
    "field_title_generator": None, "description": None, "examples": None,
    "exclude": None, "exclude_if": None, "discriminator": None, "deprecated": None,
    "json_schema_extra": None, "frozen": None, "validate_default": None, "repr": True,
    "init": None, "init_var": None, "kw_only": None,
}


def _field_asdict(fi: FieldInfo) -> Dict[str, Any]:
    attributes = {}
    for attr in _ATTRS:
        value = getattr(fi, attr, Undefined)
        if value is not Undefined:
            attributes[attr] = value
    return {"annotation": fi.annotation, "metadata": fi.metadata, "attributes": attributes}


def regenerate_error_with_loc(errors: Sequence[Any], loc_prefix: Tuple) -> List[Dict]:
    return [{**err, "loc": loc_prefix + tuple(err.get("loc", ()))} for err in errors]


@dataclass
class ModelField:
    """One parameter/body/response field: its FieldInfo plus a TypeAdapter built
    once at decoration time."""

    field_info: FieldInfo
    name: str
    mode: Literal["validation", "serialization"] = "validation"
    config: Optional[ConfigDict] = None

    def __post_init__(self) -> None:
        with warnings.catch_warnings():
            try:
                from pydantic.warnings import UnsupportedFieldAttributeWarning
                warnings.simplefilter("ignore", category=UnsupportedFieldAttributeWarning)
            except ImportError:  # pragma: no cover
                pass
            d = _field_asdict(self.field_info)
            args = (d["annotation"], *d["metadata"], Field(**d["attributes"]))
            self._type_adapter: TypeAdapter = TypeAdapter(Annotated[args], config=self.config)

    @property
    def alias(self) -> str:
        a = self.field_info.alias
        return a if a is not None else self.name

    @property
    def validation_alias(self) -> Optional[str]:
        va = self.field_info.validation_alias
        return va if isinstance(va, str) and va else None

    @property
    def serialization_alias(self) -> Optional[str]:
        return self.field_info.serialization_alias or None

    @property
    def required(self) -> bool:
        return self.field_info.is_required()

    @property
    def default(self) -> Any:
        return self.get_default()

    @property
    def type_(self) -> Any:
        return self.field_info.annotation

    def get_default(self) -> Any:
        if self.field_info.is_required():
            return Undefined
        return self.field_info.get_default(call_default_factory=True)

    def validate(self, value: Any, values: Dict[str, Any] = {}, *,  # noqa: B006
                 loc: Tuple = ()) -> Tuple[Any, List[Dict[str, Any]]]:
        try:
            return self._type_adapter.validate_python(value, from_attributes=True), []
        except ValidationError as exc:
            return None, regenerate_error_with_loc(exc.errors(include_url=False), loc)

    def serialize(self, value: Any, *, mode: str = "json", include=None, exclude=None,
                  by_alias: bool = True, exclude_unset: bool = False,
                  exclude_defaults: bool = False, exclude_none: bool = False) -> Any:
        return self._type_adapter.dump_python(
            value, mode=mode, include=include, exclude=exclude, by_alias=by_alias,
            exclude_unset=exclude_unset, exclude_defaults=exclude_defaults,
            exclude_none=exclude_none)

    def serialize_json(self, value: Any, *, include=None, exclude=None, by_alias: bool = True,
                       exclude_unset: bool = False, exclude_defaults: bool = False,
                       exclude_none: bool = False) -> bytes:
        return self._type_adapter.dump_json(
            value, include=include, exclude=exclude, by_alias=by_alias,
            exclude_unset=exclude_unset, exclude_defaults=exclude_defaults,
            exclude_none=exclude_none)

    def __hash__(self) -> int:
        return id(self)


def lenient_issubclass(cls: Any, class_or_tuple: Any) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, class_or_tuple)
    except TypeError:  # pragma: no cover
        return False


def get_missing_field_error(loc: Tuple) -> Dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def copy_field_info(*, field_info: FieldInfo, annotation: Any) -> FieldInfo:
    from copy import copy
    merged = type(field_info).from_annotation(annotation)
    new = copy(field_info)
    # FastAPI: every attribute of the merged FieldInfo (e.g. the
    # ``Field(discriminator=...)`` of ``Annotated[Union[...], Field(...)]``)
    for name, value in _field_asdict(merged)["attributes"].items():
        setattr(new, name, value)
    new._attributes_set = merged._attributes_set.copy()
    new.metadata = merged.metadata
    new.annotation = merged.annotation
    return new


def create_body_model(*, fields: Sequence[ModelField], model_name: str) -> type:
    from pydantic import create_model
    field_params = {f.name: (f.field_info.annotation, f.field_info) for f in fields}
    return create_model(model_name, **field_params)


# ---- the JSON body in one pass --------------------------------------------
# FastAPI reads a JSON body with json.loads and validates the result in
# Python mode. pydantic's validate_json parses and validates the bytes in one
# pass (no dict built in between: the 10 KB POST of bench/ validates in 77 us
# instead of 33 + 57). Where the two modes could differ it is not used: strict
# mode (JSON accepts strings for dates, UUIDs, ...), unions (their strictness
# pass differs), user validators (they see info.mode), bytes, Decimal
# (exact digits), custom __init__ and root models, and every schema type not
# listed below. What validate_json refuses goes FastAPI's way, so errors are
# FastAPI's; tests/py/test_json_mode.py runs both ways on each listed type.
_JSON_AGREES = frozenset((
    "any", "none", "bool", "int", "float", "str", "date", "time", "datetime", "timedelta",
    "uuid", "url", "enum", "literal", "list", "tuple", "set", "frozenset", "dict", "nullable",
    "default", "model", "model-fields", "model-field", "typed-dict", "typed-dict-field",
    "definitions", "definition-ref",
))
_CHILDREN = ("schema", "items_schema", "keys_schema", "values_schema", "extras_schema")


def _custom_missing(cls: Any) -> bool:
    """An Enum with its own _missing_ (pydantic < 2.14 puts it in the schema
    as "missing", later versions call it from the enum validator)."""
    import enum
    m = getattr(cls, "_missing_", None)
    return m is not None and getattr(m, "__func__", m) is not enum.Enum._missing_.__func__


def _json_agrees(s: Any, defs: Dict[str, Any], seen: set) -> bool:
    """Every schema reachable from s is listed and mode-agnostic. defs: the
    definitions met so far by ref; seen: the refs whose schema is checked or
    being checked (a recursive model meets itself again)."""
    if not isinstance(s, dict) or s.get("type") not in _JSON_AGREES or s.get("strict"):
        return False
    t, ref = s["type"], s.get("ref")
    if t == "definition-ref":
        ref = s["schema_ref"]
        return ref in seen or (ref in defs and _json_agrees(defs[ref], defs, seen))
    if ref is not None:
        if ref in seen:
            return True
        seen.add(ref)
    if (s.get("config") or {}).get("strict"):
        return False
    if t == "model" and (s.get("custom_init") or s.get("root_model")):
        return False
    if t == "literal" and not all(type(v) in (str, int, bool, type(None)) for v in s["expected"]):
        return False
    if t == "enum" and (s.get("missing") is not None or _custom_missing(s.get("cls"))):
        return False
    subs = list(s.get("definitions") or ())
    defs.update((d.get("ref"), d) for d in subs)
    for k in _CHILDREN:
        c = s.get(k)
        subs.extend(c if isinstance(c, list) else () if c is None else [c])
    fields = s.get("fields")
    if fields is not None:
        if not isinstance(fields, dict):
            return False
        subs.extend(fields.values())
    return all(_json_agrees(one, defs, seen) for one in subs)


def json_validator(adapter: Any) -> Any:
    """adapter's validate_json, when it gives what FastAPI's json.loads +
    validate_python give for every body it accepts; else None."""
    try:
        schema, validator = adapter.core_schema, adapter.validator
    except Exception:  # not a TypeAdapter (a plan's own adapter), or not built
        return None
    if not hasattr(validator, "validate_json") or not _json_agrees(schema, {}, set()):
        return None
    return validator.validate_json
