"""The console channel: ``crossdesk chat`` talks to the bot in a terminal, no platform needed.

Each input line is a message from one customer (or, with ``--staff``, from a staff member in
the staff chat). Buttons are shown numbered, those of the bot's replies and those of messages
delivered afterwards (a ticket card, a rating question) alike; typing the number presses one.
Staff-side notifications (tickets, alerts) print in the same terminal, a ticket's marked
``[ticket #7]`` with its ticket number; in staff mode ``>7 text`` answers in ticket 7's thread,
as a reply would in Telegram or Slack. The number is the ticket's, so it means the same ticket
in every run of ``crossdesk chat``.
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
STAFF = "staff"  # the chat id of the staff chat, and the audience of staff messages
MAX_LINE = 10 * 1024 * 1024  # longer input lines are cut here before anything else sees them
MAX_BUTTONS = 99  # buttons offered at once: a number of one or two digits presses one
_THREAD_REPLY = re.compile(r"^>(\d+)\s+(.*)$", re.DOTALL)
_TICKET_KEY = re.compile(r"^ticket:(\d+)$")


class ButtonBoard:
    """The buttons on screen since the last typed line, numbered 1, 2, ... per audience (the
    staff, or a customer's chat), so that typing a number presses the one shown with it."""

    def __init__(self) -> None:
        self._actions: dict[str, list[str]] = {}

    def clear(self) -> None:
        self._actions.clear()

    def offer(self, audience: str, action: str) -> int:
        """Show ``action`` to ``audience``; its number."""
        actions = self._actions.setdefault(audience, [])
        actions.append(action)
        return len(actions)

    def pressed(self, audience: str, typed: str) -> str | None:
        """The action of button number ``typed`` shown to ``audience``, if there is one."""
        if not typed.isdigit() or len(typed) > len(str(MAX_BUTTONS)):
            return None
        actions = self._actions.get(audience, [])
        number = int(typed)
        return actions[number - 1] if 0 < number <= len(actions) else None


def _ticket_number(subject: str) -> str | None:
    match = _TICKET_KEY.match(subject)
    return match.group(1) if match else None


class ConsoleSender:
    """Prints outbox messages for the console channel.

    A ticket's messages land as the ticket's number, so ``>7`` finds ticket 7's thread in any
    run; other staff messages are numbered per run with a letter (``n3``) that no ``>N`` means.
    """

    def __init__(self, out: TextIO, board: ButtonBoard | None = None) -> None:
        self.out = out
        self.board = board or ButtonBoard()
        self._counter = 0

    async def send(self, message: Outgoing) -> PlatformRef:
        self._counter += 1
        audience = STAFF if message.to == STAFF else message.to
        if message.to == STAFF:
            ticket = _ticket_number(message.subject)
            number = ticket or f"n{self._counter}"
            edited = " (updated)" if message.edit else ""
            label = f"[ticket #{ticket}{edited}]" if ticket else "[staff]"
        else:
            number, label = str(self._counter), "bot:"
        self.out.write(_render(label, message.text, message.buttons, self.board, audience) + "\n")
        self.out.flush()
        return PlatformRef(audience, number)


def _render(
    label: str, text: str, buttons: Iterable[Iterable[object]], board: ButtonBoard, audience: str
) -> str:
    lines = [f"{label} {text}"]
    options = [button for row in buttons for button in row]
    if options:
        numbered = [(board.offer(audience, _action(b)), _label(b)) for b in options]
        lines.append("   " + "  ".join(f"[{n}] {label}" for n, label in numbered))
    return "\n".join(lines)


def _label(button: object) -> str:
    """A Button's label, or the label of an outbox button ``[label, action]``."""
    return button.label if isinstance(button, Button) else str(_pair(button)[0])


def _action(button: object) -> str:
    """A Button's action, or the action of an outbox button ``[label, action]``."""
    return button.action if isinstance(button, Button) else str(_pair(button)[1])


def _pair(button: object) -> list[object]:
    """An outbox button ``[label, action]`` as the list it is (anything else: two blanks)."""
    return list(button) if isinstance(button, list | tuple) and len(button) == 2 else ["", ""]


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
        board: ButtonBoard | None = None,
    ) -> None:
        self.router = router
        self.deliverer = deliverer
        self.staff = staff
        self.user = "console-staff" if staff and user == "console-customer" else user
        self.out = out
        sender = deliverer.senders.get(CHANNEL)
        self.board = board or (sender.board if isinstance(sender, ConsoleSender) else ButtonBoard())

    @property
    def chat_id(self) -> str:
        return STAFF if self.staff else self.user

    def message_for(self, line: str) -> IncomingMessage:
        """The IncomingMessage for one typed line."""
        line = line[:MAX_LINE]
        stripped = line.strip()
        action = self.board.pressed(self.chat_id, stripped)
        thread = _THREAD_REPLY.match(stripped) if self.staff else None
        if action is None and thread is None:
            who = {"display_name": self.user, "is_staff": self.staff, "in_staff_chat": self.staff}
            return IncomingMessage.from_text(CHANNEL, self.user, self.chat_id, line, **who)
        return IncomingMessage(
            CHANNEL,
            self.user,
            self.chat_id,
            thread.group(2) if thread else "",
            kind=MessageKind.TEXT if thread else MessageKind.BUTTON,
            action=action if thread is None else None,
            thread_id=thread.group(1) if thread else None,
            display_name=self.user,
            is_staff=self.staff,
            in_staff_chat=self.staff,
        )

    def show(self, replies: list[Reply]) -> None:
        """Print the bot's replies to what was typed, their buttons numbered from 1."""
        for reply in replies:
            self.out.write(_render("bot:", reply.text, reply.buttons, self.board, self.chat_id))
            self.out.write("\n")
        self.out.flush()

    def run(self, lines: Iterable[str], *, prompt: bool = False) -> None:
        """Handle every line until the input ends."""
        for raw in lines:
            line = raw.rstrip("\n")
            if line.strip() in {"/quit", "/exit"}:
                break
            message = self.message_for(line)
            self.board.clear()  # what was on screen has been answered
            self.show(self.router.handle(message))
            asyncio.run(self._deliver())
            if prompt:
                self.out.write("> ")
                self.out.flush()

    async def _deliver(self) -> None:
        while await self.deliverer.run_once():
            pass
