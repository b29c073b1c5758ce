"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
import re
from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base
from sqlalchemy.pool import StaticPool

Base = declarative_base()
engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)

class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)

Base.metadata.create_all(engine)
app = FastAPI()

@app.get("/api/ping")
def ping():
    return {"pong": True}

admin = Admin(app, engine)

class UserAdmin(ModelView, model=User):
    column_list = [User.id, User.name]

admin.add_view(UserAdmin)

def show(r):
    body = r.text
    if r.headers.get("content-type", "").startswith("text/html"):
        title = re.search(r"<title>(.*?)</title>", body, re.S)
        rows = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", body)
        body = f"title={title.group(1).strip() if title else None} rows={rows} len={len(body)}"
    print(r.status_code, r.headers.get("location"), r.headers.get("content-type"), body[:300])

with TestClient(app, follow_redirects=False) as c:
    for m, u, kw in [
        ("GET", "/api/ping", {}),
        ("GET", "/admin", {}),
        ("GET", "/admin/", {}),
        ("GET", "/admin/user/list", {}),
        ("GET", "/admin/user/create", {}),
        ("POST", "/admin/user/create", {"data": {"name": "alice"}}),
        ("POST", "/admin/user/create", {"data": {"name": "bob"}}),
        ("GET", "/admin/user/list", {}),
        ("GET", "/admin/user/list?search=ali", {}),
        ("GET", "/admin/user/details/1", {}),
        ("GET", "/admin/user/details/99", {}),
        ("GET", "/admin/user/edit/2", {}),
        ("POST", "/admin/user/edit/2", {"data": {"name": "bobby"}}),
        ("GET", "/admin/user/list", {}),
        ("DELETE", "/admin/user/delete?pks=1", {}),
        ("GET", "/admin/user/list", {}),
        ("GET", "/admin/statics/css/main.css", {}),
        ("HEAD", "/admin/statics/css/main.css", {}),
        ("GET", "/admin/statics/nope.css", {}),
        ("GET", "/admin/nope", {}),
    ]:
        r = c.request(m, u, **kw)
        print(m, u, end=" ")
        show(r)
    full = c.get("/admin/user/list").text
print(len(full), "testserver/admin/statics" in full)
print(sorted(app.openapi()["paths"]))
