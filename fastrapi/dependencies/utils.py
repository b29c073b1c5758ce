"""Decoration-time analysis: signatures -> ``Dependant`` tree -> the compact
PLAN the C glue executes per request (format documented at the top of
``fastrapi_py.c``). Nothing in this module runs per request."""
from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
import uuid as _uuid
from copy import copy
from enum import Enum
from functools import partial
from typing import (Annotated, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union,
                    get_args, get_origin)

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from .. import params
from .._foreign import adopt
from ..concurrency import limit_dependency
from .._compat import (ModelField, RequiredParam, Undefined, copy_field_info, json_validator,
                       lenient_issubclass)
from starlette.background import BackgroundTasks as StarletteBackgroundTasks
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ..datastructures import UploadFile
from . import param_models
from .models import Dependant, SecurityRequirement, oauth_scopes

try:
    from types import UnionType
except ImportError:  # pragma: no cover
    UnionType = Union  # type: ignore

# The plan's typed definition lives in the extension (struct sequences and
# constants exported by fastrapi_py.c): nothing here is a copied enum.
from .._fastrapi import (BODY_FORM, BODY_JSON, BODY_NONE, CONV_ANY, CONV_BOOL,  # noqa: E402
                         CONV_FLOAT, CONV_INT, CONV_STR, CONV_UUID, DEFAULT_COPY,
                         DEFAULT_FACTORY, DEFAULT_VALUE, KIND_AGEN, KIND_ASYNC, KIND_GEN,
                         KIND_NATIVE, KIND_SYNC, SCOPE_FUNCTION, SCOPE_REQUEST, SRC_BACKGROUND,
                         SRC_BODY, SRC_BODY_FIELD, SRC_CONST, SRC_COOKIE, SRC_DEP,
                         SRC_FORM_FIELD, SRC_HEADER, SRC_PATH, SRC_QUERY, SRC_REQUEST,
                         SRC_RESPONSE, Plan, PlanNode, PlanParam, PlanSecurity)


def _mk(cls: Any, **fields: Any) -> Any:
    """Build one of the extension's plan records by field name."""
    return cls(tuple(fields[f] for f in cls.__match_args__))


sequence_types = (list, set, tuple, frozenset, Sequence, List, typing.Set, typing.Tuple,
                  typing.FrozenSet)
try:
    import collections.abc as _abc
    sequence_types = sequence_types + (_abc.Sequence, _abc.Set)
except Exception:  # pragma: no cover
    pass


def _security_scopes_class():
    try:
        from ..security.oauth2 import SecurityScopes
        return SecurityScopes
    except Exception:
        return None


def _security_base_class():
    try:
        from ..security.base import SecurityBase
        return SecurityBase
    except Exception:
        return None


# ---------------------------------------------------------------- signatures

def get_typed_signature(call: Callable[..., Any]) -> inspect.Signature:
    if inspect.isclass(call):
        sig = inspect.signature(call)
        target = call.__init__
    else:
        sig = inspect.signature(call)
        target = call
    while isinstance(target, partial):
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        globalns = getattr(inspect.unwrap(target), "__globals__", {})
        hints = {}
        for p in sig.parameters.values():
            ann = p.annotation
            if isinstance(ann, str):
                try:
                    ann = eval(ann, globalns)  # noqa: S307 -- same as typing's forward refs
                except Exception:
                    pass
            hints[p.name] = ann
    new_params = [p.replace(annotation=hints.get(p.name, p.annotation))
                  for p in sig.parameters.values()]
    ret = hints.get("return", sig.return_annotation)
    return inspect.Signature(new_params, return_annotation=ret)


def get_path_param_names(path: str) -> set:
    import re
    return {m.split(":")[0] for m in re.findall(r"{([^}]*)}", path)}


# ---------------------------------------------------------------- type tests

def _strip_optional(ann: Any) -> Any:
    if get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    if get_origin(ann) in (Union, UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    return ann


def _has_inner_metadata(ann: Any) -> bool:
    """An Annotated inside the type (``Optional[PositiveInt]``,
    ``Annotated[int, Query(ge=1)] | None``): constraints or validators that
    the field's own metadata does not list."""
    if get_origin(ann) is Annotated:
        return True
    return get_origin(ann) in (Union, UnionType) and any(_has_inner_metadata(a) for a in get_args(ann))


def field_annotation_is_sequence(ann: Any) -> bool:
    if get_origin(ann) is Annotated:
        return field_annotation_is_sequence(get_args(ann)[0])
    origin = get_origin(ann)
    if origin in (Union, UnionType):
        return any(field_annotation_is_sequence(a) for a in get_args(ann))
    return _annotation_is_sequence(ann) or _annotation_is_sequence(origin)


def _annotation_is_sequence(ann: Any) -> bool:
    # FastAPI: a str/bytes subclass (``class Color(str, Enum)``) is a scalar
    if lenient_issubclass(ann, (str, bytes)):
        return False
    return lenient_issubclass(ann, sequence_types)


def field_annotation_is_complex(ann: Any) -> bool:
    if get_origin(ann) is Annotated:
        return field_annotation_is_complex(get_args(ann)[0])
    origin = get_origin(ann)
    if origin in (Union, UnionType):
        return any(field_annotation_is_complex(a) for a in get_args(ann))
    return (_annotation_is_complex(ann) or _annotation_is_complex(origin)
            or hasattr(origin, "__pydantic_core_schema__")
            or hasattr(origin, "__get_pydantic_core_schema__"))


def _annotation_is_complex(ann: Any) -> bool:
    return (lenient_issubclass(ann, (BaseModel, typing.Mapping, UploadFile, dict))
            or _annotation_is_sequence(ann)
            or dataclasses.is_dataclass(ann))


def field_annotation_is_scalar(ann: Any) -> bool:
    return ann is Ellipsis or not field_annotation_is_complex(ann)


def field_annotation_is_scalar_sequence(ann: Any) -> bool:
    if get_origin(ann) is Annotated:
        return field_annotation_is_scalar_sequence(get_args(ann)[0])
    origin = get_origin(ann)
    if origin in (Union, UnionType):
        ok = False
        for a in get_args(ann):
            if field_annotation_is_scalar_sequence(a):
                ok = True
            elif not field_annotation_is_scalar(a):
                return False
        return ok
    return field_annotation_is_sequence(ann) and all(
        field_annotation_is_scalar(a) for a in get_args(ann))


def _is_uploadfile(ann: Any) -> bool:
    a = _strip_optional(ann)
    if lenient_issubclass(a, UploadFile) or lenient_issubclass(a, bytes):
        return lenient_issubclass(a, UploadFile)
    if field_annotation_is_sequence(a):
        return any(lenient_issubclass(_strip_optional(x), UploadFile) for x in get_args(a))
    return False


# ---------------------------------------------------------------- analysis

@dataclasses.dataclass
class ParamDetails:
    type_annotation: Any
    depends: Optional[params.Depends]
    field: Optional[ModelField]


def analyze_param(*, param_name: str, annotation: Any, value: Any,
                  path_param_names: set) -> ParamDetails:
    is_path_param = param_name in path_param_names
    field_info = None
    depends = None
    type_annotation: Any = Any
    use_annotation: Any = Any
    if annotation is not inspect.Signature.empty:
        use_annotation = annotation
        type_annotation = annotation
    value = adopt(value)  # a real FastAPI Query/Depends/... (fastrapi._foreign)
    if get_origin(use_annotation) is Annotated:
        annotated_args = get_args(annotation)
        type_annotation = annotated_args[0]
        specific = [a for a in map(adopt, annotated_args[1:])
                    if isinstance(a, (params.Param, params.Body, params.Depends))]
        fa = specific[-1] if specific else None
        if isinstance(fa, FieldInfo):
            field_info = copy_field_info(field_info=fa, annotation=use_annotation)
            assert field_info.default in (Undefined, RequiredParam, ...), (
                f"`{field_info.__class__.__name__}` default value cannot be set in"
                f" `Annotated` for {param_name!r}. Set the default value with `=` instead.")
            if value is not inspect.Signature.empty:
                assert not is_path_param, "Path parameters cannot have default values"
                field_info.default = value
            else:
                field_info.default = RequiredParam
        elif isinstance(fa, params.Depends):
            depends = fa
    if isinstance(value, params.Depends):
        assert depends is None, ("Cannot specify `Depends` in `Annotated` and default value"
                                 f" together for {param_name!r}")
        assert field_info is None, ("Cannot specify a FastAPI annotation in `Annotated` and "
                                    f"`Depends` as a default value together for {param_name!r}")
        depends = value
    elif isinstance(value, FieldInfo):
        assert field_info is None, ("Cannot specify FastAPI annotations in `Annotated` and "
                                    f"default value together for {param_name!r}")
        field_info = value
        field_info.annotation = type_annotation
    if depends is not None and depends.dependency is None:
        depends = dataclasses.replace(depends, dependency=type_annotation)
    # Starlette's classes (fastrapi's Request, BackgroundTasks... subclass them)
    special = [HTTPConnection, Response, StarletteBackgroundTasks]
    ss = _security_scopes_class()
    if ss is not None:
        special.append(ss)
    if depends is None and lenient_issubclass(type_annotation, tuple(special)):
        assert field_info is None, f"Cannot specify FastAPI annotation for type {type_annotation!r}"
    elif field_info is None and depends is None:
        default_value = value if value is not inspect.Signature.empty else RequiredParam
        if is_path_param:
            field_info = params.Path(annotation=use_annotation)
        elif _is_uploadfile(type_annotation):
            field_info = params.File(annotation=use_annotation, default=default_value)
        elif not field_annotation_is_scalar(type_annotation):
            field_info = params.Body(annotation=use_annotation, default=default_value)
        else:
            field_info = params.Query(annotation=use_annotation, default=default_value)
        if get_origin(use_annotation) is Annotated:
            inferred = field_info.default
            field_info = copy_field_info(field_info=field_info, annotation=use_annotation)
            field_info.default = inferred
    field = None
    if field_info is not None:
        if is_path_param:
            assert isinstance(field_info, params.Path), (
                f"Cannot use `{field_info.__class__.__name__}` for path param {param_name!r}")
        elif isinstance(field_info, params.Param) and getattr(field_info, "in_", None) is None:
            field_info.in_ = params.ParamTypes.query
        if not field_info.alias and getattr(field_info, "convert_underscores", None):
            alias = param_name.replace("_", "-")
        else:
            alias = field_info.alias or param_name
        field_info.alias = alias
        if field_info.annotation is None or field_info.annotation is type(None):
            if type_annotation is not type(None):
                field_info.annotation = type_annotation
        field = ModelField(field_info=field_info, name=param_name)
    return ParamDetails(type_annotation=type_annotation, depends=depends, field=field)


def _add_param_to_fields(field: ModelField, dependant: Dependant) -> None:
    fi = field.field_info
    where = getattr(fi, "in_", None)
    if where == params.ParamTypes.path:
        dependant.path_params.append(field)
    elif where == params.ParamTypes.query:
        dependant.query_params.append(field)
    elif where == params.ParamTypes.header:
        dependant.header_params.append(field)
    elif where == params.ParamTypes.cookie:
        dependant.cookie_params.append(field)
    else:
        dependant.body_params.append(field)


def get_dependant(*, path: str, call: Callable[..., Any], name: Optional[str] = None,
                  own_oauth_scopes: Optional[List[str]] = None,
                  parent_oauth_scopes: Optional[List[str]] = None, use_cache: bool = True,
                  scope: Optional[str] = None, concurrency: Any = None,
                  _stack: Tuple = ()) -> Dependant:
    if any(c is call for c in _stack):
        names = " -> ".join(getattr(c, "__name__", repr(c)) for c in _stack + (call,))
        raise RuntimeError(f"Dependency cycle detected: {names}")
    path_param_names = get_path_param_names(path)
    sig = get_typed_signature(call)
    dependant = Dependant(call=call, name=name, path=path,
                          security_scopes=oauth_scopes(parent_oauth_scopes, own_oauth_scopes),
                          own_oauth_scopes=own_oauth_scopes, parent_oauth_scopes=parent_oauth_scopes,
                          use_cache=use_cache, scope=scope, concurrency=concurrency)
    current_scopes = (parent_oauth_scopes or []) + (own_oauth_scopes or [])  # FastAPI's, as is
    SecurityBase = _security_base_class()
    ss = _security_scopes_class()
    for pname, param in sig.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        details = analyze_param(param_name=pname, annotation=param.annotation,
                                value=param.default, path_param_names=path_param_names)
        if details.depends is not None:
            if ((is_gen_callable(call) or is_async_gen_callable(call))
                    and (scope or "request") == "request" and details.depends.scope == "function"):
                from ..exceptions import DependencyScopeError
                raise DependencyScopeError(  # FastAPI's check, at declaration
                    f'The dependency "{getattr(call, "__name__", "<unnamed_callable>")}" has a scope '
                    'of "request", it cannot depend on dependencies with scope "function".')
            own = []
            if isinstance(details.depends, params.Security) and details.depends.scopes:
                own = list(details.depends.scopes)
            sub = get_dependant(path=path, call=details.depends.dependency, name=pname,
                                own_oauth_scopes=own, parent_oauth_scopes=current_scopes,
                                use_cache=details.depends.use_cache,
                                scope=details.depends.scope,
                                concurrency=details.depends._concurrency,
                                _stack=_stack + (call,))
            if SecurityBase is not None and isinstance(details.depends.dependency, SecurityBase):
                dependant.security_requirements.append(SecurityRequirement(
                    security_scheme=details.depends.dependency,
                    scopes=list(getattr(details.depends, "scopes", None) or [])))
            dependant.dependencies.append(sub)
            continue
        t = details.type_annotation
        if lenient_issubclass(t, HTTPConnection):
            dependant.request_param_name = pname
        elif lenient_issubclass(t, Response):
            dependant.response_param_name = pname
        elif lenient_issubclass(t, StarletteBackgroundTasks):
            dependant.background_tasks_param_name = pname
        elif ss is not None and lenient_issubclass(t, ss):
            dependant.security_scopes_param_name = pname
        else:
            assert details.field is not None
            _add_param_to_fields(details.field, dependant)
    return dependant


def get_flat_dependant(dependant: Dependant, *, skip_repeats: bool = False,
                       visited: Optional[list] = None) -> Dependant:
    if visited is None:
        visited = []
    visited.append(dependant.cache_key)
    flat = Dependant(path_params=list(dependant.path_params),
                     query_params=list(dependant.query_params),
                     header_params=list(dependant.header_params),
                     cookie_params=list(dependant.cookie_params),
                     body_params=list(dependant.body_params),
                     security_requirements=list(dependant.security_requirements),
                     use_cache=dependant.use_cache, path=dependant.path, call=dependant.call)
    for sub in dependant.dependencies:
        if skip_repeats and sub.cache_key in visited:
            continue
        f = get_flat_dependant(sub, skip_repeats=skip_repeats, visited=visited)
        flat.path_params += f.path_params
        flat.query_params += f.query_params
        flat.header_params += f.header_params
        flat.cookie_params += f.cookie_params
        flat.body_params += f.body_params
        flat.security_requirements += f.security_requirements
    return flat


def get_flat_params(dependant: Dependant) -> List[ModelField]:
    f = get_flat_dependant(dependant, skip_repeats=True)
    return f.path_params + f.query_params + f.header_params + f.cookie_params


def _should_embed_body_fields(fields: List[ModelField]) -> bool:
    """FastAPI 0.165's rule, Form() models (optional ones, unions of models)
    included; the OpenAPI side's form body uses it too."""
    from ..openapi.utils import _form_models
    if not fields:
        return False
    if len({f.name for f in fields}) > 1:
        return True
    first = fields[0]
    if _form_models(first) and any(
            not _form_models(f) or f.field_info.annotation is not first.field_info.annotation
            for f in fields[1:]):
        return True
    if getattr(first.field_info, "embed", None):
        return True
    if (isinstance(first.field_info, params.Form)
            and not lenient_issubclass(first.field_info.annotation, BaseModel)
            and not _form_models(first)):
        return True
    return False


def get_body_field(*, flat_dependant: Dependant, name: str,
                   embed_body_fields: bool) -> Optional[ModelField]:
    """The (possibly synthesised) body field, for OpenAPI."""
    from .._compat import create_body_model
    if not flat_dependant.body_params:
        return None
    first = flat_dependant.body_params[0]
    if not embed_body_fields:
        return first
    model_name = "Body_" + name
    BodyModel = create_body_model(fields=flat_dependant.body_params, model_name=model_name)
    required = any(f.required for f in flat_dependant.body_params)
    kwargs: Dict[str, Any] = {"annotation": BodyModel, "alias": "body"}
    if not required:
        kwargs["default"] = None
    media = [getattr(f.field_info, "media_type", "application/json")
             for f in flat_dependant.body_params]
    if any(isinstance(f.field_info, params.File) for f in flat_dependant.body_params):
        cls = params.File
    elif any(isinstance(f.field_info, params.Form) for f in flat_dependant.body_params):
        cls = params.Form
    else:
        cls = params.Body
        kwargs["media_type"] = media[0] if media else "application/json"
    return ModelField(field_info=cls(**kwargs), name="body")


def _get_body_field(*, body_params: List[ModelField], name: str,
                    embed_body_fields: bool) -> Optional[ModelField]:
    """FastAPI's name: the request body as one field (for OpenAPI)."""
    return get_body_field(flat_dependant=Dependant(body_params=list(body_params)), name=name,
                          embed_body_fields=embed_body_fields)


def _get_flat_body_params(dependant: Dependant) -> List[ModelField]:
    """Every body parameter of the tree, in FastAPI's (depth-first) order."""
    body_params: List[ModelField] = []
    dependants = [dependant]
    while dependants:
        current = dependants.pop()
        body_params.extend(current.body_params)
        dependants.extend(reversed(current.dependencies))
    return body_params


def get_parameterless_sub_dependant(*, depends: params.Depends, path: str) -> Dependant:
    """The Dependant of a ``dependencies=[Depends(...)]`` entry."""
    depends = adopt(depends)
    assert callable(depends.dependency), (
        "A parameter-less dependency must have a callable dependency")
    scopes = list(depends.scopes or []) if isinstance(depends, params.Security) else []
    return get_dependant(path=path, call=depends.dependency, own_oauth_scopes=scopes,
                         use_cache=depends.use_cache, scope=depends.scope,
                         concurrency=depends._concurrency)


def get_typed_annotation(annotation: Any, globalns: Dict[str, Any]) -> Any:
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
        try:
            annotation = typing._eval_type(annotation, globalns, globalns)  # type: ignore
        except Exception:
            pass
    return annotation


def get_typed_return_annotation(call: Callable[..., Any]) -> Any:
    signature = inspect.signature(call)
    annotation = signature.return_annotation
    if annotation is inspect.Signature.empty:
        return None
    globalns = getattr(inspect.unwrap(call), "__globals__", {})
    return get_typed_annotation(annotation, globalns)


def add_param_to_fields(*, field: ModelField, dependant: Dependant) -> None:
    _add_param_to_fields(field, dependant)


def __getattr__(name: str) -> Any:
    # FastAPI names some plugins import from here (lazily: anyio, the utils module)
    if name in ("run_in_threadpool", "contextmanager_in_threadpool"):
        from .. import concurrency
        return getattr(concurrency, name)
    if name == "create_model_field":
        from ..utils import create_model_field
        return create_model_field
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_gen_callable(call: Any) -> bool:
    if inspect.isgeneratorfunction(call):
        return True
    if inspect.isclass(call):
        return False
    dc = getattr(call, "__call__", None)
    return inspect.isgeneratorfunction(dc)


def is_async_gen_callable(call: Any) -> bool:
    if inspect.isasyncgenfunction(call):
        return True
    if inspect.isclass(call):
        return False
    dc = getattr(call, "__call__", None)
    return inspect.isasyncgenfunction(dc)


def is_coroutine_callable(call: Any) -> bool:
    f = call
    while isinstance(f, partial):
        f = f.func
    if inspect.isroutine(f):
        return inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(inspect.unwrap(f))
    if inspect.isclass(f):
        return False
    dc = getattr(f, "__call__", None)
    return inspect.iscoroutinefunction(dc)


def call_kind(call: Any) -> int:
    if is_gen_callable(call):
        return KIND_GEN
    if is_async_gen_callable(call):
        return KIND_AGEN
    if is_coroutine_callable(call):
        return KIND_ASYNC
    return KIND_SYNC


# ---------------------------------------------------------------- plan

_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset, Enum)


def _conv_for(field: ModelField) -> Tuple[int, Any]:
    """(conversion, adapter or None) for a single raw string value."""
    fi = field.field_info
    ann = _strip_optional(fi.annotation)
    plain = not fi.metadata and not _has_inner_metadata(fi.annotation)
    adapter = field._type_adapter
    if not plain:
        return CONV_ANY, adapter
    if ann is str:
        return CONV_STR, None
    if ann is bool:
        return CONV_BOOL, adapter
    if ann is int:
        return CONV_INT, adapter
    if ann is float:
        return CONV_FLOAT, adapter
    if ann is _uuid.UUID:
        return CONV_UUID, adapter
    if ann is Any or ann is inspect.Signature.empty:
        return CONV_ANY, None
    return CONV_ANY, adapter


def _default(field: ModelField) -> Tuple[Any, int]:
    """(default, how the engine produces it per request)."""
    fi = field.field_info
    if fi.default_factory is not None:
        return fi.default_factory, DEFAULT_FACTORY  # FastAPI calls it per request
    default = fi.get_default(call_default_factory=False)
    return default, (DEFAULT_VALUE if isinstance(default, _IMMUTABLE) else DEFAULT_COPY)


def _plain_param(name: str, source: int, key: Any = None, default: Any = None) -> Any:
    return _mk(PlanParam, kwname=name, source=source, key=key, conv=CONV_ANY, required=0,
               default=default, default_mode=DEFAULT_VALUE, adapter=None, loc=(), is_list=0,
               json_validate=None)


def _is_bytes(ann: Any) -> bool:
    """FastAPI's is_bytes_or_nonable_bytes_annotation."""
    if lenient_issubclass(ann, bytes):
        return True
    return get_origin(ann) in (Union, UnionType) and any(lenient_issubclass(a, bytes)
                                                         for a in get_args(ann))


def _is_bytes_sequence(ann: Any) -> bool:
    """FastAPI's is_bytes_sequence_annotation."""
    if get_origin(ann) in (Union, UnionType):
        return any(_is_bytes_sequence(a) for a in get_args(ann))
    return field_annotation_is_sequence(ann) and all(_is_bytes(a) for a in get_args(ann))


def _reads_file_bytes(field: ModelField) -> bool:
    """A File() parameter typed bytes / list[bytes]: FastAPI reads the
    uploaded files into bytes before validating."""
    ann = field.field_info.annotation
    if get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    return isinstance(field.field_info, params.File) and (_is_bytes(ann) or _is_bytes_sequence(ann))


def _read_upload(value: Any) -> Any:
    # FastAPI's _read_file_bytes: read from the current position, then put it back
    if not isinstance(value, StarletteUploadFile):
        return value
    pos = value.file.tell()
    try:
        return value.file.read()
    finally:
        value.file.seek(pos)


class _FileBytesAdapter:
    """The plan's adapter for a bytes File(): files become their bytes, then
    the field's own TypeAdapter validates (its errors are FastAPI's)."""

    __slots__ = ("adapter",)

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def validate_python(self, value: Any, **kw: Any) -> Any:
        if isinstance(value, list):
            value = [_read_upload(v) for v in value]
        else:
            value = _read_upload(value)
        return self.adapter.validate_python(value, **kw)


def _field_param(name: str, source: int, key: Any, field: ModelField, loc: Tuple,
                 is_list: bool = False) -> Any:
    conv, adapter = _conv_for(field)
    if source in (SRC_BODY, SRC_BODY_FIELD):
        conv = CONV_ANY
        adapter = field._type_adapter
        ann = _strip_optional(field.field_info.annotation)
        if (ann is Any or ann is inspect.Signature.empty) and not field.field_info.metadata and \
                not _has_inner_metadata(field.field_info.annotation):
            adapter = None
    if is_list:
        conv, adapter = CONV_ANY, field._type_adapter
    if source == SRC_FORM_FIELD and adapter is None and conv == CONV_STR:
        adapter = field._type_adapter  # a str is taken as is; an UploadFile gets pydantic's error
    if source == SRC_FORM_FIELD and adapter is not None and _reads_file_bytes(field):
        conv, adapter = CONV_ANY, _FileBytesAdapter(adapter)
    required = field.field_info.is_required()
    default, mode = (None, DEFAULT_VALUE) if required else _default(field)
    # the whole body is this one field: validated from its bytes when the
    # modes agree (json_validator)
    jv = json_validator(adapter) if source == SRC_BODY and adapter is not None else None
    return _mk(PlanParam, kwname=name, source=source, key=key, conv=conv, required=int(required),
               default=default, default_mode=mode, adapter=adapter, loc=tuple(loc),
               is_list=int(is_list), json_validate=jv)


def get_validation_alias(field: ModelField) -> str:
    """FastAPI's rule: the name a parameter is read under (and reported at)."""
    va = getattr(field, "validation_alias", None)
    return va or field.alias


def _request_alias(field: ModelField, path_param_names: Optional[set] = None) -> str:
    """get_validation_alias, plus ``AliasChoices`` of plain names: the first
    choice (for a path parameter, the choice the path has). Query, header and
    cookie parameters with several choices are read through the Request
    instead (param_models.alias_choices), under the first name sent."""
    va = field.field_info.validation_alias
    if isinstance(va, AliasChoices):
        names = [c for c in va.choices if isinstance(c, str)]
        if names and len(names) == len(va.choices):
            for n in names:
                if path_param_names and n in path_param_names:
                    return n
            return names[0]
    return get_validation_alias(field)


def _builtin_security(call: Any, native_http: bool = True) -> Any:
    """A PlanSecurity when `call` is one of fastapi.security's schemes used as
    shipped (a subclass overriding how it reads or rejects credentials runs
    in Python); the engine then decides it in C (src/security.c)."""
    from .. import _fastrapi as ext
    from ..security import api_key, http, oauth2, open_id_connect_url as oidc
    table = [
        (oauth2.OAuth2PasswordBearer, ext.SEC_OAUTH2_BEARER, None),
        (oauth2.OAuth2AuthorizationCodeBearer, ext.SEC_OAUTH2_BEARER, None),
        (oauth2.OAuth2, ext.SEC_OAUTH2, None),
        (oidc.OpenIdConnect, ext.SEC_OPENID, None),
        (http.HTTPBasic, ext.SEC_HTTP_BASIC, http.HTTPBasicCredentials),
        (http.HTTPBearer, ext.SEC_HTTP_BEARER, http.HTTPAuthorizationCredentials),
        (http.HTTPDigest, ext.SEC_HTTP_DIGEST, http.HTTPAuthorizationCredentials),
        (http.HTTPBase, ext.SEC_HTTP_BASE, http.HTTPAuthorizationCredentials),
        (api_key.APIKeyHeader, ext.SEC_APIKEY_HEADER, None),
        (api_key.APIKeyQuery, ext.SEC_APIKEY_QUERY, None),
        (api_key.APIKeyCookie, ext.SEC_APIKEY_COOKIE, None),
    ]
    if not native_http:  # a handler for fastrapi's HTTPException: see _native_security_ok
        table = [t for t in table if t[0].__module__.endswith((".api_key", ".open_id_connect_url"))]
    cls = type(call)
    for base, kind, result in table:
        if not isinstance(call, base):
            continue
        for meth in ("__call__", "make_not_authenticated_error", "make_authenticate_headers",
                     "check_api_key", "_credentials", "_bearer_token", "_not_authenticated"):
            if getattr(cls, meth, None) is not getattr(base, meth, None):
                return None
        model = getattr(call, "model", None)
        return _mk(PlanSecurity, kind=kind, auto_error=int(bool(call.auto_error)),
                   name=getattr(model, "name", None),
                   scheme=getattr(model, "scheme", None),
                   realm=getattr(call, "realm", None), result=result)
    return None


def _native_security_ok(route: Any) -> bool:
    """The engine's C security schemes raise Starlette's HTTPException (as its
    404/405 do); FastAPI's OAuth2 and HTTP schemes raise fastapi's. With an
    exception handler keyed on fastrapi's HTTPException (which FastAPI runs for
    those errors and not for Starlette's), those schemes run in Python."""
    handlers = getattr(getattr(route, "dependency_overrides_provider", None),
                       "exception_handlers", None)
    if not handlers:
        return True
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ..exceptions import HTTPException
    return not any(inspect.isclass(k) and issubclass(HTTPException, k)
                   and not issubclass(StarletteHTTPException, k) for k in handlers)


def _label(call: Any) -> str:
    return getattr(call, "__name__", None) or type(call).__name__


class _PlanBuilder:
    """Flattens a Dependant tree into providers for the engine's fr_di: one
    provider per FastAPI cache key, ids in pre-order (the endpoint is 0).
    Ordering, caching (use_cache=False -> a fresh use), skipping after
    parameter errors, teardown order and scopes are decided by the engine;
    cycles (possible only through dependency_overrides) are named by it."""

    def __init__(self, overrides: Optional[dict], embed_body_fields: bool) -> None:
        self.overrides = overrides or {}
        self.embed = embed_body_fields
        self.nodes: List[Any] = []
        self.ids: Dict[Any, int] = {}
        self.body_mode = BODY_NONE
        self.form_body = False  # a Form/File parameter anywhere: the body is a form
        self.is_async = False
        self.native_security = True

    def provider(self, dep: Dependant, top: bool) -> int:
        key = None
        label = _label(dep.call)
        if not top:
            key = dep.cache_key  # FastAPI keys the cache by the ORIGINAL dependant
            if key in self.ids:
                return self.ids[key]
            if dep.call in self.overrides:
                label += f" (overridden by {_label(self.overrides[dep.call])})"
                new_call = self.overrides[dep.call]
                dep = get_dependant(path=dep.path or "", call=new_call, name=dep.name,
                                    parent_oauth_scopes=dep.security_scopes,
                                    use_cache=dep.use_cache, scope=dep.scope)
        idx = len(self.nodes)
        self.nodes.append(None)
        if key is not None:
            self.ids[key] = idx
        self.nodes[idx] = self.node(dep, top, label)
        return idx

    def node(self, dep: Dependant, top: bool, label: str) -> Any:
        deps: List[int] = []
        fresh: List[int] = []
        plist: List[Any] = []
        for sub in dep.dependencies:
            deps.append(self.provider(sub, False))
            fresh.append(int(not sub.use_cache))
            if sub.name is not None:  # parameterless (dependencies=[...]): run, not passed
                plist.append(_plain_param(sub.name, SRC_DEP, len(deps) - 1))
        models = self.model_params(dep)
        in_place = {}  # a model of query/header/cookie/form parameters: at its place
        for f, model in models:
            deps.append(self.model_provider(f, model))
            fresh.append(1)
            in_place[id(f)] = _plain_param(f.name, SRC_DEP, len(deps) - 1)
        plist += self.params(dep, in_place)
        call = dep.call
        security = None if top or dep.concurrency is not None else \
            _builtin_security(dep.call, self.native_security)
        if security is not None:
            kind = KIND_NATIVE
            plist = []
        else:
            kind = call_kind(dep.call)
            if dep.concurrency is not None and not top:  # Depends(max_concurrency=N)
                gen = kind in (KIND_GEN, KIND_AGEN)
                call = limit_dependency(call, {KIND_SYNC: "sync", KIND_ASYNC: "async",
                                               KIND_GEN: "gen", KIND_AGEN: "agen"}[kind],
                                        dep.concurrency)
                kind = KIND_AGEN if gen else KIND_ASYNC
        if kind in (KIND_ASYNC, KIND_AGEN):
            self.is_async = True
        scope = SCOPE_FUNCTION if (not top and dep.scope == "function" and
                                   kind in (KIND_GEN, KIND_AGEN)) else SCOPE_REQUEST
        return _mk(PlanNode, call=call, kind=kind, params=tuple(plist), deps=tuple(deps),
                   fresh=tuple(fresh), scope=scope, security=security, name=label)

    def model_params(self, dep: Dependant) -> List[Tuple[ModelField, Optional[type]]]:
        """Parameters read through the Request (param_models): pydantic
        models of parameters, and AliasChoices of several names."""
        out: List[Tuple[ModelField, Optional[type]]] = []
        for f in (*dep.query_params, *dep.header_params, *dep.cookie_params):
            model = param_models.param_model(f)
            if model is not None or param_models.alias_choices(f):
                out.append((f, model))
        for f in dep.body_params:
            model = param_models.form_model(f)
            if model is not None:
                out.append((f, model))
        return out

    def model_provider(self, f: ModelField, model: Optional[type]) -> int:
        """A provider that reads such a parameter through the Request."""
        call, is_async = param_models.provider(f, model)
        if is_async:
            self.is_async = True
        self.nodes.append(_mk(PlanNode, call=call, kind=KIND_ASYNC if is_async else KIND_SYNC,
                              params=(_plain_param("request", SRC_REQUEST),), deps=(), fresh=(),
                              scope=SCOPE_REQUEST, security=None,
                              name=f"{f.name} ({model.__name__ if model else 'AliasChoices'} parameter)"))
        return len(self.nodes) - 1

    def params(self, dep: Dependant, in_place: Optional[Dict[int, Any]] = None) -> List[Any]:
        """The node's parameters in FastAPI's order (path, query, header,
        cookie, body; each in declaration order): the order of its errors.
        `in_place`: parameters read by a provider, there instead."""
        out: List[Any] = []
        skip = in_place or {}
        # keys and error locations: FastAPI's validation alias
        path_names = get_path_param_names(dep.path or "")
        for f in dep.path_params:
            a = _request_alias(f, path_names)
            out.append(_field_param(f.name, SRC_PATH, a, f, ("path", a)))
        for f in dep.query_params:
            if id(f) in skip:
                out.append(skip[id(f)])
                continue
            a = _request_alias(f)
            out.append(_field_param(f.name, SRC_QUERY, a, f, ("query", a),
                                    field_annotation_is_sequence(f.field_info.annotation)))
        for f in dep.header_params:
            if id(f) in skip:
                out.append(skip[id(f)])
                continue
            a = _request_alias(f)
            out.append(_field_param(f.name, SRC_HEADER, a.lower(), f, ("header", a),
                                    field_annotation_is_sequence(f.field_info.annotation)))
        for f in dep.cookie_params:
            if id(f) in skip:
                out.append(skip[id(f)])
                continue
            a = _request_alias(f)
            out.append(_field_param(f.name, SRC_COOKIE, a, f, ("cookie", a)))
        for f in dep.body_params:
            if id(f) in skip:
                out.append(skip[id(f)])
                continue
            out.append(self.body_param(f))
        if dep.request_param_name:
            out.append(_plain_param(dep.request_param_name, SRC_REQUEST))
        if dep.response_param_name:
            out.append(_plain_param(dep.response_param_name, SRC_RESPONSE))
        if dep.background_tasks_param_name:
            out.append(_plain_param(dep.background_tasks_param_name, SRC_BACKGROUND))
        if dep.security_scopes_param_name:
            ss = _security_scopes_class()
            val = ss(scopes=list(dep.security_scopes or [])) if ss else None
            out.append(_plain_param(dep.security_scopes_param_name, SRC_CONST, default=val))
        return out

    def body_param(self, f: ModelField) -> Any:
        a = _request_alias(f)
        # FastAPI: one Form/File parameter makes the body a form, and every
        # body parameter (Body() ones too) is read from its fields
        if isinstance(f.field_info, params.Form) or self.form_body:
            self.body_mode = BODY_FORM
            return _field_param(f.name, SRC_FORM_FIELD, a, f, ("body", a),
                                field_annotation_is_sequence(f.field_info.annotation))
        if self.body_mode == BODY_NONE:
            self.body_mode = BODY_JSON
        if self.embed:
            return _field_param(f.name, SRC_BODY_FIELD, a, f, ("body", a))
        return _field_param(f.name, SRC_BODY, None, f, ("body",))


def compile_plan(dependant: Dependant, *, route: Any, overrides: Optional[dict] = None,
                 embed_body_fields: bool = False, response: Any) -> Any:
    """The route's Plan for the engine (record types in fastrapi_py.c)."""
    b = _PlanBuilder(overrides, embed_body_fields)
    b.native_security = _native_security_ok(route)
    b.form_body = any(isinstance(f.field_info, params.Form) for f in _get_flat_body_params(dependant))
    b.provider(dependant, True)
    return _mk(Plan, nodes=tuple(b.nodes), body_mode=b.body_mode, response=response,
               route=route, is_async=int(b.is_async))
