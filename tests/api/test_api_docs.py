"""The page at /docs without a browser: it names only the app's own files and allows, by hash,
exactly the one inline script Swagger UI starts from."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
REFERENCED = re.compile(r'(?:src|href)="([^"]*)"')


async def test_the_docs_page_uses_only_the_apps_own_files_under_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = REFERENCED.findall(page.text)
    assert "/static/vendor/swagger-ui-bundle.js" in references
    assert "/static/vendor/swagger-ui.css" in references
    for url in references:
        assert url.startswith("/") or url == "data:,", url
        if url.startswith("/"):
            assert (await client.get(url)).status_code == 200, url
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "unsafe-eval" not in csp
    assert "default-src 'none'" in csp
    inline = INLINE_SCRIPT.findall(page.text)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in csp


async def test_redoc_is_not_offered_since_it_would_need_the_internet(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/redoc")).status_code == 404
