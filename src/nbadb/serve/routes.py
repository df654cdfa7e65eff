"""Every path `nbadb serve` answers: the pages, the API and /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbadb.serve import api, metrics, pages
from nbadb.serve.http import Response, Router

if TYPE_CHECKING:
    from nbadb.serve.app import ServeApp


def build_router(app: ServeApp) -> Router:
    router = Router()
    for path, render in pages.PAGES.items():
        router.add("GET", path, pages.page_handler(app, render))
    for method, path, handler in api.routes(app):
        router.add(method, path, handler)
    router.add("GET", "/metrics", lambda request, _: Response.prometheus(metrics.render(app)))
    return router
