"""FastAPI's ``fastapi.utils`` helpers."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Union

from .datastructures import DefaultPlaceholder, DefaultType


def is_body_allowed_for_status_code(status_code: Union[int, str, None]) -> bool:
    if status_code is None:
        return True
    if status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    current_status_code = int(status_code)
    return not (current_status_code < 200 or current_status_code in {204, 205, 304})


def get_path_param_names(path: str) -> set:
    return set(re.findall("{(.*?)}", path))


def generate_unique_id(route: Any) -> str:
    operation_id = f"{route.name}{route.path_format}"
    operation_id = re.sub(r"\W", "_", operation_id)
    assert route.methods
    return f"{operation_id}_{list(route.methods)[0].lower()}"


def create_model_field(name: str, type_: Any, default: Optional[Any] = None,
                       field_info: Any = None, alias: Optional[str] = None,
                       mode: str = "validation") -> Any:
    from pydantic.fields import FieldInfo

    from ._compat import ModelField, Undefined
    if field_info is None:
        field_info = FieldInfo(annotation=type_, alias=alias,
                               default=Undefined if default is None else default)
    return ModelField(field_info=field_info, name=name, mode=mode)  # type: ignore[arg-type]


def deep_dict_update(main_dict: Dict[Any, Any], update_dict: Dict[Any, Any]) -> None:
    for key, value in update_dict.items():
        if key in main_dict and isinstance(main_dict[key], dict) and isinstance(value, dict):
            deep_dict_update(main_dict[key], value)
        elif (key in main_dict and isinstance(main_dict[key], list)
              and isinstance(update_dict[key], list)):
            main_dict[key] = main_dict[key] + update_dict[key]
        else:
            main_dict[key] = value


def get_value_or_default(first_item: Union[DefaultPlaceholder, DefaultType],
                         *extra_items: Union[DefaultPlaceholder, DefaultType]
                         ) -> Union[DefaultPlaceholder, DefaultType]:
    items = (first_item,) + extra_items
    for item in items:
        if not isinstance(item, DefaultPlaceholder):
            return item
    return first_item
