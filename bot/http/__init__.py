"""The process's HTTP side: one ASGI application (`app`) on one port (`server`), with
health and readiness (`health`), limits on bodies (`limits`) and connections
(`connections`)."""
