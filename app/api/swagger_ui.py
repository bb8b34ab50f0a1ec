"""The interactive API reference at /docs, served entirely by the app.

FastAPI's own /docs loads Swagger UI from a CDN, so on a machine without internet the page is
blank. Here Swagger UI's files come from app/static/vendor: the published files of the npm
package swagger-ui-dist, pinned and hash-checked like the dashboard's d3 (tools/vendor_js.sh,
MANIFEST). The page carries a Content-Security-Policy as strict as the dashboard's: it allows
the app's own files and exactly one inline script, Swagger UI's start-up, by its sha256
(computed from the page itself, so it follows FastAPI's template if that changes). ReDoc is
not offered: it too comes from a CDN, and one reference that works offline is enough.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse

SWAGGER_JS = "/static/vendor/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui.css"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4)
def _page(title: str, openapi_url: str) -> tuple[bytes, str]:
    """The page's HTML and the policy that admits its one inline script."""
    body = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} · API reference",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url="data:,",
            # No "online validator" badge: it would send the document to swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    )
    inline = _INLINE_SCRIPT.findall(body.decode())
    if len(inline) != 1:
        raise RuntimeError(f"Swagger UI's page has {len(inline)} inline scripts, expected 1")
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    policy = (
        f"default-src 'none'; script-src 'self' 'sha256-{digest}'; style-src 'self'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    )
    return body, policy


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    body, policy = _page(request.app.title, request.app.openapi_url or "/openapi.json")
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": policy,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
