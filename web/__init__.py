"""The web layer: what the process serves over HTTP besides health and Slack's events.
`web.api` is the JSON API. It may import `engine` and `config` only (tests/test_layers.py)."""
