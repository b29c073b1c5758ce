"""Pydantic models as Query / Header / Cookie / Form parameters (FastAPI's
"parameter models"): ``def f(q: Annotated[Filter, Query()])`` reads each of
the model's fields from the query string (headers, cookies, form fields)
and validates the whole dict with the model, so ``extra="forbid"`` reports
the other keys and errors sit at ``("query", field)``.

The engine reads scalar parameters itself; a model parameter becomes a
provider of the plan that reads them through the Request, with FastAPI
0.165's rules (``fastapi/dependencies/utils.py``:
``_request_param_model_to_args``, ``_get_param_aliases``,
``_get_multidict_value``, ``_get_multidict_extras``, ``_extract_form_items``),
and raises RequestValidationError with those errors."""
from __future__ import annotations

from copy import deepcopy
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple, get_args

from pydantic import AliasChoices, AliasPath
from starlette.datastructures import FormData, Headers, ImmutableMultiDict, UploadFile

from .. import params
from .._compat import ModelField, Undefined, get_missing_field_error


def param_model(field: ModelField) -> Optional[type]:
    """FastAPI's _get_param_model: the model of a Query/Header/Cookie model
    parameter, else None (the OpenAPI side's rule, shared)."""
    from ..openapi.utils import _param_model
    return _param_model(field)


def form_model(field: ModelField) -> Optional[type]:
    """A Form parameter whose type is one model (or an optional one)."""
    from ..openapi.utils import _model_type
    if not isinstance(field.field_info, params.Form):
        return None
    return _model_type(field.field_info.annotation)


def model_fields(model: type) -> List[ModelField]:
    """FastAPI's get_cached_model_fields (the OpenAPI side's, shared)."""
    from ..openapi.utils import _cached_model_fields
    return _cached_model_fields(model)


def _is_json_field(field: ModelField) -> bool:
    from ..openapi.utils import _is_json_field as is_json
    return is_json(field)


def _is_sequence(ann: Any) -> bool:
    from .utils import field_annotation_is_sequence
    return field_annotation_is_sequence(ann)


def _aliases(field: ModelField, convert_underscores: bool = False) -> List[Tuple[str, str]]:
    """(validation alias, request key) pairs in preference order."""
    va = field.field_info.validation_alias
    alias = va if isinstance(va, str) and va else field.alias
    request_alias = alias.replace("_", "-") if convert_underscores and alias == field.name else alias
    if isinstance(va, AliasPath):
        return [(alias, request_alias)]
    aliases = [(alias, request_alias)]
    if isinstance(va, AliasChoices):
        if any(isinstance(c, AliasPath) for c in va.choices):
            return aliases
        aliases = [(c, c) for c in va.choices]
    config = field.config or {}
    if config.get("validate_by_alias") is False or config.get(
            "validate_by_name", config.get("populate_by_name", False)):
        request_name = field.name.replace("_", "-") if convert_underscores else field.name
        if config.get("validate_by_alias") is False:
            return [(field.name, request_name)]
        if field.name not in [a for a, _ in aliases]:
            aliases.append((field.name, request_name))
    return aliases


def _empty_file(value: Any) -> bool:
    return isinstance(value, UploadFile) and value.filename == "" and value.size == 0


def _value(field: ModelField, values: Any, alias: str) -> Any:
    seq = _is_sequence(field.field_info.annotation)
    if not _is_json_field(field) and seq and isinstance(values, (ImmutableMultiDict, Headers)):
        value = values.getlist(alias)
        if isinstance(values, FormData):
            value = [v for v in value if not _empty_file(v)]
    else:
        value = values.get(alias, None)
    if (value is None
            or (isinstance(values, FormData) and ((isinstance(value, str) and value == "")
                                                  or _empty_file(value)))
            or (seq and len(value) == 0)):
        return Undefined
    return value


def _extras(received: Any, processed: Set[str]) -> Iterator[Tuple[str, Any]]:
    if isinstance(received, ImmutableMultiDict):
        items = received.multi_items()
    elif isinstance(received, Headers):
        items = received.items()
    else:
        for key in received:
            if key not in processed:
                yield key, received.get(key)
        return
    grouped: Dict[str, List[Any]] = {}
    for key, value in items:
        if key not in processed:
            grouped.setdefault(key, []).append(value)
    for key, vals in grouped.items():
        yield key, vals[0] if len(vals) == 1 else vals


def _validate(field: ModelField, value: Any, loc: Tuple) -> Tuple[Any, List[Any]]:
    if value is Undefined:
        if field.field_info.is_required():
            return None, [get_missing_field_error(loc=loc)]
        value = deepcopy(field.get_default())
        if not field.field_info.validate_default:
            return value, []
    return field.validate(value, {}, loc=loc)


def _model_args(model_field: ModelField, model: type, received: Any) -> Tuple[Any, List[Any]]:
    """FastAPI's _request_param_model_to_args."""
    is_headers = isinstance(received, Headers)
    default_convert = getattr(model_field.field_info, "convert_underscores", True)
    to_process: Dict[str, Any] = {}
    header_aliases: Dict[str, str] = {}
    processed: Set[str] = set()
    own: Set[str] = set()
    for field in model_fields(model):
        convert = is_headers and getattr(field.field_info, "convert_underscores", default_convert)
        aliases = _aliases(field, convert)
        own.update(n.lower() if is_headers else n for _, n in aliases)
        alias, request_alias = next((p for p in aliases if p[1] in received), aliases[0])
        value = _value(field, received, request_alias)
        if value is not Undefined:
            to_process[alias] = value
        if is_headers:
            processed.add(request_alias.lower())
            for validation_alias, header_alias in aliases:
                if validation_alias != header_alias:
                    processed.add(validation_alias.lower())
            if alias != request_alias:
                header_aliases[field.name] = request_alias
        else:
            processed.add(request_alias)
    to_process.update(_extras(received, processed))
    loc: Tuple = (model_field.field_info.in_.value,)
    value: Any = to_process
    if model_field.field_info.annotation is not model and not (
            own.intersection(received)
            or (model.model_config.get("extra") in ("allow", "forbid") and value)):
        value = Undefined
    v, errors = _validate(model_field, value, loc)
    if header_aliases and model.model_config.get("loc_by_alias", True):
        for e in errors:
            eloc = e["loc"]
            if len(eloc) > 1 and eloc[1] in header_aliases:
                e["loc"] = (eloc[0], header_aliases[eloc[1]], *eloc[2:])
    return v, errors


async def _form_dict(model: type, form: FormData) -> Dict[str, Any]:
    """FastAPI's _extract_form_model for one model: its fields, then the
    other form keys (for the model's extra policy); File bytes read."""
    out: Dict[str, Any] = {}
    seen: Set[str] = set()
    for field in model_fields(model):
        for alias, _ in _aliases(field):
            seen.add(alias)
            value = _value(field, form, alias)
            if value is not Undefined:
                out[alias] = value
                break
    out.update(_extras(form, seen))
    return out


class ParamErrors:
    """A provider's validation errors, given to the plan instead of raised:
    the glue files them at the parameter's place among the route's other
    parameters' errors, for one 422 in FastAPI's order."""
    __slots__ = ("errors",)

    def __init__(self, errors: List[Any]) -> None:
        self.errors = errors


def alias_choices(field: ModelField) -> bool:
    """A Query/Header/Cookie parameter with validation_alias=AliasChoices of
    several names: FastAPI reads the first one the request has."""
    va = field.field_info.validation_alias
    return (isinstance(field.field_info, (params.Query, params.Header, params.Cookie))
            and isinstance(va, AliasChoices) and len(va.choices) > 1
            and all(isinstance(c, str) for c in va.choices))


def choices_provider(field: ModelField) -> Any:
    """call(request) -> the value of an AliasChoices parameter (FastAPI's
    request_params_to_args for one field)."""
    where = field.field_info.in_.value

    def choice_param(request: Any) -> Any:
        received = (request.query_params if where == "query" else
                    request.headers if where == "header" else request.cookies)
        aliases = _aliases(field)
        _, alias = next((p for p in aliases if p[1] in received), aliases[0])
        v, errors = _validate(field, _value(field, received, alias), (where, alias))
        return ParamErrors(errors) if errors else v
    return choice_param


def provider(field: ModelField, model: Optional[type]) -> Tuple[Any, bool]:
    """(call(request) -> the parameter's value, is_async) for a model
    parameter (model None: an AliasChoices one)."""
    if model is None:
        return choices_provider(field), False
    if isinstance(field.field_info, params.Form):
        own = {a for f in model_fields(model) for a, _ in _aliases(f)}

        async def form_param(request: Any) -> Any:
            form = await request.form()
            value: Any = await _form_dict(model, form)
            if type(None) in get_args(field.field_info.annotation) and not (
                    own.intersection(form)
                    or (model.model_config.get("extra") in ("allow", "forbid") and form)):
                value = Undefined  # FastAPI's _is_form_model_supplied
            v, errors = _validate(field, value, ("body",))
            return ParamErrors(errors) if errors else v
        return form_param, True

    where = field.field_info.in_.value

    def query_param(request: Any) -> Any:
        received = (request.query_params if where == "query" else
                    request.headers if where == "header" else request.cookies)
        v, errors = _model_args(field, model, received)
        return ParamErrors(errors) if errors else v
    return query_param, False
