"""A bot process that only votes: first-time voters react to entries at a steady pace
until voting closes (tests/engine/test_first_time_voters.py starts one or two).

Prints a JSON summary on its last line: each vote's voter, entry message, the moment it
was received, and what became of it (counted, duplicate, refused: reason, or a raw error).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import LaurelsError
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from storage.db import Database


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--community", required=True, help="platform:external id")
    p.add_argument("--messages", required=True, help="channel:message,...")
    p.add_argument("--voters", required=True, help="prefix:count")
    p.add_argument("--go", type=Path, required=True,
                   help="start once this file exists; it holds the ISO time voting closes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    platform, external_id = args.community.split(":", 1)
    community = CommunityRef(platform, external_id)
    messages = [MessageRef(*m.split(":", 1)) for m in args.messages.split(",")]
    prefix, count = args.voters.split(":")
    rng = random.Random(args.seed)
    db = Database(args.url)
    engine = Engine(db)
    votes: list[dict[str, Any]] = []

    async def vote(voter: MemberRef, message: MessageRef) -> None:
        received = engine.clock.now()
        outcome: str
        try:
            result = await engine.cast_vote(voter, message, "👍", received_at=received)
            outcome = result.status
        except LaurelsError as exc:
            outcome = f"refused: {exc.message}"
        except Exception as exc:  # what a member would see as "something went wrong"
            outcome = f"error: {type(exc).__name__}: {exc}"
        votes.append({"voter": voter.user_id, "message": message.message_id,
                      "received": received.isoformat(), "outcome": outcome})

    args.go.with_name(f"{args.go.name}.{prefix}.ready").write_text("ready")
    while not args.go.exists() or not args.go.read_text().strip():  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    until = datetime.fromisoformat(args.go.read_text().strip())
    voters = [MemberRef(community, f"{prefix}{i}", f"Voter {prefix}{i}")
              for i in range(int(count))]
    # A voter every `gap` seconds, each reacting to every entry at once, in their own
    # order: first-time voters all through the window, up to and past its close.
    gap = max(0.001, (until - datetime.now(UTC)).total_seconds() / len(voters))
    pending: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    for i, voter in enumerate(voters):
        await asyncio.sleep(max(0.0, started + i * gap - time.monotonic()))
        for message in rng.sample(messages, len(messages)):
            task = asyncio.create_task(vote(voter, message))
            pending.add(task)
            task.add_done_callback(pending.discard)
    while pending:
        await asyncio.gather(*pending)
    await engine.close()
    await db.dispose()
    print(json.dumps({"votes": votes}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
