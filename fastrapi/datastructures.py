"""Containers: Starlette's own classes (as ``fastapi.datastructures``), plus
``UploadFile`` (a subclass of Starlette's, with pydantic hooks, as FastAPI's)
and the ``Default`` placeholder."""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar, cast

from starlette.datastructures import URL as URL  # noqa: F401
from starlette.datastructures import Address as Address  # noqa: F401
from starlette.datastructures import FormData as FormData  # noqa: F401
from starlette.datastructures import Headers as Headers  # noqa: F401
from starlette.datastructures import ImmutableMultiDict as ImmutableMultiDict  # noqa: F401
from starlette.datastructures import MutableHeaders as MutableHeaders  # noqa: F401
from starlette.datastructures import QueryParams as QueryParams  # noqa: F401
from starlette.datastructures import State as State  # noqa: F401
from starlette.datastructures import UploadFile as StarletteUploadFile


class UploadFile(StarletteUploadFile):
    """A file uploaded in a request (multipart/form-data): Starlette's
    ``UploadFile`` with FastAPI's pydantic schema hooks."""

    async def write(self, data: bytes) -> None:
        return await super().write(data)

    async def read(self, size: int = -1) -> bytes:
        return await super().read(size)

    async def seek(self, offset: int) -> None:
        return await super().seek(offset)

    async def close(self) -> None:
        return await super().close()

    @classmethod
    def _validate(cls, __input_value: Any, _: Any) -> "UploadFile":
        if not isinstance(__input_value, StarletteUploadFile):
            raise ValueError(f"Expected UploadFile, received: {type(__input_value)}")
        return cast(UploadFile, __input_value)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Mapping[str, Any],
                                     handler: Any) -> dict:
        return {"type": "string", "contentMediaType": "application/octet-stream"}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: Callable[[Any], Mapping[str, Any]]) -> Any:
        from pydantic_core import core_schema
        return core_schema.with_info_plain_validator_function(cls._validate)


class DefaultPlaceholder:
    """Recognises a default that was not overridden, even a truthy one."""

    def __init__(self, value: Any):
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, o: object) -> bool:
        return isinstance(o, DefaultPlaceholder) and o.value == self.value


DefaultType = TypeVar("DefaultType")
T = DefaultType


def Default(value: DefaultType) -> DefaultType:  # noqa: N802
    return DefaultPlaceholder(value)  # type: ignore
