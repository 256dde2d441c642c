"""Where the dashboard is served."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WebOptions"]


@dataclass(frozen=True, slots=True)
class WebOptions:
    """`base_url`: the dashboard's public address (LAURELS_WEB_BASE_URL); over HTTPS its
    cookies are `Secure`."""

    base_url: str = "http://127.0.0.1:8080"

    @property
    def secure(self) -> bool:
        return self.base_url.lower().startswith("https://")
