"""FastAPI's ``fastapi.types`` aliases."""
import types
from enum import Enum
from typing import Any, Callable, Dict, Tuple, Type, TypeVar, Union

from pydantic import BaseModel
from pydantic.main import IncEx as IncEx  # noqa: F401

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
UnionType = getattr(types, "UnionType", Union)
ModelNameMap = Dict[Union[Type[BaseModel], Type[Enum]], str]
DependencyCacheKey = Tuple[Union[Callable[..., Any], None], Tuple[str, ...], str]
