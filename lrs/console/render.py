"""Rendering console pages: one Jinja2 environment, autoescaped, with the console's headers."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from lrs.console.security import PAGE_HEADERS


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lrs.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty_json"] = lambda raw: json.dumps(json.loads(raw), indent=2)
    return env


class Pages:
    """Renders a template into an HTMLResponse that carries the console's CSP."""

    def __init__(self) -> None:
        self.env = environment()

    def render(
        self,
        template: str,
        context: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
