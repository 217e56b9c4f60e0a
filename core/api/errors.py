"""API errors: every failure is `{"error": "one plain sentence"}` with the right status."""
from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


UNAUTHORIZED = "Send a valid API token as 'Authorization: Bearer TOKEN'; make one in Settings or with `python -m core tokens create`."
NOT_FOUND = "There is no such API endpoint; see the README's API section for the list."
NO_CLONE = "There is no clone with that id among your clones; GET /api/clones lists them."
