"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
from typing import Annotated
from fastapi import Depends, FastAPI, HTTPException, Query
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, Session, SQLModel, create_engine, select

class HeroBase(SQLModel):
    name: str = Field(index=True)
    age: int | None = Field(default=None, index=True)

class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    secret_name: str

class HeroPublic(HeroBase):
    id: int

class HeroCreate(HeroBase):
    secret_name: str

class HeroUpdate(HeroBase):
    name: str | None = None
    age: int | None = None
    secret_name: str | None = None

engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)

def get_session():
    with Session(engine) as session:
        yield session

SessionDep = Annotated[Session, Depends(get_session)]
app = FastAPI()

@app.on_event("startup")
def on_startup():
    SQLModel.metadata.create_all(engine)

@app.post("/heroes/", response_model=HeroPublic)
def create_hero(hero: HeroCreate, session: SessionDep):
    db_hero = Hero.model_validate(hero)
    session.add(db_hero)
    session.commit()
    session.refresh(db_hero)
    return db_hero

@app.get("/heroes/", response_model=list[HeroPublic])
def read_heroes(session: SessionDep, offset: int = 0, limit: Annotated[int, Query(le=100)] = 100):
    return session.exec(select(Hero).offset(offset).limit(limit)).all()

@app.get("/heroes/{hero_id}", response_model=HeroPublic)
def read_hero(hero_id: int, session: SessionDep):
    hero = session.get(Hero, hero_id)
    if not hero:
        raise HTTPException(status_code=404, detail="Hero not found")
    return hero

@app.patch("/heroes/{hero_id}", response_model=HeroPublic)
def update_hero(hero_id: int, hero: HeroUpdate, session: SessionDep):
    hero_db = session.get(Hero, hero_id)
    if not hero_db:
        raise HTTPException(status_code=404, detail="Hero not found")
    hero_db.sqlmodel_update(hero.model_dump(exclude_unset=True))
    session.add(hero_db)
    session.commit()
    session.refresh(hero_db)
    return hero_db

@app.delete("/heroes/{hero_id}")
def delete_hero(hero_id: int, session: SessionDep):
    hero = session.get(Hero, hero_id)
    if not hero:
        raise HTTPException(status_code=404, detail="Hero not found")
    session.delete(hero)
    session.commit()
    return {"ok": True}

@app.get("/raw/{hero_id}")
async def raw(hero_id: int, session: SessionDep) -> Hero:
    return session.get(Hero, hero_id)

import json
with TestClient(app) as c:
    for m, u, kw in [
        ("POST", "/heroes/", {"json": {"name": "Deadpond", "secret_name": "Dive Wilson"}}),
        ("POST", "/heroes/", {"json": {"name": "Rusty-Man", "secret_name": "Tommy Sharp", "age": 48}}),
        ("POST", "/heroes/", {"json": {"name": "No secret"}}),
        ("POST", "/heroes/", {"json": {"name": "Bad", "secret_name": "x", "age": "old"}}),
        ("GET", "/heroes/", {}),
        ("GET", "/heroes/?offset=1&limit=1", {}),
        ("GET", "/heroes/?limit=101", {}),
        ("GET", "/heroes/2", {}),
        ("GET", "/heroes/9", {}),
        ("PATCH", "/heroes/1", {"json": {"age": 30}}),
        ("PATCH", "/heroes/9", {"json": {"age": 30}}),
        ("GET", "/raw/1", {}),
        ("DELETE", "/heroes/2", {}),
        ("DELETE", "/heroes/2", {}),
        ("GET", "/heroes/", {}),
    ]:
        r = c.request(m, u, **kw)
        # a table model's field order is its SQLAlchemy-loaded __dict__ order (not stable)
        print(m, u, r.status_code, json.dumps(r.json(), sort_keys=True) if u.startswith("/raw") else r.text)
import json
print(json.dumps(app.openapi(), sort_keys=True))
