"""Build the OpenAPI 3.1 document of an application.

``get_openapi`` takes the application's routes (``APIRoute`` objects carrying
their analysed ``Dependant``, ``body_field`` and ``response_field``) and
returns the same document FastAPI returns for the same application source:
the same operations, operationIds, parameters, request bodies, responses
(with the 422 ``HTTPValidationError``), pydantic-v2 component schemas (with
``-Input``/``-Output`` names when a model's two modes differ), tags and
security schemes.

It runs once per application (the result is cached by the app and served as
bytes); nothing here is on the per-request path.
"""
from __future__ import annotations

import copy
import http.client
import inspect
import re
import sys
import threading
import warnings
from dataclasses import dataclass, field as dc_field, is_dataclass
from enum import Enum
from functools import lru_cache, partial
from typing import (Annotated, Any, Dict, List, Optional, Sequence, Set, Tuple, Union, get_args,
                    get_origin)

from pydantic import (AliasChoices, BaseModel, GetJsonSchemaHandler, GetPydanticSchema, Json,
                      TypeAdapter, create_model)
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema as _GenerateJsonSchema
from pydantic_core import CoreSchema, PydanticUndefined, to_jsonable_python

from .constants import METHODS_WITH_BODY, REF_PREFIX, REF_TEMPLATE
from .models import OpenAPI

try:  # Python >= 3.10
    from types import UnionType
except ImportError:  # pragma: no cover
    UnionType = Union  # type: ignore[assignment,misc]

__all__ = [
    "get_openapi", "get_openapi_path", "get_fields_from_routes",
    "get_openapi_operation_request_body", "get_openapi_operation_metadata",
    "generate_operation_summary", "get_schema_from_model_field", "get_definitions",
    "validation_error_definition", "validation_error_response_definition",
    "status_code_ranges", "jsonable", "deep_dict_update",
    "is_body_allowed_for_status_code",
]

validation_error_definition: Dict[str, Any] = {
    "title": "ValidationError",
    "type": "object",
    "properties": {
        "loc": {
            "title": "Location",
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
        "input": {"title": "Input"},
        "ctx": {"title": "Context", "type": "object"},
    },
    "required": ["loc", "msg", "type"],
}

validation_error_response_definition: Dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {
        "detail": {
            "title": "Detail",
            "type": "array",
            "items": {"$ref": REF_PREFIX + "ValidationError"},
        }
    },
}

status_code_ranges: Dict[str, str] = {
    "1XX": "Information",
    "2XX": "Success",
    "3XX": "Redirection",
    "4XX": "Client Error",
    "5XX": "Server Error",
    "DEFAULT": "Default Response",
}

_PARAM_GROUPS = ("path", "query", "header", "cookie")


# ------------------------------------------------------------------ helpers
def deep_dict_update(main: Dict[Any, Any], update: Dict[Any, Any]) -> None:
    """Merge ``update`` into ``main``: dicts recursively, lists concatenated."""
    for key, value in update.items():
        if key in main and isinstance(main[key], dict) and isinstance(value, dict):
            deep_dict_update(main[key], value)
        elif key in main and isinstance(main[key], list) and isinstance(value, list):
            main[key] = main[key] + value
        else:
            main[key] = value


def is_body_allowed_for_status_code(status_code: Union[int, str, None]) -> bool:
    if status_code is None:
        return True
    if status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    code = int(status_code)
    return not (code < 200 or code in {204, 205, 304})


def jsonable(obj: Any, *, exclude_none: bool = False) -> Any:
    """JSON-compatible copy of ``obj`` (pydantic models dumped by alias, enums
    by value); with ``exclude_none`` every ``None`` dict value is dropped,
    recursively — what FastAPI's ``jsonable_encoder(..., exclude_none=True)``
    does to the document."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", by_alias=True, exclude_none=exclude_none)
    if isinstance(obj, dict):
        return {
            jsonable(k): jsonable(v, exclude_none=exclude_none)
            for k, v in obj.items()
            if not (exclude_none and v is None)
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v, exclude_none=exclude_none) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj.value if isinstance(obj, Enum) else obj
    if isinstance(obj, Enum):
        return jsonable(obj.value, exclude_none=exclude_none)
    return jsonable(to_jsonable_python(obj, by_alias=True), exclude_none=exclude_none)


def _is_unset(value: Any) -> bool:
    """True for the "argument not given" markers (ours and FastAPI's)."""
    return value is PydanticUndefined or type(value).__name__ in (
        "_UnsetType", "DefaultPlaceholder")


def _unwrap_default(value: Any) -> Any:
    """``DefaultPlaceholder(x)`` (a value the user did not set) -> ``x``."""
    if type(value).__name__ == "DefaultPlaceholder":
        return value.value
    return value


def _lenient_issubclass(cls: Any, parent: Any) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, parent)
    except TypeError:  # pragma: no cover - generic aliases
        return False


def _param_kind(field_info: Any) -> Optional[str]:
    """'path' / 'query' / 'header' / 'cookie' for a Param FieldInfo, else None."""
    in_ = getattr(field_info, "in_", None)
    value = getattr(in_, "value", in_)
    return value if isinstance(value, str) else None


def _class_named(cls: Any, *names: str) -> bool:
    """Is ``cls`` (or a base) one of the named classes (duck-typed so that
    fastrapi's and Starlette's response classes are both recognised)."""
    return isinstance(cls, type) and any(k.__name__ in names for k in cls.__mro__)


# ------------------------------------------------------------- ModelFields
def _model_field_class() -> Any:
    from .._compat import ModelField

    return ModelField


def _type_adapter(field: Any) -> TypeAdapter:
    ta = getattr(field, "_type_adapter", None)
    if ta is None:  # pragma: no cover - every ModelField builds one
        raise TypeError(f"{field!r} has no TypeAdapter")
    return ta


_model_fields_lock = threading.Lock()


def _cached_model_fields(model: type) -> List[Any]:
    """ModelFields for a model's own fields (flattened parameter models);
    cached so the same objects key the schema mapping throughout. Locked:
    lru_cache may hand two concurrent first callers different lists, and a
    schema built from one list is then looked up with the other (KeyError)."""
    with _model_fields_lock:
        return _model_fields_uncached(model)


@lru_cache(maxsize=4096)
def _model_fields_uncached(model: type) -> List[Any]:
    ModelField = _model_field_class()
    fields = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        config = None if (_lenient_issubclass(ann, (BaseModel, dict)) or is_dataclass(ann)) \
            else model.model_config
        fields.append(ModelField(field_info=info, name=name, config=config))
    return fields


def _is_json_field(field: Any) -> bool:
    return any(type(item) is Json for item in field.field_info.metadata)


def _model_type(annotation: Any) -> Optional[type]:
    if get_origin(annotation) in (Union, UnionType):
        args = get_args(annotation)
        if len(args) == 2 and type(None) in args:
            annotation = next(a for a in args if a is not type(None))
    return annotation if _lenient_issubclass(annotation, BaseModel) else None


def _param_model(field: Any) -> Optional[type]:
    """The pydantic model of a parameter declared as a whole model
    (``filters: Annotated[Filters, Query()]``), else None."""
    annotation = field.field_info.annotation
    if _param_kind(field.field_info) in ("query", "header", "cookie"):
        annotation = _model_type(annotation)
    if _lenient_issubclass(annotation, BaseModel) and not _is_json_field(field):
        return annotation
    return None


def _flat_fields(fields: Sequence[Any]) -> List[Any]:
    out: List[Any] = []
    for f in fields:
        model = _param_model(f)
        if model is not None:
            out.extend(_cached_model_fields(model))
        else:
            out.append(f)
    return out


def _validation_alias(field: Any) -> str:
    return getattr(field, "validation_alias", None) or field.alias


def _param_alias(field: Any, *, convert_underscores: bool) -> Tuple[str, str]:
    """(alias used in the schema, name used in the request) of a parameter."""
    alias = _validation_alias(field)
    request_alias = alias
    if convert_underscores and alias == field.name:
        request_alias = alias.replace("_", "-")
    fi = field.field_info
    va = fi.validation_alias
    if _param_kind(fi) == "path" or type(va).__name__ == "AliasPath":
        return alias, request_alias
    aliases = [(alias, request_alias)]
    if type(va).__name__ == "AliasChoices":
        if any(type(c).__name__ == "AliasPath" for c in va.choices):
            return aliases[0]
        aliases = [(c, c) for c in va.choices]
    config = getattr(field, "config", None) or {}
    if config.get("validate_by_alias") is False:
        request_name = field.name
        if convert_underscores:
            request_name = request_name.replace("_", "-")
        return field.name, request_name
    return aliases[0]


def _param_aliases(field: Any) -> List[Tuple[str, str]]:
    """FastAPI's _get_param_aliases (no header conversion): every
    (validation alias, request key) pair of a form/body field, in preference
    order; the first one is ``_param_alias``'s."""
    alias = _validation_alias(field)
    va = field.field_info.validation_alias
    if _param_kind(field.field_info) == "path" or type(va).__name__ == "AliasPath":
        return [(alias, alias)]
    aliases = [(alias, alias)]
    if type(va).__name__ == "AliasChoices":
        if any(type(c).__name__ == "AliasPath" for c in va.choices):
            return aliases
        aliases = [(c, c) for c in va.choices]
    config = getattr(field, "config", None) or {}
    if config.get("validate_by_alias") is False or config.get(
            "validate_by_name", config.get("populate_by_name", False)):
        if config.get("validate_by_alias") is False:
            return [(field.name, field.name)]
        if field.name not in [a for a, _ in aliases]:
            aliases.append((field.name, field.name))
    return aliases


# ------------------------------------------------ Form() parameter models
# FastAPI 0.165 (fastapi/dependencies/utils.py: _get_form_models,
# _should_embed_body_fields, _get_form_model_schema, _apply_form_body_schema,
# _get_body_field): a Form() pydantic model beside other body parameters (or
# an optional one) is flattened into the request-body schema, each model as
# an ``allOf`` entry, the plain form fields as ``properties``. The route's
# body_field (built for validation by fastrapi.dependencies) keeps the nested
# layout; the OpenAPI side builds FastAPI's body field from the route's body
# parameters instead (_openapi_body_field), only for bodies with a form model.
def _form_params() -> Any:
    from .. import params

    return params


def _form_union_models(annotation: Any) -> List[type]:
    if get_origin(annotation) not in (Union, UnionType):
        return []
    models = []
    for arg in get_args(annotation):
        if arg is type(None):
            continue
        if get_origin(arg) is Annotated:
            arg = get_args(arg)[0]
        if not _lenient_issubclass(arg, BaseModel):
            return []
        models.append(arg)
    # a nullable single model is the regular (one model) case
    return models if len(models) > 1 else []


def _form_models(field: Any) -> List[type]:
    """The model(s) of a Form() parameter declared as a pydantic model (or an
    optional one, or a union of models), else []."""
    fi = field.field_info
    if (not isinstance(fi, _form_params().Form) or getattr(fi, "embed", None)
            or _is_json_field(field)):
        return []
    model = _model_type(fi.annotation)
    if model is not None:
        return [model]
    return _form_union_models(fi.annotation)


def _form_model(field: Any) -> Optional[type]:
    models = _form_models(field)
    return models[0] if len(models) == 1 else None


def _form_model_schema(model: type, core_schema: CoreSchema,
                       handler: GetJsonSchemaHandler) -> Dict[str, Any]:
    """The model's schema with the form's request names (aliases), not the
    model's own, where they differ."""
    schema = handler(core_schema)
    model_schema = handler.resolve_ref_schema(schema)
    properties = model_schema.get("properties", {})
    required = model_schema.get("required", [])
    aliases = {}
    for field in _cached_model_fields(model):
        va = field.field_info.validation_alias
        schema_name = va.choices[0] if isinstance(va, AliasChoices) else _validation_alias(field)
        names = [alias for alias, _ in _param_aliases(field)]
        if (isinstance(schema_name, str) and schema_name in properties
                and (names[0] != schema_name or (len(names) > 1 and schema_name in required))):
            aliases[schema_name] = names
    if not aliases:
        return schema
    # only this form's aliases change: the shared model schema stays intact
    model_schema = copy.deepcopy(model_schema)
    model_schema["properties"] = {
        aliases.get(name, [name])[0]: value
        for name, value in model_schema["properties"].items()
    }
    model_schema["required"] = []
    for name in required:
        names = aliases.get(name, [name])
        if len(names) == 1:
            model_schema["required"].append(names[0])
        else:
            model_schema.setdefault("allOf", []).append(
                {"anyOf": [{"required": [n]} for n in names]})
    return model_schema


def _apply_form_body_schema(body_params: List[Any], schema: Dict[str, Any]) -> None:
    """json_schema_extra of the form body model: its ``field_<i>`` properties
    become the plain fields' names and the models' ``allOf`` entries."""
    parameter_schemas = schema.pop("properties")
    schema.pop("required", None)
    properties: Dict[str, Any] = {}
    required: List[str] = []
    conditions: List[Dict[str, Any]] = []
    for index, param in enumerate(body_params):
        field_schema = parameter_schemas[f"field_{index}"]
        models = _form_models(param)
        if not models:
            alias = _param_aliases(param)[0][0]
            if alias in properties:
                conditions.append({"properties": {alias: field_schema}})
            else:
                properties[alias] = field_schema
            if param.field_info.is_required() and alias not in required:
                required.append(alias)
            continue
        field_schema.pop("default", None)
        if type(None) in get_args(param.field_info.annotation):
            # an absent form group is absent fields, not a null body
            field_schema["anyOf"] = [
                choice for choice in field_schema["anyOf"] if choice.get("type") != "null"]
            if any(model.model_config.get("extra") in ("allow", "forbid") for model in models):
                absent: Dict[str, Any] = {"maxProperties": 0}
            else:
                names = sorted({
                    alias
                    for model in models
                    for item in _cached_model_fields(model)
                    for alias, _ in _param_aliases(item)
                })
                absent = ({"not": {"anyOf": [{"required": [n]} for n in names]}}
                          if names else {})
            if param.field_info.is_required():
                conditions.append({"not": absent})
            else:
                field_schema = {"anyOf": [absent, field_schema]}
        conditions.append(field_schema)
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = required
    schema["allOf"] = conditions


def _form_body_field(*, body_params: List[Any], name: str, embed_body_fields: bool) -> Any:
    """FastAPI's _get_body_field for a body with form models."""
    params = _form_params()
    ModelField = _model_field_class()
    if not body_params:
        return None
    first_param = body_params[0]
    has_nullable_form_model = any(
        _form_models(f) and type(None) in get_args(f.field_info.annotation)
        for f in body_params)
    if not embed_body_fields and not has_nullable_form_model:
        return first_param
    field_params: Dict[str, Any] = {}
    for index, field in enumerate(body_params):
        field_info = copy.copy(field.field_info)
        model = _form_model(field)
        if model is not None:
            model_annotation: Any = Annotated[model, GetPydanticSchema(
                get_pydantic_json_schema=partial(_form_model_schema, model))]
            field_info.annotation = (model_annotation if field_info.annotation is model
                                     else Optional[model_annotation])
        field_info.alias = field_info.validation_alias = f"field_{index}"
        field_info.serialization_alias = f"field_{index}"
        field_info.title = field_info.title or field.name.replace("_", " ").title()
        field_params[f"field_{index}"] = (field_info.annotation, field_info)
    BodyModel = create_model(  # type: ignore[call-overload]
        "Body_" + name,
        __config__={"json_schema_extra": partial(_apply_form_body_schema, list(body_params))},
        **field_params)
    if not embed_body_fields:
        field_info = copy.copy(first_param.field_info)
        field_info.annotation = BodyModel
        # the form parameter carries the validation metadata
        field_info.metadata = []
        field_info.discriminator = None
        return ModelField(name=first_param.name, field_info=field_info)
    kwargs: Dict[str, Any] = {"annotation": BodyModel, "alias": "body"}
    if not any(f.field_info.is_required() for f in body_params):
        kwargs["default"] = None
    if any(isinstance(f.field_info, params.File) for f in body_params):
        cls: Any = params.File
    elif any(isinstance(f.field_info, params.Form) for f in body_params):
        cls = params.Form
    else:  # pragma: no cover - a form model makes it a form body
        cls = params.Body
    if cls is not params.File:
        media_types = [getattr(f.field_info, "media_type", None)
                       for f in body_params if isinstance(f.field_info, cls)]
        if cls is params.Form and "multipart/form-data" in media_types:
            kwargs["media_type"] = "multipart/form-data"
        elif len(set(media_types)) == 1:
            kwargs["media_type"] = media_types[0]
    return ModelField(field_info=cls(**kwargs), name="body")


_form_body_lock = threading.Lock()


def _openapi_body_field(route: Any) -> Any:
    """The body field the OpenAPI document describes: the route's own, or,
    for a body with a Form() model, FastAPI's flattened form body field
    (built once per route body field, so that the field that keys the
    schema mapping is the one the operation looks up)."""
    body_field = getattr(route, "body_field", None)
    dependant = getattr(route, "dependant", None)
    if body_field is None or dependant is None:
        return body_field
    from ..dependencies.utils import _get_flat_body_params, _should_embed_body_fields
    body_params = _get_flat_body_params(dependant)
    if not any(_form_models(p) for p in body_params):
        return body_field
    name = route.unique_id
    key = (name, tuple(id(p) for p in body_params))
    with _form_body_lock:
        cached = body_field.__dict__.get("_fr_openapi_body")
        if cached is not None and cached[0] == key:
            return cached[1]
        field = _form_body_field(body_params=body_params, name=name,
                                 embed_body_fields=_should_embed_body_fields(body_params))
        # the parameters are kept alive with the key (ids stay theirs)
        body_field.__dict__["_fr_openapi_body"] = (key, field, body_params)
        return field


# -------------------------------------------------------- dependency walk
def _impartial(func: Any) -> Any:
    while isinstance(func, partial):
        func = func.func
    return func


def _unwrapped_call(call: Any) -> Any:
    if call is None:
        return None
    return inspect.unwrap(_impartial(call))


def _security_base_classes() -> Tuple[type, ...]:
    from ..security.base import SecurityBase

    classes: List[type] = [SecurityBase]
    fastapi_base = sys.modules.get("fastapi.security.base")
    if fastapi_base is not None:  # FastAPI routes fed in by the differential tests
        classes.append(fastapi_base.SecurityBase)
    return tuple(classes)


def _security_scheme(dependant: Any) -> Any:
    call = _unwrapped_call(getattr(dependant, "call", None))
    return call if isinstance(call, _security_base_classes()) else None


def _oauth_scopes(dependant: Any) -> List[str]:
    parent = getattr(dependant, "parent_oauth_scopes", None)
    own = getattr(dependant, "own_oauth_scopes", None)
    if parent is None and own is None:
        # older Dependant shape: one accumulated list
        return list(getattr(dependant, "security_scopes", None) or [])
    scopes = list(parent or [])
    for s in own or []:
        if s not in scopes:
            scopes.append(s)
    return scopes


def _uses_scopes(dependant: Any, cache: Dict[int, Tuple[Any, bool]]) -> bool:
    hit = cache.get(id(dependant))
    if hit is not None and hit[0] is dependant:
        return hit[1]
    result = bool(
        getattr(dependant, "own_oauth_scopes", None)
        or getattr(dependant, "security_scopes_param_name", None) is not None
        or _security_scheme(dependant) is not None
        or any(_uses_scopes(d, cache) for d in dependant.dependencies)
    )
    cache[id(dependant)] = (dependant, result)
    return result


def _is_gen(call: Any) -> bool:
    for c in (call, getattr(call, "__call__", None)):
        if c is None:
            continue
        for f in (_impartial(c), _unwrapped_call(c)):
            if inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f):
                return True
        if inspect.isclass(_unwrapped_call(c)):
            return False
    return False


def _cache_key(dependant: Any, cache: Dict[int, Tuple[Any, bool]]) -> Tuple[Any, ...]:
    scopes = tuple(sorted(set(_oauth_scopes(dependant)))) if _uses_scopes(dependant, cache) else ()
    scope = getattr(dependant, "scope", None)
    if not scope and _is_gen(getattr(dependant, "call", None)):
        scope = "request"
    return (getattr(dependant, "call", None), scopes, scope or "")


@dataclass
class _DependencyData:
    params: Dict[str, List[Any]] = dc_field(
        default_factory=lambda: {k: [] for k in _PARAM_GROUPS})
    security: List[Tuple[Any, List[str]]] = dc_field(default_factory=list)


def _dependency_data(dependant: Any) -> _DependencyData:
    """Parameters and security requirements of a route's dependency tree,
    each dependency counted once (same cache keys as the request path)."""
    data = _DependencyData()
    visited: List[Tuple[Any, ...]] = []
    uses: Dict[int, Tuple[Any, bool]] = {}
    stack: List[Tuple[Any, List[str], bool]] = [(dependant, [], True)]
    while stack:
        current, parent_scopes, is_root = stack.pop()
        key = _cache_key(current, uses)
        if key in visited:
            continue
        visited.append(key)
        for kind in _PARAM_GROUPS:
            data.params[kind].extend(getattr(current, f"{kind}_params"))
        scopes = list(parent_scopes)
        for s in _oauth_scopes(current):
            if s not in scopes:
                scopes.append(s)
        if not is_root and _security_scheme(current) is not None:
            data.security.append((current, scopes))
        stack.extend((sub, scopes, False) for sub in reversed(current.dependencies))
    return data


def _flat_params(dependant: Any) -> List[Any]:
    data = _dependency_data(dependant)
    out: List[Any] = []
    for kind in _PARAM_GROUPS:
        out.extend(_flat_fields(data.params[kind]))
    return out


# ------------------------------------------------------ schema generation
class GenerateJsonSchema(_GenerateJsonSchema):
    """pydantic's generator with FastAPI's ``bytes`` rendering
    (``contentMediaType: application/octet-stream``)."""

    def bytes_schema(self, schema: Any) -> Dict[str, Any]:
        json_schema: Dict[str, Any] = {
            "type": "string", "contentMediaType": "application/octet-stream"}
        mode = (self._config.ser_json_bytes if self.mode == "serialization"
                else self._config.val_json_bytes)
        if mode == "base64":
            json_schema["contentEncoding"] = "base64"
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.bytes)
        return json_schema


def _has_computed_fields(field: Any) -> bool:
    core = _type_adapter(field).core_schema
    if core.get("schema", {}).get("computed_fields", []):
        return True

    def walk(ann: Any, seen: Set[type]) -> bool:
        if _lenient_issubclass(ann, BaseModel):
            if ann in seen:
                return False
            seen.add(ann)
            if ann.model_computed_fields:
                return True
            return any(walk(fi.annotation, seen) for fi in ann.model_fields.values())
        return any(walk(a, seen) for a in get_args(ann))

    return walk(field.field_info.annotation, set())


def _flat_models_from_annotation(annotation: Any, known: Set[type]) -> None:
    if get_origin(annotation) is None:
        return
    for arg in get_args(annotation):
        if _lenient_issubclass(arg, (BaseModel, Enum)):
            if arg not in known:
                known.add(arg)
                if _lenient_issubclass(arg, BaseModel):
                    _flat_models_from_model(arg, known)
        else:
            _flat_models_from_annotation(arg, known)


def _flat_models_from_model(model: type, known: Set[type]) -> None:
    for info in model.model_fields.values():
        _flat_models_from_type(info.annotation, known)


def _flat_models_from_type(ann: Any, known: Set[type]) -> None:
    if _lenient_issubclass(ann, BaseModel):
        if ann in known:
            return
        known.add(ann)
        _flat_models_from_model(ann, known)
    elif _lenient_issubclass(ann, Enum):
        known.add(ann)
    else:
        _flat_models_from_annotation(ann, known)


def _flat_models(fields: Sequence[Any]) -> Set[type]:
    known: Set[type] = set()
    for f in fields:
        _flat_models_from_type(f.field_info.annotation, known)
    return known


def get_definitions(
    *, fields: Sequence[Any], separate_input_output_schemas: bool = True,
) -> Tuple[Dict[Tuple[Any, str], Dict[str, Any]], Dict[str, Dict[str, Any]]]:
    """JSON schemas of ``fields`` (mapping ``(field, mode) -> schema``) and
    the shared component definitions they reference."""
    ModelField = _model_field_class()
    gen = GenerateJsonSchema(ref_template=REF_TEMPLATE)
    extra: List[Any] = []
    input_types = {f.field_info.annotation for f in fields}
    for mode in ("validation", "serialization"):
        for model in _flat_models([f for f in fields if f.mode == mode]):
            if model not in input_types:
                extra.append(ModelField(field_info=FieldInfo(annotation=model),
                                        name=model.__name__, mode=mode))
    inputs = [
        (f,
         f.mode if (separate_input_output_schemas or _has_computed_fields(f)) else "validation",
         _type_adapter(f).core_schema)
        for f in list(fields) + extra
    ]
    mapping, definitions = gen.generate_definitions(inputs=inputs)  # type: ignore[arg-type]
    for item in definitions.values():
        if "description" in item:
            item["description"] = item["description"].split("\f")[0]
    return mapping, dict(definitions)


def get_schema_from_model_field(
    *, field: Any, field_mapping: Dict[Tuple[Any, str], Dict[str, Any]],
    separate_input_output_schemas: bool = True, field_alias: Optional[str] = None,
    model_name_map: Any = None,
) -> Dict[str, Any]:
    override: Optional[str] = None
    if not separate_input_output_schemas:
        override = None if _has_computed_fields(field) else "validation"
    if field_alias is None:
        if field.mode == "validation":
            field_alias = getattr(field, "validation_alias", None) or field.alias
        else:
            field_alias = getattr(field, "serialization_alias", None) or field.alias
    schema = field_mapping[(field, override or field.mode)].copy()
    if "$ref" not in schema:
        schema["title"] = field.field_info.title or field_alias.title().replace("_", " ")
    return schema


# ---------------------------------------------------------------- routes
def _route_attr(route: Any, name: str, default: Any = None) -> Any:
    return getattr(route, name, default)


def _is_api_route(route: Any) -> bool:
    """An HTTP API route (not a websocket route, mount or static files)."""
    fastapi_routing = sys.modules.get("fastapi.routing")
    if fastapi_routing is not None and isinstance(route, getattr(fastapi_routing, "RouteContext", ())):
        return isinstance(route.original_route, fastapi_routing.APIRoute)
    return (getattr(route, "dependant", None) is not None
            and bool(getattr(route, "methods", None))
            and hasattr(route, "response_class"))


def _iter_api_routes(routes: Sequence[Any]) -> List[Any]:
    return [r for r in routes if _is_api_route(r)]


_CONVERTOR = re.compile(r"{([^{}:]+):[^{}]*}")


def _path_format(route: Any) -> str:
    fmt = getattr(route, "path_format", None)
    return fmt if fmt else _CONVERTOR.sub(r"{\1}", route.path)


def _response_fields(route: Any) -> Dict[Any, Any]:
    return getattr(route, "response_fields", None) or {}


def get_fields_from_routes(routes: Sequence[Any]) -> List[Any]:
    body: List[Any] = []
    responses: List[Any] = []
    request: List[Any] = []
    callbacks: List[Any] = []
    for route in _iter_api_routes(routes):
        if not route.include_in_schema:
            continue
        body_field = _openapi_body_field(route)
        if body_field:
            body.append(body_field)
        if route.response_field:
            responses.append(route.response_field)
        responses.extend(_response_fields(route).values())
        stream_item = _route_attr(route, "stream_item_field")
        if stream_item:
            responses.append(stream_item)
        if route.callbacks:
            callbacks.extend(get_fields_from_routes(route.callbacks))
        request.extend(_flat_params(route.dependant))
    return callbacks + body + responses + request


def generate_operation_summary(*, route: Any, method: str) -> str:
    if route.summary:
        return route.summary
    return route.name.replace("_", " ").title()


def get_openapi_operation_metadata(*, route: Any, method: str, operation_ids: Set[str]) -> Dict[str, Any]:
    operation: Dict[str, Any] = {}
    if route.tags:
        operation["tags"] = route.tags
    operation["summary"] = generate_operation_summary(route=route, method=method)
    if route.description:
        operation["description"] = route.description
    operation_id = route.operation_id or route.unique_id
    if operation_id in operation_ids:
        name = getattr(route.endpoint, "__name__", "<unnamed_endpoint>")
        message = f"Duplicate Operation ID {operation_id} for function {name}"
        file_name = getattr(route.endpoint, "__globals__", {}).get("__file__")
        if file_name:
            message += f" at {file_name}"
        warnings.warn(message, stacklevel=1)
    operation_ids.add(operation_id)
    operation["operationId"] = operation_id
    if route.deprecated:
        operation["deprecated"] = route.deprecated
    return operation


def _security_definitions(security: List[Tuple[Any, List[str]]]) -> Tuple[Dict[str, Any], List[Dict[str, List[str]]]]:
    definitions: Dict[str, Any] = {}
    per_scheme: Dict[str, List[str]] = {}
    for dependant, scopes in security:
        scheme = _security_scheme(dependant)
        definitions[scheme.scheme_name] = jsonable(scheme.model, exclude_none=True)
        merged = per_scheme.setdefault(scheme.scheme_name, [])
        for s in scopes:
            if s not in merged:
                merged.append(s)
    return definitions, [{name: scopes} for name, scopes in per_scheme.items()]


def _operation_parameters(data: _DependencyData, field_mapping: Dict[Tuple[Any, str], Any],
                          separate_input_output_schemas: bool) -> List[Dict[str, Any]]:
    parameters = []
    for kind in _PARAM_GROUPS:
        for parent in data.params[kind]:
            if not getattr(parent.field_info, "include_in_schema", True):
                continue
            model = _param_model(parent)
            optional_model = (model is not None
                              and parent.field_info.annotation is not model
                              and not parent.field_info.is_required())
            for param in _flat_fields([parent]):
                fi = param.field_info
                convert = kind == "header" and getattr(
                    fi, "convert_underscores",
                    getattr(parent.field_info, "convert_underscores", True))
                alias, name = _param_alias(param, convert_underscores=convert)
                schema = get_schema_from_model_field(
                    field=param, field_mapping=field_mapping,
                    separate_input_output_schemas=separate_input_output_schemas,
                    field_alias=alias)
                parameter: Dict[str, Any] = {
                    "name": name,
                    "in": kind,
                    "required": fi.is_required() and not optional_model,
                    "schema": schema,
                }
                if fi.description:
                    parameter["description"] = fi.description
                openapi_examples = getattr(fi, "openapi_examples", None)
                example = getattr(fi, "example", PydanticUndefined)
                if openapi_examples:
                    parameter["examples"] = jsonable(openapi_examples)
                elif not _is_unset(example):
                    parameter["example"] = jsonable(example)
                if getattr(fi, "deprecated", None):
                    parameter["deprecated"] = True
                parameters.append(parameter)
    return parameters


def get_openapi_operation_request_body(
    *, body_field: Any, field_mapping: Dict[Tuple[Any, str], Any],
    separate_input_output_schemas: bool = True, model_name_map: Any = None,
) -> Optional[Dict[str, Any]]:
    if not body_field:
        return None
    schema = get_schema_from_model_field(
        field=body_field, field_mapping=field_mapping,
        separate_input_output_schemas=separate_input_output_schemas)
    fi = body_field.field_info
    media_type = getattr(fi, "media_type", "application/json")
    body: Dict[str, Any] = {}
    if fi.is_required():
        body["required"] = True
    content: Dict[str, Any] = {"schema": schema}
    openapi_examples = getattr(fi, "openapi_examples", None)
    example = getattr(fi, "example", PydanticUndefined)
    if openapi_examples:
        content["examples"] = jsonable(openapi_examples)
    elif not _is_unset(example):
        content["example"] = jsonable(example)
    body["content"] = {media_type: content}
    return body


def _default_status_code(response_class: Any) -> Optional[str]:
    param = inspect.signature(response_class.__init__).parameters.get("status_code")
    if param is not None and isinstance(param.default, int):
        return str(param.default)
    return None


def get_openapi_path(
    *, route: Any, operation_ids: Set[str], field_mapping: Dict[Tuple[Any, str], Any],
    separate_input_output_schemas: bool = True, model_name_map: Any = None,
) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any]]:
    """Operations of one route (keyed by lower-case method), the security
    schemes they use and the extra component definitions they need."""
    path: Dict[str, Any] = {}
    security_schemes: Dict[str, Any] = {}
    definitions: Dict[str, Any] = {}
    assert route.methods is not None, "Methods must be a list"
    response_class = _unwrap_default(route.response_class)
    assert response_class, "A response class is needed to generate OpenAPI"
    media_type: Optional[str] = getattr(response_class, "media_type", None)
    if not route.include_in_schema:
        return path, security_schemes, definitions
    data = _dependency_data(route.dependant)
    all_params = [f for kind in _PARAM_GROUPS for f in _flat_fields(data.params[kind])]
    body_field = _openapi_body_field(route)
    sep = separate_input_output_schemas
    for method in route.methods:
        operation = get_openapi_operation_metadata(route=route, method=method,
                                                   operation_ids=operation_ids)
        sec_defs, op_security = _security_definitions(data.security)
        if op_security:
            operation.setdefault("security", []).extend(op_security)
        security_schemes.update(sec_defs)
        parameters = _operation_parameters(data, field_mapping, sep)
        if parameters:
            by_key = {(p["in"], p["name"]): p for p in parameters}
            # a required declaration of a parameter wins over an optional one
            by_key.update({(p["in"], p["name"]): p for p in parameters if p.get("required")})
            operation["parameters"] = list(by_key.values())
        if method in METHODS_WITH_BODY:
            body = get_openapi_operation_request_body(
                body_field=body_field, field_mapping=field_mapping,
                separate_input_output_schemas=sep)
            if body:
                operation["requestBody"] = body
        if route.callbacks:
            callbacks = {}
            for cb in route.callbacks:
                if _is_api_route(cb):
                    cb_path, _, _ = get_openapi_path(
                        route=cb, operation_ids=operation_ids, field_mapping=field_mapping,
                        separate_input_output_schemas=sep)
                    callbacks[cb.name] = {cb.path: cb_path}
            operation["callbacks"] = callbacks
        if route.status_code is not None:
            status_code = str(route.status_code)
        else:
            status_code = _default_status_code(response_class)
        responses = operation.setdefault("responses", {})
        responses.setdefault(status_code, {})["description"] = route.response_description
        if is_body_allowed_for_status_code(route.status_code):
            stream_item = _route_attr(route, "stream_item_field")
            if _route_attr(route, "is_json_stream", False):
                item_schema = (get_schema_from_model_field(
                    field=stream_item, field_mapping=field_mapping,
                    separate_input_output_schemas=sep) if stream_item else {})
                responses.setdefault(status_code, {}).setdefault("content", {})[
                    "application/jsonl"] = {"itemSchema": item_schema}
            elif _route_attr(route, "is_sse_stream", False):
                responses.setdefault(status_code, {}).setdefault("content", {})[
                    "text/event-stream"] = {"itemSchema": _sse_item_schema(
                        stream_item, field_mapping, sep)}
            elif media_type:
                response_schema: Dict[str, Any] = {"type": "string"}
                if _class_named(response_class, "JSONResponse"):
                    if route.response_field:
                        response_schema = get_schema_from_model_field(
                            field=route.response_field, field_mapping=field_mapping,
                            separate_input_output_schemas=sep)
                    else:
                        response_schema = {}
                responses.setdefault(status_code, {}).setdefault("content", {}).setdefault(
                    media_type, {})["schema"] = response_schema
        if route.responses:
            fields = _response_fields(route)
            for extra_code, extra_response in route.responses.items():
                process = copy.deepcopy(extra_response)
                process.pop("model", None)
                key = str(extra_code).upper()
                if key == "DEFAULT":
                    key = "default"
                openapi_response = responses.setdefault(key, {})
                assert isinstance(process, dict), "An additional response must be a dict"
                extra_field = fields.get(extra_code)
                if extra_field:
                    extra_schema = get_schema_from_model_field(
                        field=extra_field, field_mapping=field_mapping,
                        separate_input_output_schemas=sep)
                    target = (process.setdefault("content", {})
                              .setdefault(media_type or "application/json", {})
                              .setdefault("schema", {}))
                    deep_dict_update(target, extra_schema)
                status_text = (status_code_ranges.get(str(extra_code).upper())
                               or http.client.responses.get(int(extra_code)))
                description = (process.get("description")
                               or openapi_response.get("description")
                               or status_text
                               or "Additional Response")
                deep_dict_update(openapi_response, process)
                openapi_response["description"] = description
        if (all_params or body_field) and not any(
                s in operation["responses"] for s in ("422", "4XX", "default")):
            operation["responses"]["422"] = {
                "description": "Validation Error",
                "content": {"application/json": {
                    "schema": {"$ref": REF_PREFIX + "HTTPValidationError"}}},
            }
            if "ValidationError" not in definitions:
                definitions["ValidationError"] = validation_error_definition
                definitions["HTTPValidationError"] = validation_error_response_definition
        if route.openapi_extra:
            deep_dict_update(operation, route.openapi_extra)
        path[method.lower()] = operation
    return path, security_schemes, definitions


def _sse_item_schema(stream_item: Any, field_mapping: Any, sep: bool) -> Dict[str, Any]:
    from ..sse import _SSE_EVENT_SCHEMA  # FastAPI's event schema (fastrapi.sse)
    item = copy.deepcopy(_SSE_EVENT_SCHEMA)
    if stream_item:
        content = get_schema_from_model_field(field=stream_item, field_mapping=field_mapping,
                                              separate_input_output_schemas=sep)
        item["required"] = ["data"]
        item["properties"]["data"] = {"type": "string", "contentMediaType": "application/json",
                                      "contentSchema": content}
    return item


def get_openapi(
    *,
    title: str,
    version: str,
    openapi_version: str = "3.1.0",
    summary: Optional[str] = None,
    description: Optional[str] = None,
    routes: Sequence[Any],
    webhooks: Optional[Sequence[Any]] = None,
    tags: Optional[List[Dict[str, Any]]] = None,
    servers: Optional[List[Dict[str, Any]]] = None,
    terms_of_service: Optional[str] = None,
    contact: Optional[Dict[str, Any]] = None,
    license_info: Optional[Dict[str, Any]] = None,
    separate_input_output_schemas: bool = True,
    external_docs: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The OpenAPI document (a JSON-compatible dict) for ``routes``."""
    info: Dict[str, Any] = {"title": title, "version": version}
    if summary:
        info["summary"] = summary
    if description:
        info["description"] = description
    if terms_of_service:
        info["termsOfService"] = terms_of_service
    if contact:
        info["contact"] = contact
    if license_info:
        info["license"] = license_info
    output: Dict[str, Any] = {"openapi": openapi_version, "info": info}
    if servers:
        output["servers"] = servers
    components: Dict[str, Dict[str, Any]] = {}
    paths: Dict[str, Dict[str, Any]] = {}
    webhook_paths: Dict[str, Dict[str, Any]] = {}
    operation_ids: Set[str] = set()
    all_fields = get_fields_from_routes(list(routes) + list(webhooks or []))
    field_mapping, definitions = get_definitions(
        fields=all_fields, separate_input_output_schemas=separate_input_output_schemas)
    for target, group in ((paths, routes), (webhook_paths, webhooks or [])):
        for route in _iter_api_routes(group):
            path, schemes, path_defs = get_openapi_path(
                route=route, operation_ids=operation_ids, field_mapping=field_mapping,
                separate_input_output_schemas=separate_input_output_schemas)
            if path:
                target.setdefault(_path_format(route), {}).update(path)
            if schemes:
                components.setdefault("securitySchemes", {}).update(schemes)
            if path_defs:
                definitions.update(path_defs)
    if definitions:
        components["schemas"] = {k: definitions[k] for k in sorted(definitions)}
    if components:
        output["components"] = components
    output["paths"] = paths
    if webhook_paths:
        output["webhooks"] = webhook_paths
    if tags:
        output["tags"] = tags
    if external_docs:
        output["externalDocs"] = external_docs
    return jsonable(OpenAPI(**output), exclude_none=True)
