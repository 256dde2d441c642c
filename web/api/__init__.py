"""The JSON API (`/api/v1/...`, documented at `/api/docs`): `api_mount` for the server."""

from __future__ import annotations

from web.api.app import api_mount, build_api

__all__ = ["api_mount", "build_api"]
