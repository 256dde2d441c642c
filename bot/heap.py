"""Short garbage-collector passes: objects that live as long as the run are set aside.

A full collection walks every tracked object on the event loop's thread. A running bot
holds a few hundred thousand from start-up alone (the modules and tables of SQLAlchemy,
discord.py, slack-bolt and emoji, the platforms' caches), which made each full pass take
about 100 ms, every few seconds under a burst of votes (docs/performance.md, the event
loop). Once start-up is done they move to the permanent generation (`gc.freeze`), which
collections skip; what the bot creates afterwards is collected as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["set_aside", "started_objects_set_aside"]


def set_aside() -> None:
    """Move every object tracked now to the permanent generation (after start-up, and
    after a platform has connected and filled its caches)."""
    gc.freeze()


@contextmanager
def started_objects_set_aside() -> Iterator[None]:
    """For the length of a run: start-up's garbage is collected, then what remains is
    set aside; at the end it goes back to the collector (tests run many runs)."""
    gc.collect()  # cycles left by start-up first: frozen, they would never be freed
    set_aside()
    try:
        yield
    finally:
        gc.unfreeze()
