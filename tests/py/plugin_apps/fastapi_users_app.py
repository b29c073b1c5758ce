"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
import os, tempfile, uuid
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Optional
from fastapi import Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DB = os.path.join(tempfile.mkdtemp(), "users.db")
DATABASE_URL = "sqlite+aiosqlite:///" + DB
SECRET = "SECRET"

class Base(DeclarativeBase):
    pass

class User(SQLAlchemyBaseUserTableUUID, Base):
    pass

engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)

async def create_db_and_tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)

async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session

async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)

class UserRead(schemas.BaseUser[uuid.UUID]):
    pass

class UserCreate(schemas.BaseUserCreate):
    pass

class UserUpdate(schemas.BaseUserUpdate):
    pass

events = []

class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_register(self, user: User, request: Optional[Request] = None):
        events.append(("registered", user.email, request is not None))

async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)):
    yield UserManager(user_db)

bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")

def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)

auth_backend = AuthenticationBackend(name="jwt", transport=bearer_transport, get_strategy=get_jwt_strategy)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])
current_active_user = fastapi_users.current_user(active=True)

@asynccontextmanager
async def lifespan(app: FastAPI):
    await create_db_and_tables()
    yield
    await engine.dispose()

app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"])

@app.get("/authenticated-route")
async def authenticated_route(user: User = Depends(current_active_user)):
    return {"message": f"Hello {user.email}!"}

def mask(data, ids):
    if isinstance(data, dict):
        return {k: ("<id>" if k == "id" else "<token>" if k == "access_token" else mask(v, ids)) for k, v in data.items()}
    return data

with TestClient(app) as c:
    def show(r):
        try:
            body = mask(r.json(), None)
        except Exception:
            body = r.text
        print(r.status_code, r.headers.get("www-authenticate"), body)
    show(c.post("/auth/register", json={"email": "king.arthur@camelot.bt", "password": "guinevere"}))
    show(c.post("/auth/register", json={"email": "king.arthur@camelot.bt", "password": "guinevere"}))
    show(c.post("/auth/register", json={"email": "not-an-email", "password": "x"}))
    show(c.post("/auth/jwt/login", data={"username": "king.arthur@camelot.bt", "password": "wrong"}))
    r = c.post("/auth/jwt/login", data={"username": "king.arthur@camelot.bt", "password": "guinevere"})
    show(r)
    token = r.json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    show(c.get("/authenticated-route"))
    show(c.get("/authenticated-route", headers={"Authorization": "Bearer nope"}))
    show(c.get("/authenticated-route", headers=h))
    me = c.get("/users/me", headers=h)
    show(me)
    show(c.patch("/users/me", headers=h, json={"email": "arthur@camelot.bt"}))
    show(c.get("/users/me", headers=h))
    show(c.get(f"/users/{me.json()['id']}", headers=h))
    show(c.post("/auth/forgot-password", json={"email": "arthur@camelot.bt"}))
    show(c.post("/auth/reset-password", json={"token": "bad", "password": "x"}))
    show(c.post("/auth/request-verify-token", json={"email": "arthur@camelot.bt"}))
    show(c.post("/auth/jwt/logout", headers=h))
print(events)
import hashlib, json
print(sorted(app.openapi()["paths"]))
print(hashlib.sha256(json.dumps(app.openapi(), sort_keys=True).encode()).hexdigest())
