"""The e-mail channel: one plain-text message per notification to the team's addresses and
the assigned manager, over SMTP (the standard library's ``smtplib``, in a thread)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from tiering.notify.notification import Notification
from tiering.sinks.channels.config import SmtpConfig
from tiering.sinks.channels.errors import DeliveryError

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0


def recipients(smtp: SmtpConfig, n: Notification, manager_email: str | None) -> list[str]:
    """The team's addresses from ``[smtp.to]`` and the assigned manager's, each once."""
    addresses = [a for team, team_to in smtp.to.items() if team == n.team for a in team_to]
    if manager_email:
        addresses.append(manager_email)
    return list(dict.fromkeys(addresses))


def message_id(n: Notification, sender: str) -> str:
    """Derived from the notification id, so a message re-sent by hand is recognisable as the
    same one; hashed because ids may hold characters a Message-ID cannot."""
    digest = hashlib.sha256(n.notification_id.encode()).hexdigest()[:32]
    return f"<tiering.{digest}@{sender.rpartition('@')[2]}>"


def build_message(smtp: SmtpConfig, n: Notification, to: list[str]) -> EmailMessage:
    """Subject ``[PRIORITY] title``; the body, then the recommended actions."""
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = " ".join(
        f"[{n.priority.name}] {n.title}".split()
    )  # no line breaks in a header
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(n, smtp.sender)
    lines = [
        n.title,
        "",
        f"Priority: {n.priority.name}",
        f"Tier: {n.tier.name}",
        f"Kind: {n.kind}",
        f"Team: {n.team}",
        f"Branch: {n.branch_id or '-'}",
        f"Created: {n.created_at.isoformat(timespec='seconds')}",
        "",
        n.body,
    ]
    if n.actions:
        lines += ["", "Recommended actions:", *(f"  - {a}" for a in n.actions)]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class EmailSender:
    """Sends over SMTP; ``smtplib`` blocks, so each message goes in a worker thread."""

    def __init__(self, smtp: SmtpConfig, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self._smtp = smtp
        self._timeout = timeout

    async def send(self, n: Notification, to: list[str]) -> None:
        """One attempt; raises :class:`DeliveryError` naming the SMTP code or the error's type
        (never the server's text, which may quote addresses)."""
        msg = build_message(self._smtp, n, to)
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
