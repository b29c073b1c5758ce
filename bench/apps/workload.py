"""The data every benchmark app serves, shared by app.py and peers.py.

Standard library + pydantic only, so that every framework's process can import
it. The expected answers (what bench_peers.py checks before measuring) come
from the same functions, so a framework that answers differently is caught.

    order_doc()        the ~10 KB JSON document POSTed to /order
    order_summary(o)   what /order answers for a validated Order
    ROWS               the 100 objects /list answers through List[Row]
    db_row(id)         one row of the SQLite table read by /db/{row_id}
    PAGE_CONTEXT       what GET /page renders with templates/page.html (Jinja2)
    page_expected()    the page's HTML, rendered here with jinja2 itself
"""
import os
import sqlite3
import threading
from typing import List

from pydantic import BaseModel

TOKEN = "benchtoken"
N_ORDER_ITEMS = 120  # about 10 KB of JSON
N_ROWS = 100
N_DB_ROWS = 1000


class Item(BaseModel):
    name: str
    price: float
    tags: List[str] = []


class Order(BaseModel):
    id: int
    customer: str
    note: str = ""
    items: List[Item]


class Row(BaseModel):
    id: int
    name: str
    price: float
    tags: List[str]


def order_doc():
    """The ~10 KB document (nested objects, non-ASCII strings, floats, ints)."""
    return {
        "id": 1, "customer": "Zoë Ångström", "note": "deliver before noon — ring twice",
        "items": [{"name": "widget-%04d café" % i, "price": i * 0.25,
                   "tags": ["red", "blue", "größe-%d" % (i % 7)]}
                  for i in range(N_ORDER_ITEMS)],
    }


def order_summary(order):
    """What POST /order answers: computed from the validated Order."""
    return {"id": order.id, "customer": order.customer, "items": len(order.items),
            "total": sum(it.price for it in order.items)}


ROWS = [{"id": i, "name": "row %d" % i, "price": i * 1.5, "tags": ["a", "b"]}
        for i in range(N_ROWS)]

# ---- the Jinja2 page: a template that extends a layout, 20 rows, autoescaped
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PAGE_CONTEXT = {"title": "Tom & Jerry's <shop>", "note": "prices in € — \"quoted\" & <b>escaped</b>",
                "rows": [{"id": i, "name": "row <%d> & café" % i, "price": i * 1.5,
                          "tags": ["a", "b&c"]} for i in range(20)]}


def page_env():
    """The Environment the peers render with: Starlette's Jinja2Templates
    makes the same (a FileSystemLoader on the directory, autoescape on)."""
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def page_expected():
    """The HTML GET /page answers (UTF-8 bytes)."""
    return page_env().get_template("page.html").render(PAGE_CONTEXT).encode()


# ---- SQLite: the file is made once by bench_peers.py (BENCH_SQLITE = its path)
DB_PATH = os.environ.get("BENCH_SQLITE", "")
DB_ID = 42
_local = threading.local()


def make_db(path):
    """Create the SQLite file read by /db/{row_id} (N_DB_ROWS rows)."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, "
                "price REAL)")
    con.execute("DELETE FROM items")
    con.executemany("INSERT INTO items VALUES (?, ?, ?)",
                    [(i, "item %d" % i, i * 0.5) for i in range(N_DB_ROWS)])
    con.commit()
    con.close()


def db_row(row_id):
    """One row by primary key, on this thread's connection (opened once per
    thread, as a connection pool would hand it out). None if absent."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = sqlite3.connect(DB_PATH)
    r = con.execute("SELECT id, name, price FROM items WHERE id = ?", (row_id,)).fetchone()
    return {"id": r[0], "name": r[1], "price": r[2]} if r else None


def db_row_expected(row_id):
    return {"id": row_id, "name": "item %d" % row_id, "price": row_id * 0.5}
