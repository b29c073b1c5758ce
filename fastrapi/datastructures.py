"""Small containers: Headers, QueryParams, State, UploadFile, Default."""
from __future__ import annotations

import io
import tempfile
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar
from urllib.parse import parse_qsl, urlencode


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued, read-only request headers."""

    def __init__(self, raw: Optional[Sequence[Tuple[str, str]]] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        if raw is None:
            raw = list((headers or {}).items())
        self._list = [(k.lower(), v) for k, v in raw]

    @property
    def raw(self) -> List[Tuple[bytes, bytes]]:
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self._list]

    def keys(self):  # type: ignore[override]
        return [k for k, _ in self._list]

    def values(self):  # type: ignore[override]
        return [v for _, v in self._list]

    def items(self):  # type: ignore[override]
        return list(self._list)

    def getlist(self, key: str) -> List[str]:
        k = key.lower()
        return [v for hk, v in self._list if hk == k]

    def __getitem__(self, key: str) -> str:
        k = key.lower()
        for hk, v in self._list:
            if hk == k:
                return v
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        k = str(key).lower()
        return any(hk == k for hk, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Headers) and sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"Headers({self._list!r})"


class MutableHeaders(Headers):
    """Headers view over a response's raw header list (mutations write through)."""

    def __init__(self, raw: List[Tuple[bytes, bytes]]) -> None:
        self._raw = raw

    @property
    def _list(self):  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw]

    @property
    def raw(self):  # type: ignore[override]
        return self._raw

    def __setitem__(self, key: str, value: str) -> None:
        k = key.lower().encode("latin-1")
        idx = [i for i, (hk, _) in enumerate(self._raw) if hk == k]
        for i in reversed(idx[1:]):
            del self._raw[i]
        if idx:
            self._raw[idx[0]] = (k, value.encode("latin-1"))
        else:
            self._raw.append((k, value.encode("latin-1")))

    def __delitem__(self, key: str) -> None:
        k = key.lower().encode("latin-1")
        self._raw[:] = [(hk, v) for hk, v in self._raw if hk != k]

    def append(self, key: str, value: str) -> None:
        self._raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def setdefault(self, key: str, value: str) -> str:
        if key in self:
            return self[key]
        self[key] = value
        return value

    def update(self, other: Mapping[str, str]) -> None:
        for k, v in other.items():
            self[k] = v


class ImmutableMultiDict(Mapping[str, Any]):
    def __init__(self, items: Sequence[Tuple[str, Any]] = ()) -> None:
        self._list = list(items)
        self._dict = {k: v for k, v in self._list}

    def getlist(self, key: str) -> List[Any]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> List[Tuple[str, Any]]:
        return list(self._list)

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._list!r})"


class QueryParams(ImmutableMultiDict):
    def __init__(self, query: Any = "") -> None:
        if isinstance(query, str):
            super().__init__(parse_qsl(query, keep_blank_values=True))
        else:
            super().__init__(query)

    def __str__(self) -> str:
        return urlencode(self._list)


class FormData(ImmutableMultiDict):
    async def close(self) -> None:
        for _, v in self._list:
            if isinstance(v, UploadFile):
                await v.close()


class State:
    """An attribute bag (app.state, request.state)."""

    def __init__(self, state: Optional[Dict[str, Any]] = None) -> None:
        object.__setattr__(self, "_state", dict(state or {}))

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'State' object has no attribute '{key}'") from None

    def __delattr__(self, key: str) -> None:
        del self._state[key]


class UploadFile:
    """An uploaded file (multipart/form-data)."""

    def __init__(self, file: Any, *, size: Optional[int] = None,
                 filename: Optional[str] = None, headers: Optional[Headers] = None) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers = headers or Headers()

    @property
    def content_type(self) -> Optional[str]:
        return self.headers.get("content-type")

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    async def write(self, data: bytes) -> None:
        self.file.write(data)

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.file.close()

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any):
        from pydantic_core import core_schema

        def validate(v: Any) -> Any:
            if not isinstance(v, UploadFile):
                raise ValueError(f"Expected UploadFile, received: {type(v)}")
            return v
        return core_schema.no_info_plain_validator_function(validate)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any):
        return {"type": "string", "contentMediaType": "application/octet-stream"}


class DefaultPlaceholder:
    def __init__(self, value: Any):
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, o: object) -> bool:
        return isinstance(o, DefaultPlaceholder) and o.value == self.value


T = TypeVar("T")


def Default(value: T) -> T:  # noqa: N802
    return DefaultPlaceholder(value)  # type: ignore
