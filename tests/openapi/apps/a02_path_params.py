def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/{item_id}")
    def get_item(item_id: int):
        return {"item_id": item_id}

    @app.get("/users/{user_id}/files/{file_name}")
    def get_file(user_id: str, file_name: str, size: float = 1.5):
        return {"user_id": user_id}

    @app.get("/files/{file_path:path}")
    def read_path(file_path: str):
        return {"file_path": file_path}

    @app.get("/bools/{flag}")
    def get_flag(flag: bool):
        return {"flag": flag}

    return app
