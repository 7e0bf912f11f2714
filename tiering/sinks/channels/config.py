"""Delivery channels: webhooks per team and e-mail, from the TOML file ``TIERING_CHANNELS_FILE``.

Without a file every notification goes to the PostgreSQL inbox only. The file::

    [[webhook]]                     # any number; each is the channel "webhook:<name>"
    name = "wealth-wecom"           # unique: letters, digits, "." "_" "-"
    team = "WEALTH_TEAM"            # BRANCH_SERVICE | CUSTOMER_MANAGER | WEALTH_TEAM |
                                    # PRIVATE_BANKING, or "*" for every team
    type = "wecom"                  # wecom (WeCom group robot) | dingtalk (DingTalk custom
                                    # robot) | json (the notification as JSON)
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_WEALTH_KEY}"
    secret = "${DINGTALK_SECRET}"   # dingtalk: the robot's signing secret ("SEC..."), the
                                    # request is signed when set; json: optional HMAC-SHA256
                                    # key for the X-Tiering-Signature header; wecom: not allowed
    min_priority = "LOW"            # LOW | NORMAL | HIGH | URGENT; default LOW
    rate_limit = { messages = 20, seconds = 60 }   # at most 20 requests in any 60 s to this
                                    # URL; default 20 a minute for wecom and dingtalk (the
                                    # robots' own limit), none for json
    language = "zh_Hans_CN"         # what the group reads: zh_Hans_CN (Simplified Chinese),
                                    # zh_Hant (Traditional) or en, or a tag naming one (zh-CN,
                                    # zh-TW, en-GB...); default TIERING_LANGUAGE. The json
                                    # webhook sends every language whatever it says

    [smtp]                          # optional: the channel "email"
    host = "smtp.bank.example"
    port = 25                       # default 25
    starttls = false                # default false
    username = ""                   # empty (default): no login
    password = "${SMTP_PASSWORD}"   # default empty
    sender = "tiering@bank.example"
    min_priority = "HIGH"           # default HIGH: e-mail only for HIGH and URGENT
    rate_limit = { messages = 100, seconds = 60 }  # default none
    language = "zh_Hant"            # the team addresses' language; default TIERING_LANGUAGE.
                                    # The assigned manager reads their own (managers.language)

    [smtp.to]                       # recipients per team; the notification's assigned manager
    PRIVATE_BANKING = ["pb-desk@bank.example"]   # (managers.email) gets it too

``${VAR}`` in any string is replaced by the environment variable ``VAR``, which is how
webhook keys, signing secrets and passwords stay out of the file; a variable that is not set
is an error naming it. Webhook URLs (they hold the robot's key), secrets and the password are
kept as ``SecretStr``: they do not show in ``repr``, logs or error messages. Unknown keys are
rejected, so a typo does not silently drop a channel.

A rate limit counts every request to the destination, retries included, in a sliding window
(:mod:`tiering.delivery.rate_limits`); webhooks that share a URL (one robot for two teams)
share its limit, so they must not set different ones.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tiering.core.kinds import Priority
from tiering.core.teams import Team
from tiering.i18n import LANGUAGES, Language, language_of
from tiering.notify.notification import Notification
from tiering.sinks.channels.errors import ChannelsConfigError

WebhookType = Literal["wecom", "dingtalk", "json"]
#: a webhook for every team
ANY_TEAM = "*"

# Closed choices spelled from the core's enumerations, so that a new team or priority needs no
# edit here; pydantic checks them as literals (its message lists the choices).
if TYPE_CHECKING:
    TeamOrAny = str
    PriorityName = str
else:
    TeamOrAny = Literal[(*(t.value for t in Team), ANY_TEAM)]
    PriorityName = Literal[tuple(p.name for p in Priority)]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An address without spaces or line breaks (which would let a value add mail headers).
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


def _language(value: Any) -> Any:
    """A supported language, or a locale tag that names one (``zh-CN``, ``zh-TW``, ``en``)."""
    if value is None:
        return None
    language = language_of(value) if isinstance(value, str) else None
    if language is None:
        raise ValueError(
            f"{value!r} is not one of {', '.join(LANGUAGES)} (Simplified Chinese, Traditional "
            "Chinese, English) nor a tag naming one, such as zh-CN, zh-TW or en"
        )
    return language


#: the language a channel's readers read; None: the deployment's (``TIERING_LANGUAGE``)
ChannelLanguage = Annotated[Language | None, BeforeValidator(_language)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    """At most ``messages`` requests in any ``seconds``."""

    messages: int = Field(ge=1, le=100_000)
    seconds: float = Field(gt=0, le=86_400)


#: WeCom group robots and DingTalk custom robots take 20 messages a minute each and refuse the
#: rest (WeCom errcode 45009; DingTalk errcode 130101, and it mutes the robot for 10 minutes)
ROBOT_RATE_LIMIT = RateLimit(messages=20, seconds=60)
_DEFAULT_RATE_LIMITS: dict[str, RateLimit | None] = {
    "wecom": ROBOT_RATE_LIMIT,
    "dingtalk": ROBOT_RATE_LIMIT,
    "json": None,
}


class WebhookConfig(_Strict):
    """One ``[[webhook]]`` entry."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)
    team: TeamOrAny
    type: WebhookType
    url: SecretStr
    secret: SecretStr | None = None
    min_priority: PriorityName = Priority.LOW.name
    rate_limit: RateLimit | None = None
    language: ChannelLanguage = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return url

    @model_validator(mode="after")
    def _secret_fits_type(self) -> WebhookConfig:
        if self.type == "wecom" and self.secret is not None:
            raise ValueError("secret: a WeCom robot does not sign requests; remove it")
        return self

    @property
    def channel(self) -> str:
        """The name in ``notification_channels`` and the logs."""
        return f"webhook:{self.name}"

    @property
    def effective_rate_limit(self) -> RateLimit | None:
        """``rate_limit``, or the default of the webhook's type (None: no limit)."""
        return self.rate_limit or _DEFAULT_RATE_LIMITS[self.type]

    def accepts(self, notification: Notification) -> bool:
        return self.team in (ANY_TEAM, notification.team) and notification.at_least(
            Priority[self.min_priority]
        )


class SmtpConfig(_Strict):
    """The ``[smtp]`` table."""

    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = Field(pattern=_ADDRESS.pattern)
    min_priority: PriorityName = Priority.HIGH.name
    to: dict[Team, list[str]] = Field(default_factory=dict)
    rate_limit: RateLimit | None = None
    language: ChannelLanguage = None

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: dict[Team, list[str]]) -> dict[Team, list[str]]:
        for team, addresses in to.items():
            for address in addresses:
                if not _ADDRESS.fullmatch(address):
                    raise ValueError(f"{team}: not an e-mail address")
        return to

    def accepts(self, notification: Notification) -> bool:
        return notification.at_least(Priority[self.min_priority])


class ChannelsConfig(_Strict):
    """The whole file; empty means the PostgreSQL inbox only."""

    webhook: list[WebhookConfig] = Field(default_factory=list)
    smtp: SmtpConfig | None = None

    @field_validator("webhook")
    @classmethod
    def _unique_names(cls, webhooks: list[WebhookConfig]) -> list[WebhookConfig]:
        names = [w.name for w in webhooks]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"names must be unique: {', '.join(duplicates)}")
        by_url: dict[str, list[WebhookConfig]] = {}
        for w in webhooks:
            by_url.setdefault(w.url.get_secret_value(), []).append(w)
        for sharing in by_url.values():
            if len({w.effective_rate_limit for w in sharing}) > 1:
                # Named by the webhooks: the URL holds the robot's key.
                raise ValueError(
                    f"{', '.join(w.name for w in sharing)} post to the same URL, so they share "
                    "one rate limit: give them the same rate_limit"
                )
        return webhooks

    def webhooks_for(self, notification: Notification) -> list[WebhookConfig]:
        """The webhooks this notification goes to (its team or "*", priority high enough)."""
        return [w for w in self.webhook if w.accepts(notification)]

    def secrets(self) -> list[str]:
        """Every secret value, for scrubbing text that came from outside before it is
        stored or logged."""
        values = [w.url.get_secret_value() for w in self.webhook]
        values += [w.url.get_secret_value().partition("?")[2] for w in self.webhook]
        values += [w.secret.get_secret_value() for w in self.webhook if w.secret is not None]
        if self.smtp is not None:
            values.append(self.smtp.password.get_secret_value())
        return sorted({v for v in values if v}, key=len, reverse=True)


def expand_variables(value: Any, environ: Mapping[str, str], where: str = "") -> Any:
    """``value`` with ``${VAR}`` replaced in every string, recursively through tables and
    arrays; ``where`` names the key in errors."""
    if isinstance(value, dict):
        return {k: expand_variables(v, environ, _join(where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _VARIABLE_NAME.fullmatch(name):
            raise ChannelsConfigError(f"{where}: ${{{name}}} is not a variable name")
        if name not in environ:
            raise ChannelsConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return _VARIABLE.sub(substitute, value)


def parse_channels(
    text: str, environ: Mapping[str, str] | None = None, source: str = "channels file"
) -> ChannelsConfig:
    """Parse and check the TOML text of a channels file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChannelsConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        expanded = expand_variables(raw, os.environ if environ is None else environ)
    except ChannelsConfigError as exc:
        raise ChannelsConfigError(f"{source}: {exc}") from None
    try:
        return ChannelsConfig.model_validate(expanded)
    except ValidationError as exc:
        # Pydantic's own text shows the input values, which may hold secrets: keys and
        # messages only.
        problems = "; ".join(
            f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise ChannelsConfigError(f"{source}: {problems}") from None


def load_channels(path: Path | None, environ: Mapping[str, str] | None = None) -> ChannelsConfig:
    """The channels of ``TIERING_CHANNELS_FILE``; ``None``: the PostgreSQL inbox only."""
    if path is None:
        return ChannelsConfig()
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ChannelsConfigError(f"channels file {path}: {exc.strerror or exc}") from None
    return parse_channels(text, environ, source=f"channels file {path}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out or "(file)"
