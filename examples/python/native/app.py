"""A Python app with a pydantic CRUD API and C routes from a native module
(handlers.c), served by one engine.

    python examples/python/native/app.py            # builds handlers.so if needed, serves :8004
    fastrapi run examples/python/native/app.py

    curl -X POST localhost:8004/players -H 'content-type: application/json' -d '{"name":"ada","score":42}'
    curl 'localhost:8004/leaderboard?limit=3'       # C, inline, no Python per request
    curl -X POST localhost:8004/sign -d 'hello'     # C, HMAC keyed by the route's user_data
    curl localhost:8004/players/1/report            # C, deferred, asks Python (fr_py_call)

FASTRAPI_NATIVE_LIB=/path/to/handlers.so uses an already built library."""

import ctypes
import json
import os
import sys
import threading
from typing import Dict, List, Optional

from pydantic import BaseModel, Field

import fastrapi.native
from fastrapi import FastrAPI, HTTPException

HERE = os.path.dirname(os.path.abspath(__file__))


class PlayerIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    score: int = Field(ge=0)


class Player(PlayerIn):
    id: int


class Report(BaseModel):
    id: int
    name: str
    score: int
    rank: int
    players: int


def library_path() -> str:
    """FASTRAPI_NATIVE_LIB, else handlers.so next to this file (built when
    missing or older than handlers.c)."""
    path = os.environ.get("FASTRAPI_NATIVE_LIB")
    if path:
        return path
    src, out = os.path.join(HERE, "handlers.c"), os.path.join(HERE, "handlers.so")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        fastrapi.native.build(src, out, echo=lambda cmd: print(cmd, file=sys.stderr))
    return out


def create_app(lib_path: str, signing_key: bytes = b"example-secret") -> FastrAPI:
    app = FastrAPI(title="Players (Python CRUD + C routes)")
    lib = fastrapi.native.load(lib_path)
    publish = lib.cdll.leaderboard_publish
    publish.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    publish.restype = ctypes.c_int
    players: Dict[int, Player] = {}
    lock = threading.Lock()
    next_id = [1]

    def ranked() -> List[Player]:
        return sorted(players.values(), key=lambda p: (-p.score, p.id))

    def republish() -> None:
        """Precompute the board the C route serves (called with the lock held)."""
        lines = "".join(json.dumps({"rank": i + 1, "id": p.id, "name": p.name, "score": p.score},
                                   separators=(",", ":")) + "\n"
                        for i, p in enumerate(ranked()[:100])).encode()
        if publish(lines, len(lines)) != 0:
            raise MemoryError("leaderboard_publish")

    republish()

    # ---- the Python CRUD API
    @app.post("/players", status_code=201)
    def create_player(body: PlayerIn) -> Player:
        with lock:
            p = Player(id=next_id[0], **body.model_dump())
            next_id[0] += 1
            players[p.id] = p
            republish()
        return p

    @app.get("/players")
    def list_players() -> List[Player]:
        return sorted(players.values(), key=lambda p: p.id)

    @app.get("/players/{player_id}")
    def get_player(player_id: int) -> Player:
        p = players.get(player_id)
        if p is None:
            raise HTTPException(404, "Player not found")
        return p

    @app.put("/players/{player_id}")
    def update_player(player_id: int, body: PlayerIn) -> Player:
        with lock:
            if player_id not in players:
                raise HTTPException(404, "Player not found")
            p = players[player_id] = Player(id=player_id, **body.model_dump())
            republish()
        return p

    @app.delete("/players/{player_id}", status_code=204)
    def delete_player(player_id: int):
        with lock:
            if players.pop(player_id, None) is None:
                raise HTTPException(404, "Player not found")
            republish()

    # ---- the C routes
    class Entry(BaseModel):
        rank: int
        id: int
        name: str
        score: int

    @app.native_route("GET", "/leaderboard", lib, tags=["native"])
    def leaderboard(limit: int = 10) -> List[Entry]:
        """The top `limit` players (1..100), precomputed, served by C."""

    app.add_native_route("POST", "/sign", lib, "sign", user_data=signing_key,
                         summary="HMAC-SHA256 of the request body", tags=["native"],
                         responses={200: {"content": {"application/json": {"schema": {
                             "type": "object", "properties": {"hmac": {"type": "string"}}}}}}})

    @app.native_route("GET", "/players/{player_id:int}/report", lib, symbol="report",
                      tags=["native"], responses={404: {"description": "Player not found"}})
    def player_report_route(player_id: int) -> Report:
        """Deferred in C: a thread asks Python for the report."""

    @app.native_callback("player_report")
    def player_report(args: dict) -> Optional[Report]:
        with lock:
            board = ranked()
        for rank, p in enumerate(board, 1):
            if p.id == args["id"]:
                return Report(id=p.id, name=p.name, score=p.score, rank=rank, players=len(board))
        return None

    return app


if __name__ == "__main__":
    create_app(library_path()).serve("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8004)
else:
    app = create_app(library_path())
