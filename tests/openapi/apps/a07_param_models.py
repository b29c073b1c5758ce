from typing import Annotated, List, Literal, Optional

from pydantic import BaseModel, Field


def make_app(fw):
    app = fw.FastAPI()

    class FilterParams(BaseModel):
        model_config = {"extra": "forbid"}
        limit: int = Field(100, gt=0, le=100)
        offset: int = Field(0, ge=0)
        order_by: Literal["created_at", "updated_at"] = "created_at"
        tags: List[str] = []

    class CommonHeaders(BaseModel):
        host: str
        save_data: bool
        if_modified_since: Optional[str] = None
        traceparent: Optional[str] = None

    class Cookies(BaseModel):
        session_id: str
        fatebook_tracker: Optional[str] = None

    @app.get("/items/")
    def read_items(filter_query: Annotated[FilterParams, fw.Query()]):
        return filter_query

    @app.get("/headers/")
    def read_headers(headers: Annotated[CommonHeaders, fw.Header()]):
        return headers

    @app.get("/cookies/")
    def read_cookies(cookies: Annotated[Cookies, fw.Cookie()]):
        return cookies

    return app
