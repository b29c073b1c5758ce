def make_app(fw):
    app = fw.FastAPI()

    @app.get("/")
    def root():
        return {"hello": "world"}

    return app
