"""OAuth2 scopes and the dependency cache, differential against FastAPI.

FastAPI 0.165 keys its dependency cache by the OAuth2 scopes only for a
dependency that uses them (it, or one below it, is a security scheme, takes
``SecurityScopes`` or declares scopes), and a generator dependency's scope
is "request" when none is given. fastrapi put the inherited scopes in every
key: the docs' OAuth2-scopes pattern with a database session (``get_db``
used by ``get_current_user`` under ``Security(..., scopes=[...])`` and by the
endpoint) opened two sessions per request. ``SecurityScopes`` dropped no
repeated scope (``Bearer scope="me me"``). FastAPI's TestClient, fastrapi's
TestClient and its native server."""
import pytest

from conftest import framework
from helpers import served, wait_until


def make_app(fw, log):
    if fw.name == "fastapi":
        from fastapi import security as sec
    else:
        from fastrapi import security as sec
    app = fw.FastAPI()
    oauth2 = sec.OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read me", "items": "Items"})

    def get_db():
        n = sum(1 for x in log if x.startswith("open")) + 1
        log.append(f"open{n}")
        try:
            yield f"db{n}"
        finally:
            log.append(f"close{n}")

    def get_settings():
        log.append("settings")
        return "settings"

    def get_current_user(security_scopes: sec.SecurityScopes, token: str = fw.Depends(oauth2),
                         db=fw.Depends(get_db), settings=fw.Depends(get_settings)):
        if token == "deny":
            raise fw.HTTPException(401, "Not enough permissions", headers={
                "WWW-Authenticate": f'Bearer scope="{security_scopes.scope_str}"'})
        return {"name": token, "db": db, "scopes": security_scopes.scopes}

    def get_active(user=fw.Security(get_current_user, scopes=["me"])):
        return user

    @app.get("/users/me/items")
    def items(user=fw.Security(get_active, scopes=["me", "items", "me"]), db=fw.Depends(get_db),
              settings=fw.Depends(get_settings)):
        return {"user": user, "endpoint_db": db}

    @app.get("/plain")
    def plain(db=fw.Depends(get_db), again=fw.Depends(get_db, scope="request")):
        return [db, again]

    return app


REQUESTS = [("/users/me/items", {"Authorization": "Bearer alice"}),
            ("/users/me/items", {"Authorization": "Bearer deny"}),
            ("/users/me/items", {}),
            ("/plain", {})]


def answers(kind):
    log = []
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), log)
    out = []
    with served(app, kind) as client:
        for path, headers in REQUESTS:
            log.clear()
            r = client.get(path, headers=headers)
            # the native server answers before get_db's teardown has run
            wait_until(lambda: sum(x.startswith("open") for x in log)
                       == sum(x.startswith("close") for x in log), 5)
            out.append((path, r.status_code, r.json(), r.headers.get("www-authenticate"), list(log)))
    return out


@pytest.fixture(scope="module")
def reference():
    return answers("fastapi")


def test_reference(reference):
    ok, deny, anonymous, plain = reference
    # a scope already inherited is not added again; repeats within the
    # inherited list stay (FastAPI's _get_oauth_scopes)
    assert ok[2] == {"user": {"name": "alice", "db": "db1", "scopes": ["me", "items", "me"]},
                     "endpoint_db": "db1"}
    assert sorted(ok[4]) == ["close1", "open1", "settings"]  # one session, one settings call
    assert deny[3] == 'Bearer scope="me items me"'
    assert anonymous[1] == 401
    assert plain[2] == ["db1", "db1"] and plain[4] == ["open1", "close1"]


@pytest.mark.parametrize("kind", ["fastrapi", "native"])
def test_scopes_and_cache_as_in_fastapi(reference, kind):
    for want, have in zip(reference, answers(kind)):
        assert have == want
