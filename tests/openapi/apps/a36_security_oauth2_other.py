from typing import Annotated


def make_app(fw):
    app = fw.FastAPI()
    code = fw.security.OAuth2AuthorizationCodeBearer(
        authorizationUrl="https://auth.example.com/authorize", tokenUrl="https://auth.example.com/token",
        refreshUrl="https://auth.example.com/refresh", scopes={"read": "Read", "write": "Write"})
    oidc = fw.security.OpenIdConnect(
        openIdConnectUrl="https://auth.example.com/.well-known/openid-configuration")
    custom = fw.security.OAuth2(flows={
        "implicit": {"authorizationUrl": "https://a.example.com/auth", "scopes": {"x": "X"}},
        "clientCredentials": {"tokenUrl": "https://a.example.com/token"}},
        scheme_name="customFlows", description="custom oauth2")

    @app.get("/code")
    def read_code(token: Annotated[str, fw.Security(code, scopes=["read"])]):
        return {}

    @app.get("/oidc")
    def read_oidc(token: Annotated[str, fw.Depends(oidc)]):
        return {}

    @app.get("/custom")
    def read_custom(token: Annotated[str, fw.Security(custom, scopes=["x"])],
                    again: Annotated[str, fw.Security(code, scopes=["write", "read"])]):
        return {}

    return app
