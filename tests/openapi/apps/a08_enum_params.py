from enum import Enum
from typing import Optional


def make_app(fw):
    app = fw.FastAPI()

    class ModelName(str, Enum):
        alexnet = "alexnet"
        resnet = "resnet"
        lenet = "lenet"

    class Level(int, Enum):
        low = 1
        high = 2

    @app.get("/models/{model_name}")
    def get_model(model_name: ModelName, level: Optional[Level] = None):
        return {"model_name": model_name}

    @app.get("/levels/")
    def levels(level: Level = Level.low):
        return {"level": level}

    return app
