"""``jsonable_encoder`` with FastAPI's semantics. The C encoder in
``fastrapi._fastrapi`` handles the common types itself and calls this only
for objects it does not know."""
from __future__ import annotations

import dataclasses
import datetime
from collections import deque
from decimal import Decimal
from enum import Enum
from ipaddress import (IPv4Address, IPv4Interface, IPv4Network, IPv6Address,
                       IPv6Interface, IPv6Network)
from pathlib import Path, PurePath
from re import Pattern
from types import GeneratorType
from typing import Any, Callable, Dict, Optional
from uuid import UUID

from pydantic import AnyUrl, BaseModel, NameEmail, SecretBytes, SecretStr
from pydantic_core import PydanticUndefinedType, Url

try:  # deprecated since pydantic 2.0, still encoded (as FastAPI does)
    from pydantic.color import Color
except ImportError:  # pragma: no cover
    class Color:  # type: ignore[no-redef]
        pass

try:  # its successor, when installed
    from pydantic_extra_types.color import Color as PyExtraColor
except ImportError:
    class PyExtraColor:  # type: ignore[no-redef]
        pass


def decimal_encoder(dec_value: Decimal):
    exponent = dec_value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(dec_value)
    return float(dec_value)


def _isoformat(o):
    return o.isoformat()


ENCODERS_BY_TYPE: Dict[type, Callable[[Any], Any]] = {
    bytes: lambda o: o.decode(),
    Color: str,
    PyExtraColor: str,
    datetime.date: _isoformat,
    datetime.datetime: _isoformat,
    datetime.time: _isoformat,
    datetime.timedelta: lambda td: td.total_seconds(),
    Decimal: decimal_encoder,
    Enum: lambda o: o.value,
    frozenset: list,
    deque: list,
    GeneratorType: list,
    IPv4Address: str, IPv4Interface: str, IPv4Network: str,
    IPv6Address: str, IPv6Interface: str, IPv6Network: str,
    NameEmail: str,
    Path: str,
    Pattern: lambda o: o.pattern,
    SecretBytes: str,
    SecretStr: str,
    set: list,
    UUID: str,
    Url: str,
    AnyUrl: str,
}


def _by_class_tuples():
    out: Dict[Callable, tuple] = {}
    for type_, enc in ENCODERS_BY_TYPE.items():
        out[enc] = out.get(enc, ()) + (type_,)
    return out


encoders_by_class_tuples = _by_class_tuples()


def jsonable_encoder(obj: Any, include=None, exclude=None, by_alias: bool = True,
                     exclude_unset: bool = False, exclude_defaults: bool = False,
                     exclude_none: bool = False, custom_encoder: Optional[dict] = None,
                     sqlalchemy_safe: bool = True) -> Any:
    custom_encoder = custom_encoder or {}
    if custom_encoder:
        if type(obj) in custom_encoder:
            return custom_encoder[type(obj)](obj)
        for encoder_type, encoder_instance in custom_encoder.items():
            if isinstance(obj, encoder_type):
                return encoder_instance(obj)
    if include is not None and not isinstance(include, (set, dict)):
        include = set(include)
    if exclude is not None and not isinstance(exclude, (set, dict)):
        exclude = set(exclude)
    kw = dict(by_alias=by_alias, exclude_unset=exclude_unset,
              exclude_defaults=exclude_defaults, exclude_none=exclude_none,
              custom_encoder=custom_encoder, sqlalchemy_safe=sqlalchemy_safe)
    if isinstance(obj, BaseModel):
        obj_dict = obj.model_dump(mode="json", include=include, exclude=exclude,
                                  by_alias=by_alias, exclude_unset=exclude_unset,
                                  exclude_none=exclude_none,
                                  exclude_defaults=exclude_defaults)
        return jsonable_encoder(obj_dict, exclude_none=exclude_none,
                                exclude_defaults=exclude_defaults,
                                sqlalchemy_safe=sqlalchemy_safe)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable_encoder(dataclasses.asdict(obj), include=include, exclude=exclude, **kw)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (str, int, float, type(None))):
        return obj
    if isinstance(obj, PydanticUndefinedType):
        return None
    if isinstance(obj, dict):
        encoded = {}
        allowed = set(obj.keys())
        if include is not None:
            allowed &= set(include)
        if exclude is not None:
            allowed -= set(exclude)
        for key, value in obj.items():
            if ((not sqlalchemy_safe or not isinstance(key, str) or not key.startswith("_sa"))
                    and (value is not None or not exclude_none) and key in allowed):
                encoded[jsonable_encoder(key, **kw)] = jsonable_encoder(value, **kw)
        return encoded
    if isinstance(obj, (list, set, frozenset, GeneratorType, tuple, deque)):
        return [jsonable_encoder(i, include=include, exclude=exclude, **kw) for i in obj]
    if type(obj) in ENCODERS_BY_TYPE:
        return ENCODERS_BY_TYPE[type(obj)](obj)
    for encoder, classes in encoders_by_class_tuples.items():
        if isinstance(obj, classes):
            return encoder(obj)
    try:
        data = dict(obj)
    except Exception as e:
        errors = [e]
        try:
            data = vars(obj)
        except Exception as e2:
            errors.append(e2)
            raise ValueError(errors) from e2
    return jsonable_encoder(data, include=include, exclude=exclude, **kw)
