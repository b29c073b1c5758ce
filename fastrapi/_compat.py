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
