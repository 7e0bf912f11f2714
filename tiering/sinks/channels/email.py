"""The e-mail channel: a plain-text message per notification to the team's addresses and the
assigned manager, over SMTP (the standard library's ``smtplib``, in a thread).

Written in the reader's language: the team's addresses read ``[smtp] language`` (default
``TIERING_LANGUAGE``), the assigned manager their own (``managers.language``) when set. A
manager who reads another language than the team gets a message of their own
(:func:`mailings`)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from tiering.i18n import Language, language_of
from tiering.notify.notification import Notification
from tiering.sinks.channels.config import SmtpConfig
from tiering.sinks.channels.errors import DeliveryError
from tiering.sinks.channels.rendering import render

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0


def recipients(smtp: SmtpConfig, n: Notification, manager_email: str | None) -> list[str]:
    """The team's addresses from ``[smtp.to]`` and the assigned manager's, each once."""
    addresses = [a for team, team_to in smtp.to.items() if team == n.team for a in team_to]
    if manager_email:
        addresses.append(manager_email)
    return list(dict.fromkeys(addresses))


@dataclass(frozen=True, slots=True)
class Mailing:
    """One message of a notification: its recipients and the language they read."""

    to: list[str]
    language: Language
    #: the assigned manager's own message, in their language (the team reads another)
    manager_only: bool = False


def mailings(
    smtp: SmtpConfig,
    n: Notification,
    manager_email: str | None,
    manager_language: str | None,
    default: Language,
) -> list[Mailing]:
    """The messages ``n`` goes out as: one to the team's addresses and the assigned manager,
    in ``[smtp] language`` (else ``default``); or, when the manager prefers another language,
    one to the team and one to the manager in theirs. None without any address."""
    language = smtp.language or default
    team = recipients(smtp, n, None)
    if not manager_email or manager_email in team:
        return [Mailing(team, language)] if team else []
    own = language_of(manager_language) or language
    if own == language:
        return [Mailing([*team, manager_email], language)]
    if not team:
        return [Mailing([manager_email], own)]
    return [Mailing(team, language), Mailing([manager_email], own, manager_only=True)]


def message_id(n: Notification, sender: str, manager_only: bool = False) -> str:
    """Derived from the notification id (and whether it is the manager's own message), so a
    message re-sent by hand is recognisable as the same one; hashed because ids may hold
    characters a Message-ID cannot."""
    source = n.notification_id + ("\x00manager" if manager_only else "")
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    return f"<tiering.{digest}@{sender.rpartition('@')[2]}>"


def build_message(
    smtp: SmtpConfig, n: Notification, to: list[str], language: Language, manager_only: bool = False
) -> EmailMessage:
    """In ``language``: subject ``[priority] title``; the facts, the body, then the
    recommended actions. ``manager_only``: the manager's own message (its own Message-ID)."""
    shown = render(n, language)
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = " ".join(shown.headline.split())  # no line breaks in a header
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(n, smtp.sender, manager_only)
    lines = [
        shown.text.title,
        "",
        shown.priority_label % {"priority": shown.priority},
        *shown.facts,
        shown.created,
        "",
        shown.text.body,
    ]
    if shown.text.actions:
        lines += ["", shown.actions_intro, *(f"  - {a}" for a in shown.text.actions)]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class EmailSender:
    """Sends over SMTP; ``smtplib`` blocks, so each message goes in a worker thread."""

    def __init__(self, smtp: SmtpConfig, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self._smtp = smtp
        self._timeout = timeout

    async def send(self, n: Notification, mailing: Mailing) -> None:
        """One attempt; raises :class:`DeliveryError` naming the SMTP code or the error's type
        (never the server's text, which may quote addresses)."""
        to = mailing.to
        msg = build_message(self._smtp, n, to, mailing.language, mailing.manager_only)
        try:
            refused = await asyncio.to_thread(self._send, msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryError(f"SMTP recipients refused ({', '.join(map(str, codes))})") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}") from None
        except TimeoutError:
            raise DeliveryError(f"SMTP no answer within {self._timeout:g}s") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}") from None
        if refused:
            log.warning(
                "notification %s: the SMTP server refused %d of %d recipients",
                n.notification_id,
                len(refused),
                len(to),
            )

    def _send(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        s = self._smtp
        with smtplib.SMTP(s.host, s.port, timeout=self._timeout) as client:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password.get_secret_value())
            return client.send_message(msg)
