"""Parameter declarations (mirror of FastAPI's ``fastapi.params``).

These are pure declarations read at decoration time; nothing here runs per
request. The classes subclass ``pydantic.fields.FieldInfo`` so constraints
(``gt``, ``max_length``, ``pattern``...) and OpenAPI metadata live where
pydantic (and the OpenAPI generator) expect them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Literal, Optional, Sequence

from pydantic.fields import FieldInfo

from ._compat import Undefined, _Unset

__all__ = ["ParamTypes", "Param", "Path", "Query", "Header", "Cookie", "Body", "Form",
           "File", "Depends", "Security"]


class ParamTypes(Enum):
    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


def _field_kwargs(default, default_factory, annotation, alias, alias_priority,
                  validation_alias, serialization_alias, title, description, gt, ge,
                  lt, le, min_length, max_length, pattern, regex, discriminator, strict,
                  validate_default, union_mode, fail_fast, multiple_of, allow_inf_nan,
                  max_digits, decimal_places, examples, deprecated, json_schema_extra):
    if regex is not None:
        warnings.warn("`regex` has been deprecated, please use `pattern` instead",
                      DeprecationWarning, stacklevel=5)
    if serialization_alias in (_Unset, None) and isinstance(alias, str):
        serialization_alias = alias
    if validation_alias in (_Unset, None):
        validation_alias = alias
    kwargs = dict(default=default, default_factory=default_factory, alias=alias,
                  title=title, description=description, examples=examples, gt=gt, ge=ge,
                  lt=lt, le=le, min_length=min_length, max_length=max_length,
                  discriminator=discriminator, validate_default=validate_default,
                  union_mode=union_mode, fail_fast=fail_fast, multiple_of=multiple_of,
                  allow_inf_nan=allow_inf_nan, max_digits=max_digits,
                  decimal_places=decimal_places, deprecated=deprecated,
                  annotation=annotation, alias_priority=alias_priority,
                  validation_alias=validation_alias,
                  serialization_alias=serialization_alias, strict=strict,
                  json_schema_extra=json_schema_extra, pattern=pattern or regex)
    return {k: v for k, v in kwargs.items() if v is not _Unset}


class Param(FieldInfo):  # type: ignore[misc]
    in_: ParamTypes

    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Optional[Callable[[], Any]] = _Unset,
        annotation: Any = None,
        alias: Optional[str] = _Unset,
        alias_priority: Optional[int] = _Unset,
        validation_alias: Any = _Unset,
        serialization_alias: Optional[str] = _Unset,
        title: Optional[str] = _Unset,
        description: Optional[str] = _Unset,
        gt: Optional[float] = None,
        ge: Optional[float] = None,
        lt: Optional[float] = None,
        le: Optional[float] = None,
        min_length: Optional[int] = None,
        max_length: Optional[int] = None,
        pattern: Optional[str] = None,
        regex: Optional[str] = None,
        discriminator: Any = _Unset,
        strict: Optional[bool] = _Unset,
        validate_default: Optional[bool] = _Unset,
        union_mode: Any = _Unset,
        fail_fast: Optional[bool] = _Unset,
        multiple_of: Optional[float] = _Unset,
        allow_inf_nan: Optional[bool] = _Unset,
        max_digits: Optional[int] = _Unset,
        decimal_places: Optional[int] = _Unset,
        examples: Optional[list] = _Unset,
        example: Any = _Unset,
        openapi_examples: Optional[dict] = None,
        deprecated: Any = _Unset,
        include_in_schema: bool = True,
        json_schema_extra: Any = _Unset,
    ):
        if example is not _Unset:
            warnings.warn("`example` has been deprecated, please use `examples` instead",
                          DeprecationWarning, stacklevel=4)
        self.example = example
        self.include_in_schema = include_in_schema
        self.openapi_examples = openapi_examples
        super().__init__(**_field_kwargs(
            default, default_factory, annotation, alias, alias_priority, validation_alias,
            serialization_alias, title, description, gt, ge, lt, le, min_length,
            max_length, pattern, regex, discriminator, strict, validate_default,
            union_mode, fail_fast, multiple_of, allow_inf_nan, max_digits, decimal_places,
            examples, deprecated, json_schema_extra))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Path(Param):  # type: ignore[misc]
    in_ = ParamTypes.path

    def __init__(self, default: Any = ..., **kwargs: Any):
        assert default is ..., "Path parameters cannot have a default value"
        self.in_ = self.in_
        super().__init__(default=default, **kwargs)


class Query(Param):  # type: ignore[misc]
    in_ = ParamTypes.query

    def __init__(self, default: Any = Undefined, **kwargs: Any):
        super().__init__(default=default, **kwargs)


class Header(Param):  # type: ignore[misc]
    in_ = ParamTypes.header

    def __init__(self, default: Any = Undefined, *, convert_underscores: bool = True,
                 **kwargs: Any):
        self.convert_underscores = convert_underscores
        super().__init__(default=default, **kwargs)


class Cookie(Param):  # type: ignore[misc]
    in_ = ParamTypes.cookie

    def __init__(self, default: Any = Undefined, **kwargs: Any):
        super().__init__(default=default, **kwargs)


class Body(FieldInfo):  # type: ignore[misc]
    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Optional[Callable[[], Any]] = _Unset,
        annotation: Any = None,
        embed: Optional[bool] = None,
        media_type: str = "application/json",
        alias: Optional[str] = _Unset,
        alias_priority: Optional[int] = _Unset,
        validation_alias: Any = _Unset,
        serialization_alias: Optional[str] = _Unset,
        title: Optional[str] = _Unset,
        description: Optional[str] = _Unset,
        gt: Optional[float] = None,
        ge: Optional[float] = None,
        lt: Optional[float] = None,
        le: Optional[float] = None,
        min_length: Optional[int] = None,
        max_length: Optional[int] = None,
        pattern: Optional[str] = None,
        regex: Optional[str] = None,
        discriminator: Any = _Unset,
        strict: Optional[bool] = _Unset,
        validate_default: Optional[bool] = _Unset,
        union_mode: Any = _Unset,
        fail_fast: Optional[bool] = _Unset,
        multiple_of: Optional[float] = _Unset,
        allow_inf_nan: Optional[bool] = _Unset,
        max_digits: Optional[int] = _Unset,
        decimal_places: Optional[int] = _Unset,
        examples: Optional[list] = _Unset,
        example: Any = _Unset,
        openapi_examples: Optional[dict] = None,
        deprecated: Any = _Unset,
        include_in_schema: bool = True,
        json_schema_extra: Any = _Unset,
    ):
        self.embed = embed
        self.media_type = media_type
        if example is not _Unset:
            warnings.warn("`example` has been deprecated, please use `examples` instead",
                          DeprecationWarning, stacklevel=4)
        self.example = example
        self.include_in_schema = include_in_schema
        self.openapi_examples = openapi_examples
        super().__init__(**_field_kwargs(
            default, default_factory, annotation, alias, alias_priority, validation_alias,
            serialization_alias, title, description, gt, ge, lt, le, min_length,
            max_length, pattern, regex, discriminator, strict, validate_default,
            union_mode, fail_fast, multiple_of, allow_inf_nan, max_digits, decimal_places,
            examples, deprecated, json_schema_extra))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Form(Body):  # type: ignore[misc]
    def __init__(self, default: Any = Undefined, *,
                 media_type: str = "application/x-www-form-urlencoded", **kwargs: Any):
        super().__init__(default=default, media_type=media_type, **kwargs)


class File(Form):  # type: ignore[misc]
    def __init__(self, default: Any = Undefined, *, media_type: str = "multipart/form-data",
                 **kwargs: Any):
        super().__init__(default=default, media_type=media_type, **kwargs)


@dataclass(frozen=True)
class Depends:
    dependency: Optional[Callable[..., Any]] = None
    use_cache: bool = True
    scope: Optional[Literal["function", "request"]] = None
    max_concurrency: Optional[int] = field(default=None, kw_only=True)
    # FastAPI 0.165: the limit's accounting belongs to this Depends object
    # (identity: an Annotated alias shares it; a new Depends() gets its own)
    _concurrency: Any = field(default=None, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.max_concurrency is None:
            object.__setattr__(self, "_concurrency", None)
            return
        if type(self.max_concurrency) is not int or self.max_concurrency < 1:
            raise ValueError("max_concurrency must be a positive integer or None")
        if self._concurrency is None or self._concurrency.max_concurrency != self.max_concurrency:
            from .concurrency import _DependencyConcurrency
            object.__setattr__(self, "_concurrency", _DependencyConcurrency(self.max_concurrency))


@dataclass(frozen=True)
class Security(Depends):
    scopes: Optional[Sequence[str]] = None
