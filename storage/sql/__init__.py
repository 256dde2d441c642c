"""Hot-path statements as plain SQL, one module per aggregate; `run` holds the plumbing."""
