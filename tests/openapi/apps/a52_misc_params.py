from typing import Annotated, Dict, List, Optional


def make_app(fw):
    app = fw.FastAPI(default_response_class=fw.responses.PlainTextResponse)

    @app.get("/json-param")
    def json_param(alias_header: Annotated[Optional[str], fw.Header(alias="X-Custom-Alias")] = None):
        return "ok"

    @app.post("/xml", response_class=fw.responses.Response)
    def xml_body(payload: Annotated[str, fw.Body(media_type="application/xml")]):
        return fw.responses.Response(content=payload, media_type="application/xml")

    @app.get("/json-out", response_class=fw.responses.JSONResponse)
    def json_out(ids: Annotated[List[int], fw.Query(max_length=3)] = []) -> Dict[str, int]:
        return {}

    return app
