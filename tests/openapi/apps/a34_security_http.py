from typing import Annotated, Optional


def make_app(fw):
    app = fw.FastAPI()
    basic = fw.security.HTTPBasic(realm="simple", description="basic auth")
    bearer = fw.security.HTTPBearer(bearerFormat="JWT", scheme_name="jwt")
    digest = fw.security.HTTPDigest(auto_error=False)

    @app.get("/basic")
    def read_basic(credentials: Annotated[fw.security.HTTPBasicCredentials, fw.Depends(basic)]):
        return {"username": credentials.username}

    @app.get("/bearer")
    def read_bearer(credentials: Annotated[fw.security.HTTPAuthorizationCredentials,
                                           fw.Depends(bearer)]):
        return {}

    @app.get("/digest")
    def read_digest(credentials: Annotated[
            Optional[fw.security.HTTPAuthorizationCredentials], fw.Depends(digest)]):
        return {}

    @app.get("/both", dependencies=[fw.Depends(basic)])
    def both(credentials: Annotated[fw.security.HTTPAuthorizationCredentials,
                                    fw.Security(bearer)]):
        return {}

    return app
