"""FastrAPI's documented usage, unchanged: run `python examples/python/hello.py`
and `curl http://127.0.0.1:8080/hello`."""
from fastrapi import FastrAPI

app = FastrAPI()


@app.get("/hello")
def hello():
    return {"message": "world"}


@app.get("/ahello")
async def ahello():
    return {"message": "world"}


if __name__ == "__main__":
    app.serve("127.0.0.1", 8080)
