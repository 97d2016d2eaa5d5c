"""The notification storage on SQLite and PostgreSQL: a notice is stored once per user and key with its push
deliveries and its mail in one go; preferences decide which; queued items are claimed by one worker at a time and a
lease that ran out (or the worker's restart) frees them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.notify.conftest import NOW, make_user
from veche.base.notify.mobile_push import RecordingProvider
from veche.base.notify.notifier import NotificationService, mail_key_for
from veche.base.notify.outbox import MailOutbox
from veche.base.notify.push_sender import PushSender
from veche.config.notify import PushConfig, RetryPolicy
from veche.domain.notifications import Notice, OutgoingMail
from veche.storage.database import Database
from veche.storage.notifications import (
    KindPreference,
    MailQueueStore,
    NoticeStore,
    PushTargetStore,
    WebPushTarget,
)

LEASE = timedelta(minutes=5)


def _service(db: Database) -> NotificationService:
    outbox = MailOutbox(MailQueueStore(db.sessions), lambda: NOW, sender="Veche <veche@example.org>")
    return NotificationService(NoticeStore(db.sessions), outbox, lambda: NOW, public_url="https://v.example.org")


def _notice(user_id: int, key: str = "k1", kind: str = "invitation") -> Notice:
    return Notice(key=key, user_id=user_id, kind=kind, title="T", body="B", url="/meetings/1")  # type: ignore[arg-type]


async def test_a_notice_is_stored_once_with_its_deliveries(database: Database) -> None:
    bob = await make_user(database, "bob")
    targets = PushTargetStore(database.sessions)
    await targets.subscribe(bob, WebPushTarget("https://push.example.org/1", "p", "a"), NOW)
    await targets.add_device(bob, "test", "phone", NOW)
    service = _service(database)
    await service.notify([_notice(bob), _notice(bob)])
    await service.notify([_notice(bob)])
    page = await NoticeStore(database.sessions).page(bob, limit=10)
    assert [n.title for n in page.items] == ["T"] and page.unread == 1
    assert (await targets.counts())["queued"] == 2  # one browser, one device
    mails = MailQueueStore(database.sessions)
    assert await mails.state_of(mail_key_for(_notice(bob))) == ("queued", 0, None)
    assert (await mails.counts())["queued"] == 1


async def test_preferences_decide_push_and_mail(database: Database) -> None:
    bob = await make_user(database, "bob")
    nomail = await make_user(database, "nomail", email="")
    store = NoticeStore(database.sessions)
    targets = PushTargetStore(database.sessions)
    await targets.add_device(bob, "test", "phone", NOW)
    await store.set_preferences(bob, {"message": KindPreference(email=False, push=False)})
    await store.set_preferences(bob, {"reminder": KindPreference(email=True, push=False)})
    assert await store.preferences(bob) == {
        "message": KindPreference(False, False),
        "reminder": KindPreference(True, False),
    }
    service = _service(database)
    await service.notify([_notice(bob, "m", "message"), _notice(bob, "r", "reminder"), _notice(nomail, "x")])
    assert (await targets.counts())["queued"] == 0
    mails = MailQueueStore(database.sessions)
    assert (await mails.counts())["queued"] == 1  # the reminder; "nomail" has no address
    assert await mails.state_of(mail_key_for(_notice(bob, "r"))) is not None
    assert (await store.page(nomail, limit=5)).unread == 1  # still shown in the app


async def test_claims_are_exclusive_until_the_lease_runs_out(database: Database) -> None:
    mails = MailQueueStore(database.sessions)
    outbox = MailOutbox(mails, lambda: NOW, sender="veche@example.org")
    await outbox.enqueue([OutgoingMail(key=f"k{i}", to=f"u{i}@example.org", subject="s", text="t") for i in range(10)])
    first, second = await asyncio.gather(
        mails.claim(worker="a", now=NOW, lease=LEASE, limit=6), mails.claim(worker="b", now=NOW, lease=LEASE, limit=6)
    )
    assert len(first) + len(second) == 10 and not {m.id for m in first} & {m.id for m in second}
    assert await mails.claim(worker="c", now=NOW, lease=LEASE, limit=10) == []
    later = await mails.claim(worker="c", now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, limit=10)
    assert len(later) == 10  # the leases ran out: another server takes them
    assert await mails.release_claims_of("c") == 10
    assert len(await mails.claim(worker="a", now=NOW, lease=LEASE, limit=10)) == 10


async def test_a_claim_takes_at_most_its_batch(database: Database) -> None:
    mails = MailQueueStore(database.sessions)
    outbox = MailOutbox(mails, lambda: NOW, sender="veche@example.org")
    await outbox.enqueue([OutgoingMail(key=f"k{i}", to=f"u{i}@example.org", subject="s", text="t") for i in range(100)])
    sizes = [len(await mails.claim(worker=f"w{n}", now=NOW, lease=LEASE, limit=5)) for n in range(3)]
    assert sizes == [5, 5, 5]


async def test_pushes_to_devices_retry_and_forget_gone_tokens(database: Database) -> None:
    bob = await make_user(database, "bob")
    targets = PushTargetStore(database.sessions)
    for token in ("phone", "gone-tablet", "retry-watch"):
        await targets.add_device(bob, "test", token, NOW)
    await _service(database).notify([_notice(bob)])
    provider = RecordingProvider()
    config = PushConfig(retry=RetryPolicy(initial_s=1, max_s=1, give_up_after_s=3600))
    now = [NOW]
    sender = PushSender(targets, None, {"test": provider}, config, lambda: now[0], worker="w")
    assert await sender.send_due()
    assert [t for t, _ in provider.sent] == ["phone"]
    assert await sender.send_due() is False  # the watch waits for its retry
    now[0] = NOW + timedelta(seconds=2)
    assert await sender.send_due()
    assert sorted(t for t, _ in provider.sent) == ["phone", "retry-watch"]
    assert await targets.counts() == {"queued": 0, "sent": 2, "failed": 0, "gone": 0}
    assert await targets.add_device(bob, "test", "gone-tablet", NOW) > 0  # it was forgotten: registered anew


async def test_a_notice_can_carry_its_own_mail_which_preferences_govern(database: Database) -> None:
    bob = await make_user(database, "bob")
    carol = await make_user(database, "carol")
    await NoticeStore(database.sessions).set_preferences(carol, {"invitation": KindPreference(email=False, push=True)})
    mails = MailQueueStore(database.sessions)

    def invitation(user_id: int, to: str) -> Notice:
        mail = OutgoingMail(key=f"meeting:1:seq:0:{to}", to=to, subject="Invitation: Weekly", text="iCalendar inside")
        return Notice(
            key=f"meeting:1:invite:{user_id}",
            user_id=user_id,
            kind="invitation",
            title="Invitation: Weekly",
            body="Monday 10:00",
            url="/meetings/1",
            mail=mail,
        )

    await _service(database).notify([invitation(bob, "bob@example.org"), invitation(carol, "carol@example.org")])
    assert await mails.state_of("meeting:1:seq:0:bob@example.org") == ("queued", 0, None)
    assert await mails.state_of("meeting:1:seq:0:carol@example.org") is None  # she wants no mail of this kind
    assert (await mails.counts())["queued"] == 1  # the invitation instead of, not besides, the plain mail
