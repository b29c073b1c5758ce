def make_app(fw):
    app = fw.FastAPI()

    @app.post("/created", status_code=201)
    def created():
        return {}

    @app.delete("/gone", status_code=204)
    def gone():
        return None

    @app.get("/html", response_class=fw.responses.HTMLResponse)
    def html():
        return "<p>hi</p>"

    @app.get("/text", response_class=fw.responses.PlainTextResponse)
    def text():
        return "hi"

    @app.get("/redirect", response_class=fw.responses.RedirectResponse)
    def redirect():
        return "/html"

    @app.get("/raw", response_class=fw.responses.Response)
    def raw():
        return fw.responses.Response(content=b"x")

    @app.get("/accepted", status_code=202, response_description="Queued")
    def accepted():
        return {}

    @app.get("/not-modified", status_code=304)
    def not_modified():
        return None

    return app
