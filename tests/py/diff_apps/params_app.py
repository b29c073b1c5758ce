"""Path/query/header/cookie parameters: the same source under both frameworks."""
from enum import Enum
from typing import Annotated, List, Optional
from uuid import UUID


class Color(str, Enum):
    red = "red"
    green = "green"


def make_app(fw):
    app = fw.FastAPI()
    Query, Path, Header, Cookie = fw.Query, fw.Path, fw.Header, fw.Cookie

    @app.get("/int/{v}")
    def p_int(v: int):
        return {"v": v}

    @app.get("/float/{v}")
    def p_float(v: float):
        return {"v": v}

    @app.get("/bool/{v}")
    def p_bool(v: bool):
        return {"v": v}

    @app.get("/str/{v}")
    def p_str(v: str):
        return {"v": v}

    @app.get("/uuid/{v}")
    def p_uuid(v: UUID):
        return {"v": v}

    @app.get("/enum/{v}")
    def p_enum(v: Color):
        return {"v": v, "is_red": v is Color.red}

    @app.get("/constrained/{v}")
    def p_con(v: int = Path(gt=0, le=100)):
        return {"v": v}

    @app.get("/files/{p:path}")
    def p_path(p: str):
        return {"p": p}

    @app.get("/q")
    def q(a: int, b: Optional[str] = None, c: float = 1.5, d: bool = False):
        return {"a": a, "b": b, "c": c, "d": d}

    @app.get("/qlist")
    def qlist(x: List[int] = Query([]), y: Optional[List[str]] = Query(None)):
        return {"x": x, "y": y}

    @app.get("/qcon")
    def qcon(s: str = Query("dflt", min_length=2, max_length=5, pattern="^[a-z]+$"),
             n: int = Query(5, ge=1, lt=10)):
        return {"s": s, "n": n}

    @app.get("/qalias")
    def qalias(item_query: str = Query(alias="item-query")):
        return {"v": item_query}

    @app.get("/qann")
    def qann(v: Annotated[int, Query(gt=2)] = 5, w: Annotated[Optional[str], Query()] = None):
        return {"v": v, "w": w}

    @app.get("/qreq")
    def qreq(needed: str, also: int):
        return {"needed": needed, "also": also}

    @app.get("/h")
    def h(x_token: str = Header(), user_agent: Optional[str] = Header(None),
          x_num: int = Header(0), strange_header: Optional[str] = Header(None, convert_underscores=False)):
        return {"x_token": x_token, "ua": user_agent, "x_num": x_num, "strange": strange_header}

    @app.get("/hlist")
    def hlist(x_multi: Optional[List[str]] = Header(None)):
        return {"x_multi": x_multi}

    @app.get("/c")
    def c(session: Optional[str] = Cookie(None), count: int = Cookie(0)):
        return {"session": session, "count": count}

    @app.get("/mix/{item_id}")
    def mix(item_id: int, q: int, x_h: int = Header(), ck: int = Cookie()):
        return [item_id, q, x_h, ck]

    return app


CASES = [
    ("GET", "/int/5", {}), ("GET", "/int/-17", {}), ("GET", "/int/abc", {}), ("GET", "/int/1.5", {}),
    ("GET", "/int/99999999999999999999999", {}), ("GET", "/int/007", {}), ("GET", "/int/+3", {}),
    ("GET", "/int/1_000", {}), ("GET", "/int/%20", {}),
    ("GET", "/float/1.5", {}), ("GET", "/float/3", {}), ("GET", "/float/-0.25", {}),
    ("GET", "/float/1e3", {}), ("GET", "/float/nan", {}), ("GET", "/float/inf", {}),
    ("GET", "/float/x", {}), ("GET", "/float/0.1", {}), ("GET", "/float/123456789.123456789", {}),
    ("GET", "/bool/true", {}), ("GET", "/bool/False", {}), ("GET", "/bool/1", {}),
    ("GET", "/bool/yes", {}), ("GET", "/bool/off", {}), ("GET", "/bool/maybe", {}), ("GET", "/bool/2", {}),
    ("GET", "/str/hello", {}), ("GET", "/str/h%C3%A9llo", {}), ("GET", "/str/a%2Fb", {}),
    ("GET", "/uuid/12345678-1234-5678-1234-567812345678", {}), ("GET", "/uuid/nope", {}),
    ("GET", "/enum/red", {}), ("GET", "/enum/blue", {}),
    ("GET", "/constrained/50", {}), ("GET", "/constrained/0", {}), ("GET", "/constrained/101", {}),
    ("GET", "/constrained/x", {}),
    ("GET", "/files/a/b/c.txt", {}),
    ("GET", "/q?a=1", {}), ("GET", "/q", {}), ("GET", "/q?a=x&c=y&d=z", {}),
    ("GET", "/q?a=1&b=two&c=2.5&d=true", {}), ("GET", "/q?a=1&a=2", {}), ("GET", "/q?a=", {}),
    ("GET", "/q?a=1&b=", {}), ("GET", "/q?a=%31", {}), ("GET", "/q?a=1&b=sp+ace%20x", {}),
    ("GET", "/qlist", {}), ("GET", "/qlist?x=1&x=2&x=3", {}), ("GET", "/qlist?x=1&x=b", {}),
    ("GET", "/qlist?y=a&y=b", {}),
    ("GET", "/qcon", {}), ("GET", "/qcon?s=ab&n=3", {}), ("GET", "/qcon?s=a", {}),
    ("GET", "/qcon?s=abcdef", {}), ("GET", "/qcon?s=AB", {}), ("GET", "/qcon?n=0", {}),
    ("GET", "/qcon?n=10", {}), ("GET", "/qcon?s=a&n=0", {}),
    ("GET", "/qalias?item-query=x", {}), ("GET", "/qalias?item_query=x", {}),
    ("GET", "/qann", {}), ("GET", "/qann?v=1", {}), ("GET", "/qann?v=3&w=k", {}),
    ("GET", "/qreq", {}), ("GET", "/qreq?needed=1", {}),
    ("GET", "/h", {"headers": {"x-token": "t"}}), ("GET", "/h", {}),
    ("GET", "/h", {"headers": {"X-Token": "t", "x-num": "x"}}),
    ("GET", "/h", {"headers": {"x-token": "t", "strange_header": "s"}}),
    ("GET", "/hlist", {}), ("GET", "/hlist", {"headers": [("x-multi", "a"), ("x-multi", "b")]}),
    ("GET", "/c", {}), ("GET", "/c", {"headers": {"cookie": "session=abc; count=3"}}),
    ("GET", "/c", {"headers": {"cookie": "count=x"}}),
    ("GET", "/c", {"headers": {"cookie": 'session="quoted"'}}),
    ("GET", "/mix/1?q=2", {"headers": {"x-h": "3", "cookie": "ck=4"}}),
    ("GET", "/mix/a?q=b", {"headers": {"x-h": "c", "cookie": "ck=d"}}),
    ("GET", "/mix/a", {}),
    ("GET", "/nope", {}), ("POST", "/int/5", {}), ("HEAD", "/int/5", {}), ("DELETE", "/q?a=1", {}),
    ("GET", "/int/5/", {}),
]
