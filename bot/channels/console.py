"""The console channel: ``crossdesk chat`` talks to the bot in a terminal, no platform needed.

Each input line is a message from one customer (or, with ``--staff``, from a staff member in
the staff chat). Buttons are shown numbered; typing the number presses one. Staff-side
notifications (tickets, alerts) print in the same terminal marked ``[staff #N]``; in staff mode
``>N text`` answers in the thread of staff message N, as a reply would in Telegram or Slack.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.delivery import Deliverer, Outgoing, PlatformRef
from handlers.messages import Button, IncomingMessage, MessageKind, Reply
from handlers.router import Router

CHANNEL = "console"
MAX_LINE = 10 * 1024 * 1024  # longer input lines are cut here before anything else sees them
_THREAD_REPLY = re.compile(r"^>(\d+)\s+(.*)$", re.DOTALL)


class ConsoleSender:
    """Prints outbox messages for the console channel."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._counter = 0

    async def send(self, message: Outgoing) -> PlatformRef:
        self._counter += 1
        number = str(self._counter)
        if message.to == "staff":
            where = f" (thread #{message.thread.message_id})" if message.thread else ""
            edited = f" (update of #{message.edit.message_id})" if message.edit else ""
            label = f"[staff #{number}{where}{edited}]"
        else:
            label = "bot:"
        self.out.write(_render(label, message.text, message.buttons) + "\n")
        self.out.flush()
        return PlatformRef("staff" if message.to == "staff" else message.to, number)


def _render(label: str, text: str, buttons: Iterable[Iterable[object]]) -> str:
    lines = [f"{label} {text}"]
    options = [button for row in buttons for button in row]
    if options:
        lines.append("   " + "  ".join(f"[{i}] {_label(b)}" for i, b in enumerate(options, 1)))
    return "\n".join(lines)


def _label(button: object) -> str:
    """A Button's label, or the label of an outbox button ``[label, action]``."""
    return button.label if isinstance(button, Button) else str(next(iter(button)))  # type: ignore[call-overload]


class ConsoleChannel:
    """Reads lines, hands them to the router, prints replies and staff notifications."""

    def __init__(
        self,
        router: Router,
        deliverer: Deliverer,
        *,
        staff: bool = False,
        user: str = "console-customer",
        out: TextIO = sys.stdout,
    ) -> None:
        self.router = router
        self.deliverer = deliverer
        self.staff = staff
        self.user = "console-staff" if staff and user == "console-customer" else user
        self.out = out
        self._buttons: list[str] = []

    def message_for(self, line: str) -> IncomingMessage:
        """The IncomingMessage for one typed line."""
        line = line[:MAX_LINE]
        who = {"display_name": self.user, "is_staff": self.staff, "in_staff_chat": self.staff}
        chat_id = "staff" if self.staff else self.user
        stripped = line.strip()
        if stripped.isdigit() and len(stripped) == 1 and 0 < int(stripped) <= len(self._buttons):
            return IncomingMessage(
                CHANNEL,
                self.user,
                chat_id,
                kind=MessageKind.BUTTON,
                action=self._buttons[int(stripped) - 1],
                display_name=self.user,
                is_staff=self.staff,
                in_staff_chat=self.staff,
            )
        thread = _THREAD_REPLY.match(stripped) if self.staff else None
        if thread:
            return IncomingMessage(
                CHANNEL,
                self.user,
                chat_id,
                thread.group(2),
                thread_id=thread.group(1),
                display_name=self.user,
                is_staff=self.staff,
                in_staff_chat=self.staff,
            )
        return IncomingMessage.from_text(CHANNEL, self.user, chat_id, line, **who)

    def show(self, replies: list[Reply]) -> None:
        self._buttons = [
            button.action for reply in replies for row in reply.buttons for button in row
        ]
        counter = 0
        for reply in replies:
            self.out.write(f"bot: {reply.text}\n")
            options = [b for row in reply.buttons for b in row]
            if options:
                self.out.write(
                    "   "
                    + "  ".join(f"[{counter + i}] {b.label}" for i, b in enumerate(options, 1))
                    + "\n"
                )
                counter += len(options)
        self.out.flush()

    def run(self, lines: Iterable[str], *, prompt: bool = False) -> None:
        """Handle every line until the input ends."""
        for raw in lines:
            line = raw.rstrip("\n")
            if line.strip() in {"/quit", "/exit"}:
                break
            self.show(self.router.handle(self.message_for(line)))
            asyncio.run(self._deliver())
            if prompt:
                self.out.write("> ")
                self.out.flush()

    async def _deliver(self) -> None:
        while await self.deliverer.run_once():
            pass
