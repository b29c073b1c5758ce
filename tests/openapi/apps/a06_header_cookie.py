from typing import Annotated, List, Optional, Union


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/")
    def read_items(
        user_agent: Annotated[Union[str, None], fw.Header()] = None,
        strange_header: Annotated[Union[str, None], fw.Header(convert_underscores=False)] = None,
        x_token: Annotated[Optional[List[str]], fw.Header()] = None,
        ads_id: Annotated[Union[str, None], fw.Cookie()] = None,
        session: Annotated[str, fw.Cookie(description="session id")] = "s",
    ):
        return {"user_agent": user_agent}

    @app.get("/required-header")
    def required_header(x_api_version: Annotated[int, fw.Header(ge=1)]):
        return {}

    return app
