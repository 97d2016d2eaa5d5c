"""What the chats API and pages do (web role): my chats, a chat's members with presence, history by pages, search,
posting (stored by the base role over the bus), read positions, and calls started from a chat.

Whoever may not read a chat gets :class:`NotFound`, worded as for a chat that does not exist.
Implements :class:`veche.domain.chat_access.ChatPoster` (the files service posts attachments through it).
"""

from __future__ import annotations

from dataclasses import dataclass

from veche.base.chats.access import ChatAccessRules
from veche.base.chats.wire import file_of, from_wire
from veche.base.conferences import ConferenceService, NewConference
from veche.base.directory.address_book import AddressBook
from veche.base.directory.presence import PresenceTracker
from veche.bus.base import Bus, BusError, NoResponder
from veche.bus.chat_messages import PostChatMessage
from veche.domain.chat_access import Attachment, ChatRef, Reader
from veche.domain.chat_rules import MAX_GROUP_MEMBERS, MAX_PAGE, clean_query, clean_text, direct_pair
from veche.domain.clock import Clock, utc_now
from veche.domain.errors import InvalidInput, NotFound, Unavailable
from veche.domain.model import Conference, ConferenceAccess, User
from veche.domain.names import clean_name
from veche.storage.chats import ChatInfo, ChatListPage, ChatStore, MessagePage, StoredMessage

__all__ = ["ChatService", "StartedCall", "not_found"]


def not_found(chat: ChatRef) -> NotFound:
    """The one answer for a chat that does not exist and for one the caller may not read."""
    what = "Chat" if chat.kind == "chat" else "The chat of conference"
    return NotFound(f"{what} {chat.id} does not exist or you may not read it.")


@dataclass(frozen=True)
class StartedCall:
    conference: Conference
    url: str  # the conference page


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        access: ChatAccessRules,
        bus: Bus,
        presence: PresenceTracker,
        address_book: AddressBook,
        conferences: ConferenceService,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._access = access
        self._bus = bus
        self._presence = presence
        self._address_book = address_book
        self._conferences = conferences
        self._clock = clock

    # -- ChatAccess / ChatPoster ------------------------------------------------------------------------------

    async def may_read(self, reader: Reader, chat: ChatRef) -> bool:
        return await self._access.may_read(reader, chat)

    async def post_attachment(self, reader: Reader, chat: ChatRef, attachment: Attachment, text: str = "") -> None:
        """Post a message carrying ``attachment`` to ``chat`` as ``reader`` (stored, then delivered to members)."""
        await self._post(reader, chat, text.strip(), attachment)

    # -- chats ------------------------------------------------------------------------------------------------

    async def my_chats(self, user: User, *, limit: int = 50, offset: int = 0) -> ChatListPage:
        self._presence.touch(user.id)
        return await self._store.my_chats(user.id, limit=min(limit, MAX_PAGE), offset=offset)

    async def open_direct(self, user: User, other_id: int) -> ChatInfo:
        """The direct chat with someone in the user's address book (one per pair, made on first use)."""
        pair = direct_pair(user.id, other_id)
        await self._address_book.contact(user, other_id)  # NotFound for someone he may not see
        return await self._store.direct(user.id, other_id, pair, self._clock())

    async def create_group(self, user: User, title: str, member_ids: set[int]) -> ChatInfo:
        name = clean_name(title, what="The chat's title", max_length=256)
        others = member_ids - {user.id}
        if len(others) + 1 > MAX_GROUP_MEMBERS:
            raise InvalidInput(f"A group chat has at most {MAX_GROUP_MEMBERS} members.")
        for other in sorted(others):
            await self._address_book.contact(user, other)
        return await self._store.group(user.id, name, others, self._clock())

    async def chat(self, user: User, chat_id: int) -> ChatInfo:
        info = await self._store.get(chat_id)
        if info is None or all(m.user_id != user.id for m in info.members):
            raise not_found(ChatRef("chat", chat_id))
        return info

    async def add_members(self, user: User, chat_id: int, member_ids: set[int]) -> ChatInfo:
        info = await self.chat(user, chat_id)
        if info.kind != "group":
            raise InvalidInput("Members can be added to group chats only; start a group chat instead.")
        new = member_ids - {m.user_id for m in info.members}
        if len(info.members) + len(new) > MAX_GROUP_MEMBERS:
            raise InvalidInput(f"A group chat has at most {MAX_GROUP_MEMBERS} members.")
        for other in sorted(new):
            await self._address_book.contact(user, other)
        await self._store.add_members(chat_id, new, self._clock())
        return await self.chat(user, chat_id)

    async def leave(self, user: User, chat_id: int) -> None:
        info = await self.chat(user, chat_id)
        if info.kind != "group":
            raise InvalidInput("A direct chat cannot be left.")
        await self._store.remove_member(chat_id, user.id)

    def presence(self, user_id: int) -> str:
        return self._presence.state(user_id).presence.value

    # -- messages ---------------------------------------------------------------------------------------------

    async def messages(
        self, reader: Reader, chat: ChatRef, *, before: int | None = None, limit: int = 50, q: str | None = None
    ) -> MessagePage:
        """One page of a chat's history, older than ``before`` (None: the newest), with ``q`` in it if given."""
        if not await self._access.may_read(reader, chat):
            raise not_found(chat)
        query = clean_query(q) if q is not None else None
        return await self._store.page(chat, before=before, limit=min(limit, MAX_PAGE), query=query)

    async def guest_messages(self, invite_code: str, *, before: int | None = None, limit: int = 50) -> MessagePage:
        """A conference's history for its guests: the invite link is what lets a guest in (while guests may)."""
        reader, chat = await self.guest_reader(invite_code)
        return await self.messages(reader, chat, before=before, limit=limit)

    async def guest_reader(self, invite_code: str) -> tuple[Reader, ChatRef]:
        """The guest an invite code makes and his conference's chat (:class:`NotFound` for a code that is not)."""
        conference = await self._conferences.by_invite(invite_code)
        reader = Reader(guest_conference_id=conference.id)
        await self.require_reader(reader, ChatRef("conference", conference.id))
        return reader, ChatRef("conference", conference.id)

    async def require_reader(self, reader: Reader, chat: ChatRef) -> None:
        """:class:`NotFound` unless ``reader`` may read ``chat``."""
        if not await self._access.may_read(reader, chat):
            raise not_found(chat)

    async def search(self, user: User, q: str, *, before: int | None = None, limit: int = 50) -> MessagePage:
        """Messages with ``q`` in them, in the direct and group chats the user is a member of, newest page first."""
        return await self._store.search_member_chats(user.id, clean_query(q), before=before, limit=min(limit, MAX_PAGE))

    async def post(self, user: User, chat_id: int, text: str) -> StoredMessage:
        return await self._post(
            Reader(user_id=user.id, display_name=user.display_name), ChatRef("chat", chat_id), clean_text(text)
        )

    async def mark_read(self, user: User, chat_id: int, message_id: int) -> None:
        await self.chat(user, chat_id)
        await self._store.mark_read(chat_id, user.id, message_id)

    async def start_call(self, user: User, chat_id: int) -> StartedCall:
        """A call from a chat: a direct chat rings the other one (the address book's call); a group chat gets a
        conference with its members invited, and its link is posted in the chat."""
        info = await self.chat(user, chat_id)
        others = [m.user_id for m in info.members if m.user_id != user.id]
        if info.kind == "direct":
            if not others:
                raise InvalidInput("The other person has left this chat.")
            conference = await self._address_book.call(user, others[0])
            return StartedCall(conference, f"/c/{conference.slug}")
        conference = await self._conferences.create(
            user,
            NewConference(
                name=info.title[:256],
                access=ConferenceAccess.INVITED,
                invited=frozenset(others),
                max_participants=max(2, min(1000, len(info.members) + 5)),
            ),
        )
        url = f"/c/{conference.slug}"
        await self.post(user, chat_id, f"Started a call: {url}")
        return StartedCall(conference, url)

    async def _post(
        self, reader: Reader, chat: ChatRef, text: str, attachment: Attachment | None = None
    ) -> StoredMessage:
        if not await self._access.may_read(reader, chat):
            raise not_found(chat)
        if reader.user_id is not None:
            self._presence.touch(reader.user_id)
            sender = f"user:{reader.user_id}"
            if not reader.display_name:
                reader = Reader(user_id=reader.user_id, display_name=await self._access.display_name(reader.user_id))
        else:
            sender = f"guest:{reader.guest_conference_id}"
        request = PostChatMessage(
            chat=chat.key,
            sender=sender,
            sender_user_id=reader.user_id,
            display_name=reader.display_name or "Guest",
            text=text,
            attachment=file_of(attachment),
        )
        try:
            result = await self._bus.request(request, timeout_s=5.0)
        except NoResponder as exc:
            raise Unavailable("The chat could not be stored: no base server answers. Try again in a moment.") from exc
        except BusError as exc:  # this server's NATS node is away (it reconnects to another by itself)
            raise Unavailable("The chat could not be stored just now. Try again in a moment.") from exc
        if not result.ok or result.message is None:
            if result.code == "not_found":
                raise not_found(chat)
            if result.code == "unavailable":
                raise Unavailable("The database is switching over; try again in a few seconds.")
            raise InvalidInput(result.error or "The message was not accepted.")
        return from_wire(result.message)
