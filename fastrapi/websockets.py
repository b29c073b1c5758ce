"""Starlette's WebSocket classes (FastAPI's ``fastapi.websockets``)."""
from starlette.websockets import WebSocket as WebSocket  # noqa: F401
from starlette.websockets import WebSocketDisconnect as WebSocketDisconnect  # noqa: F401
from starlette.websockets import WebSocketState as WebSocketState  # noqa: F401
