"""Who is who on Slack: staff membership, people's names and locales, events already seen.

Staff are the members of ``slack.staff_channel`` (``conversations.members``) plus
``slack.staff_user_ids``; the member list is cached for a minute of the injected clock, so a
burst of commands costs one call and someone removed from the channel loses access soon after.
Names and locales (``users.info``) are cached longer: they only label and hint. A failed
lookup never fails a message: it falls back to the last answer, or to the configured ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.settings import SlackSettings
from store.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Profile:
    """What a channel needs to know about a person: a name to show and a language hint."""

    display_name: str | None = None
    locale: str | None = None


class SeenEvents:
    """A bounded memory of Events API ``event_id``s, so a redelivered event runs once."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen (and remember it), False after."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


class SlackDirectory:
    """Staff membership and user profiles, cached on the injected clock."""

    def __init__(
        self,
        client: AsyncWebClient,
        settings: SlackSettings,
        clock: Clock,
        *,
        members_ttl: timedelta = timedelta(seconds=60),
        profile_ttl: timedelta = timedelta(hours=6),
        max_profiles: int = 10_000,
    ) -> None:
        self.client = client
        self.staff_channel = settings.staff_channel
        self.staff_user_ids = frozenset(settings.staff_user_ids)
        self.clock = clock
        self.members_ttl = members_ttl
        self.profile_ttl = profile_ttl
        self.max_profiles = max_profiles
        self._members: frozenset[str] | None = None
        self._members_at: datetime | None = None
        self._members_lock = asyncio.Lock()
        self._profiles: OrderedDict[str, tuple[datetime, Profile]] = OrderedDict()

    async def is_staff(self, user_id: str) -> bool:
        """True for configured staff ids and members of the staff channel."""
        if user_id in self.staff_user_ids:
            return True
        if not self.staff_channel:
            return False
        return user_id in await self._staff_members()

    async def _staff_members(self) -> frozenset[str]:
        async with self._members_lock:
            now = self.clock()
            fresh = self._members_at is not None and now - self._members_at < self.members_ttl
            if self._members is not None and fresh:
                return self._members
            try:
                members = await self._fetch_members()
            except Exception as exc:  # network or API trouble: keep the last known list
                log.warning("slack: staff channel members unavailable (%s)", _reason(exc))
                return self._members or frozenset()
            self._members, self._members_at = members, now
            return members

    async def _fetch_members(self) -> frozenset[str]:
        assert self.staff_channel is not None, "members are asked only of a staff channel"
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(100):  # 100 pages of 1,000: far more than any staff channel
            extra = {"cursor": cursor} if cursor else {}
            response = await self.client.conversations_members(
                channel=self.staff_channel, limit=1000, **extra
            )
            members.update(str(m) for m in response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return frozenset(members)

    async def profile(self, user_id: str) -> Profile:
        """The person's display name and locale; an empty Profile if Slack will not say."""
        now = self.clock()
        cached = self._profiles.get(user_id)
        if cached is not None and now - cached[0] < self.profile_ttl:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except Exception as exc:  # a name and a hint are not worth failing a message for
            log.info("slack: users.info unavailable (%s)", _reason(exc))
            return cached[1] if cached else Profile()
        user = response.get("user") or {}
        details = user.get("profile") or {}
        name = (
            details.get("display_name")
            or details.get("real_name")
            or user.get("real_name")
            or user.get("name")
        )
        found = Profile(display_name=str(name) if name else None, locale=user.get("locale"))
        self._profiles[user_id] = (now, found)
        self._profiles.move_to_end(user_id)
        if len(self._profiles) > self.max_profiles:
            self._profiles.popitem(last=False)
        return found


def _reason(exc: Exception) -> str:
    """Slack's error code or the exception's type: never a token or a message."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error"))
    return type(exc).__name__
