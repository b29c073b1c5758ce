"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
import json
from typing import TypeVar
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field
from fastapi_pagination import Page, add_pagination, paginate
from fastapi_pagination import Params
from fastapi_pagination.customization import CustomizedPage, UseParamsFields
from fastapi_pagination.limit_offset import LimitOffsetPage

app = FastAPI()

class UserOut(BaseModel):
    name: str = Field(..., example="Steve")
    surname: str = Field(..., example="Rogers")

users = [UserOut(name=f"User{i}", surname=f"Surname{i}") for i in range(23)]

@app.get("/users")
async def get_users() -> Page[UserOut]:
    return paginate(users)

@app.get("/users/limit-offset", response_model=LimitOffsetPage[UserOut])
def get_users_lo():
    return paginate(users)

T = TypeVar("T")
SmallPage = CustomizedPage[Page[T], UseParamsFields(size=Query(5, ge=1, le=8))]
router = APIRouter(prefix="/v2")

@router.get("/users", response_model=SmallPage[UserOut])
def get_users_small():
    return paginate(users)

@app.get("/v2/explicit")
def get_users_explicit(params: Params = Depends()) -> Page[UserOut]:
    return paginate(users[::-1], params)

app.include_router(router)
add_pagination(app)

with TestClient(app) as c:
    for u in ["/users", "/users?page=2&size=10", "/users?page=3&size=10", "/users?page=9&size=10",
              "/users?page=0", "/users?size=101", "/users?size=x",
              "/users/limit-offset?limit=2&offset=20", "/users/limit-offset?limit=-1",
              "/v2/users?page=5", "/v2/users?size=9", "/v2/explicit?size=2&page=2"]:
        r = c.get(u)
        print(u, r.status_code, r.text)
print(json.dumps(app.openapi(), sort_keys=True))
