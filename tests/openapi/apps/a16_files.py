from typing import Annotated, List, Union


def make_app(fw):
    app = fw.FastAPI()

    @app.post("/files/")
    def create_file(file: Annotated[bytes, fw.File(description="A file as bytes")]):
        return {"file_size": len(file)}

    @app.post("/uploadfile/")
    def create_upload_file(file: fw.UploadFile):
        return {"filename": file.filename}

    @app.post("/multi/")
    def multi(files: List[fw.UploadFile], token: Annotated[str, fw.Form()],
              note: Annotated[Union[str, None], fw.Form()] = None):
        return {}

    @app.post("/optional-file/")
    def optional_file(file: Annotated[Union[bytes, None], fw.File()] = None):
        return {}

    return app
