from __future__ import annotations

from collectors.store.database import Database
from collectors.store.farmers import FarmerStore


async def test_primary_farmer_inserted_once(db: Database) -> None:
    store = FarmerStore(db)
    first = await store.ensure_primary("alpha", 1)
    again = await store.ensure_primary("alpha", 2)
    assert first.id == again.id
    assert [f.name for f in await store.all()] == ["alpha"]


async def test_renamed_primary_farmer_replaces_the_old_row(db: Database) -> None:
    store = FarmerStore(db)
    old = await store.ensure_primary("alpha", 1)
    new = await store.ensure_primary("beta", 2)
    assert new.id == old.id
    assert [(f.name, f.is_primary) for f in await store.all()] == [("beta", True)]


async def test_other_farmers_live_beside_the_primary(db: Database) -> None:
    store = FarmerStore(db)
    await store.ensure_primary("local", 1)
    remote = await store.ensure("rack-2", 1, host="10.0.0.2")
    assert (await store.ensure("rack-2", 5)).id == remote.id
    assert [(f.name, f.is_primary) for f in await store.all()] == [
        ("local", True),
        ("rack-2", False),
    ]
    # Renaming the primary to an existing farmer's name promotes that row.
    promoted = await store.ensure_primary("rack-2", 9)
    assert promoted.id == remote.id
    assert [(f.name, f.is_primary) for f in await store.all()] == [
        ("rack-2", True),
        ("local", False),
    ]
