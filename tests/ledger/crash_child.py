"""Child process for the crash test: append forever, print each index once its transaction has committed.

Run as ``python -m tests.ledger.crash_child DATABASE_URL SKEY``; the parent kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import random
import sys

from sqlalchemy.ext.asyncio import async_sessionmaker

from ledger.note import Ed25519Signer
from ledger.storage import LedgerStore
from tests.ledger.reference import event_payload, make_engine


async def main(url: str, skey: str) -> None:
    engine = make_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    store = LedgerStore()
    signer = Ed25519Signer.from_skey(skey)
    rnd = random.Random()
    async with sessions() as session:
        next_index = await store.size(session)
    while True:
        batch = rnd.randint(1, 60)
        async with sessions() as session:
            entries = [("test.event", event_payload(next_index + k)) for k in range(batch)]
            indexes = await store.append(session, entries, signer=signer)
            await session.commit()
        next_index = indexes[-1] + 1
        # Acknowledged only now, after the commit returned.
        sys.stdout.write("".join(f"{i}\n" for i in indexes))
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
