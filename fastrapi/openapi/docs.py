"""HTML pages of the interactive docs: Swagger UI (``/docs`` and its OAuth2
redirect page), ReDoc (``/redoc``) and Scalar (``scalar_url``, opt-in).

The Swagger UI and ReDoc pages are the same bytes FastAPI serves. Every
asset URL is a parameter, so a deployment without internet access can point
them at locally served copies (e.g. the ``swagger-ui-bundle`` package).
"""
from __future__ import annotations

import html as _html
import json
from typing import Any, Dict, Optional

from .utils import jsonable

__all__ = [
    "get_swagger_ui_html", "get_swagger_ui_oauth2_redirect_html", "get_redoc_html",
    "get_scalar_html", "swagger_ui_default_parameters", "scalar_default_configuration",
]


def _html_response(content: str) -> Any:
    from ..responses import HTMLResponse

    return HTMLResponse(content)


def _html_safe_json(value: Any) -> str:
    """JSON for embedding in a <script> block: ``<``, ``>`` and ``&`` are
    escaped so a value cannot close the script element."""
    return (json.dumps(value)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


swagger_ui_default_parameters: Dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
}


def get_swagger_ui_html(
    *,
    openapi_url: str,
    title: str,
    swagger_js_url: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
    swagger_css_url: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css",
    swagger_favicon_url: str = "https://fastapi.tiangolo.com/img/favicon.png",
    oauth2_redirect_url: Optional[str] = None,
    init_oauth: Optional[Dict[str, Any]] = None,
    swagger_ui_parameters: Optional[Dict[str, Any]] = None,
) -> Any:
    """The Swagger UI page (an ``HTMLResponse``)."""
    parameters = swagger_ui_default_parameters.copy()
    if swagger_ui_parameters:
        parameters.update(swagger_ui_parameters)
    page = f"""
    <!DOCTYPE html>
    <html>
    <head>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link type="text/css" rel="stylesheet" href="{swagger_css_url}">
    <link rel="shortcut icon" href="{swagger_favicon_url}">
    <title>{title}</title>
    </head>
    <body>
    <div id="swagger-ui">
    </div>
    <script src="{swagger_js_url}"></script>
    <!-- `SwaggerUIBundle` is now available on the page -->
    <script>
    const ui = SwaggerUIBundle({{
        url: '{openapi_url}',
    """
    for key, value in parameters.items():
        page += f"{_html_safe_json(key)}: {_html_safe_json(jsonable(value))},\n"
    if oauth2_redirect_url:
        page += f"oauth2RedirectUrl: window.location.origin + '{oauth2_redirect_url}',"
    page += """
    presets: [
        SwaggerUIBundle.presets.apis,
        SwaggerUIBundle.SwaggerUIStandalonePreset
        ],
    })"""
    if init_oauth:
        page += f"""
        ui.initOAuth({_html_safe_json(jsonable(init_oauth))})
        """
    page += """
    </script>
    </body>
    </html>
    """
    return _html_response(page)


def get_redoc_html(
    *,
    openapi_url: str,
    title: str,
    redoc_js_url: str = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
    redoc_favicon_url: str = "https://fastapi.tiangolo.com/img/favicon.png",
    with_google_fonts: bool = True,
) -> Any:
    """The ReDoc page (an ``HTMLResponse``)."""
    page = f"""
    <!DOCTYPE html>
    <html>
    <head>
    <title>{title}</title>
    <!-- needed for adaptive design -->
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    """
    if with_google_fonts:
        page += """
    <link href="https://fonts.googleapis.com/css?family=Montserrat:300,400,700|Roboto:300,400,700" rel="stylesheet">
    """
    page += f"""
    <link rel="shortcut icon" href="{redoc_favicon_url}">
    <!--
    ReDoc doesn't change outer page styles
    -->
    <style>
      body {{
        margin: 0;
        padding: 0;
      }}
    </style>
    </head>
    <body>
    <noscript>
        ReDoc requires Javascript to function. Please enable it to browse the documentation.
    </noscript>
    <redoc spec-url="{openapi_url}"></redoc>
    <script src="{redoc_js_url}"> </script>
    </body>
    </html>
    """
    return _html_response(page)


# Swagger UI's oauth2-redirect.html (v4.14.0), as FastAPI serves it.
_OAUTH2_REDIRECT_HTML = """
    <!doctype html>
    <html lang="en-US">
    <head>
        <title>Swagger UI: OAuth2 Redirect</title>
    </head>
    <body>
    <script>
        'use strict';
        function run () {
            var oauth2 = window.opener.swaggerUIRedirectOauth2;
            var sentState = oauth2.state;
            var redirectUrl = oauth2.redirectUrl;
            var isValid, qp, arr;

            if (/code|token|error/.test(window.location.hash)) {
                qp = window.location.hash.substring(1).replace('?', '&');
            } else {
                qp = location.search.substring(1);
            }

            arr = qp.split("&");
            arr.forEach(function (v,i,_arr) { _arr[i] = '"' + v.replace('=', '":"') + '"';});
            qp = qp ? JSON.parse('{' + arr.join() + '}',
                    function (key, value) {
                        return key === "" ? value : decodeURIComponent(value);
                    }
            ) : {};

            isValid = qp.state === sentState;

            if ((
              oauth2.auth.schema.get("flow") === "accessCode" ||
              oauth2.auth.schema.get("flow") === "authorizationCode" ||
              oauth2.auth.schema.get("flow") === "authorization_code"
            ) && !oauth2.auth.code) {
                if (!isValid) {
                    oauth2.errCb({
                        authId: oauth2.auth.name,
                        source: "auth",
                        level: "warning",
                        message: "Authorization may be unsafe, passed state was changed in server. The passed state wasn't returned from auth server."
                    });
                }

                if (qp.code) {
                    delete oauth2.state;
                    oauth2.auth.code = qp.code;
                    oauth2.callback({auth: oauth2.auth, redirectUrl: redirectUrl});
                } else {
                    let oauthErrorMsg;
                    if (qp.error) {
                        oauthErrorMsg = "["+qp.error+"]: " +
                            (qp.error_description ? qp.error_description+ ". " : "no accessCode received from the server. ") +
                            (qp.error_uri ? "More info: "+qp.error_uri : "");
                    }

                    oauth2.errCb({
                        authId: oauth2.auth.name,
                        source: "auth",
                        level: "error",
                        message: oauthErrorMsg || "[Authorization failed]: no accessCode received from the server."
                    });
                }
            } else {
                oauth2.callback({auth: oauth2.auth, token: qp, isValid: isValid, redirectUrl: redirectUrl});
            }
            window.close();
        }

        if (document.readyState !== 'loading') {
            run();
        } else {
            document.addEventListener('DOMContentLoaded', function () {
                run();
            });
        }
    </script>
    </body>
    </html>
        """


def get_swagger_ui_oauth2_redirect_html() -> Any:
    """The page Swagger UI's OAuth2 login redirects back to."""
    return _html_response(_OAUTH2_REDIRECT_HTML)


scalar_default_configuration: Dict[str, Any] = {}


def get_scalar_html(
    *,
    openapi_url: str,
    title: str,
    scalar_js_url: str = "https://cdn.jsdelivr.net/npm/@scalar/api-reference",
    scalar_favicon_url: str = "https://fastapi.tiangolo.com/img/favicon.png",
    scalar_proxy_url: Optional[str] = None,
    configuration: Optional[Dict[str, Any]] = None,
) -> Any:
    """The Scalar API reference page (an ``HTMLResponse``).

    ``configuration`` is passed to Scalar as its ``data-configuration``
    (see Scalar's docs: ``theme``, ``layout``, ``hideModels``...);
    ``scalar_proxy_url`` sets its request proxy. The spec is loaded from
    ``openapi_url`` (never inlined), the script from ``scalar_js_url``.
    """
    config = dict(scalar_default_configuration)
    if configuration:
        config.update(configuration)
    if scalar_proxy_url:
        config.setdefault("proxyUrl", scalar_proxy_url)
    attr_config = _html.escape(json.dumps(jsonable(config)), quote=True)
    page = f"""<!doctype html>
<html>
<head>
<title>{_html.escape(title)}</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="shortcut icon" href="{_html.escape(scalar_favicon_url, quote=True)}">
</head>
<body>
<noscript>
    Scalar requires Javascript to function. Please enable it to browse the documentation.
</noscript>
<script id="api-reference" data-url="{_html.escape(openapi_url, quote=True)}" data-configuration="{attr_config}"></script>
<script src="{_html.escape(scalar_js_url, quote=True)}"></script>
</body>
</html>
"""
    return _html_response(page)
