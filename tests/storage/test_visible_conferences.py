"""The conferences a user may see, filtered and paged by the database: the same as the rule in Python, page by page."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from veche.domain.admission import may_see
from veche.domain.model import ConferenceAccess, ConferenceType, User
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_visible_pages_match_the_rule_for_every_kind_of_user(database: Database) -> None:
    rng = random.Random(15)
    users = UserStore(database.sessions)
    people: list[User] = []
    for n in range(8):
        people.append(
            await users.create(
                login=f"u{n}", display_name=f"U {n}", email="", password_hash="h", is_admin=n == 0, now=NOW
            )
        )
    store = ConferenceStore(database.sessions)
    made = []
    for n in range(60):
        others = [p.id for p in people[1:]]
        made.append(
            await store.create(
                name=f"c{n}",
                owner_id=rng.choice(others),
                type=ConferenceType.ALL_SEE_ALL,
                max_participants=10,
                guests_allowed=False,
                access=rng.choice(list(ConferenceAccess)),
                invite_code=f"code-{n}",
                slug=f"slug-{n}",
                invited=set(rng.sample(others, rng.randint(0, 2))),
                moderators=set(rng.sample(others, rng.randint(0, 1))),
                call_pair=f"{n}:{n + 1000}" if n % 7 == 0 else None,
                now=NOW,
            )
        )
    for user in people:
        for calls in (True, False):
            expected = [
                c.id for c in sorted(made, key=lambda c: -c.id) if may_see(c, user) and (calls or not c.call_pair)
            ]
            seen: list[int] = []
            offset = 0
            while True:
                page = await store.visible_page(user.id, is_admin=user.is_admin, calls=calls, limit=7, offset=offset)
                assert page.total == len(expected)
                if not page.conferences:
                    break
                seen.extend(c.id for c in page.conferences)
                offset += 7
            assert seen == expected, (user.login, calls)
    assert len([c for c in made if may_see(c, people[0])]) == 60, "the admin sees everything"
