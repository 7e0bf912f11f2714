"""The channels file: shape, ${VAR} expansion, clear errors, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiering.sinks.channels.config import (
    ChannelsConfig,
    RateLimit,
    expand_variables,
    load_channels,
    parse_channels,
)
from tiering.sinks.channels.errors import ChannelsConfigError

ENV = {"WECOM_KEY": "wk-0123456789", "DING_SECRET": "SECd1ng", "SMTP_PASSWORD": "pw-s3cret"}

FULL = """
[[webhook]]
name = "wealth-wecom"
team = "WEALTH_TEAM"
type = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}"

[[webhook]]
name = "all-ding"
team = "*"
type = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=tok"
secret = "${DING_SECRET}"
min_priority = "HIGH"

[smtp]
host = "smtp.bank.example"
password = "${SMTP_PASSWORD}"
sender = "tiering@bank.example"

[smtp.to]
PRIVATE_BANKING = ["pb-desk@bank.example"]
"""


def test_full_file_with_defaults() -> None:
    config = parse_channels(FULL, ENV)
    wecom, ding = config.webhook
    assert wecom.channel == "webhook:wealth-wecom"
    assert wecom.url.get_secret_value().endswith("key=wk-0123456789")
    assert wecom.min_priority == "LOW"
    assert wecom.secret is None
    assert (ding.team, ding.type, ding.min_priority) == ("*", "dingtalk", "HIGH")
    assert ding.secret is not None
    assert ding.secret.get_secret_value() == "SECd1ng"
    assert config.smtp is not None
    assert (config.smtp.port, config.smtp.starttls, config.smtp.min_priority) == (25, False, "HIGH")
    assert config.smtp.password.get_secret_value() == "pw-s3cret"
    assert config.smtp.to == {"PRIVATE_BANKING": ["pb-desk@bank.example"]}


def test_no_file_is_the_inbox_only() -> None:
    assert load_channels(None) == ChannelsConfig()
    assert parse_channels("", {}) == ChannelsConfig()


def test_load_reads_the_file_and_names_it_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_text(FULL)
    assert len(load_channels(path, ENV).webhook) == 2
    with pytest.raises(ChannelsConfigError, match=r"channels file .*nope\.toml"):
        load_channels(tmp_path / "nope.toml", ENV)


def test_secrets_never_show_in_repr_or_str() -> None:
    config = parse_channels(FULL, ENV)
    for text in (repr(config), str(config), repr(config.webhook), repr(config.smtp)):
        for secret in ENV.values():
            assert secret not in text


def test_secrets_lists_every_secret_value_for_scrubbing() -> None:
    secrets = parse_channels(FULL, ENV).secrets()
    assert {"wk-0123456789", "SECd1ng", "pw-s3cret"} <= {
        s for s in ENV.values() if any(s in x for x in secrets)
    }
    assert "key=wk-0123456789" in secrets  # the query alone, as an error might quote it


def test_expansion_everywhere_and_several_per_string() -> None:
    value = {"a": ["${X}-${Y}", 3, {"b": "${X}"}], "c": "plain $X {X}"}
    assert expand_variables(value, {"X": "1", "Y": "2"}) == {
        "a": ["1-2", 3, {"b": "1"}],
        "c": "plain $X {X}",
    }


def test_missing_variable_is_named_with_its_key() -> None:
    env = {k: v for k, v in ENV.items() if k != "DING_SECRET"}
    with pytest.raises(ChannelsConfigError) as exc:
        parse_channels(FULL, env, source="channels.toml")
    assert str(exc.value) == (
        "channels.toml: webhook[1].secret: environment variable DING_SECRET is not set"
    )


def test_bad_variable_reference() -> None:
    with pytest.raises(ChannelsConfigError, match=r"smtp\.host: \$\{1X\} is not a variable"):
        parse_channels('[smtp]\nhost = "${1X}"\nsender = "a@b"', {})


def test_unknown_key_is_rejected_by_name() -> None:
    text = FULL.replace('min_priority = "HIGH"\n', 'min_priority = "HIGH"\ncolour = "red"\n', 1)
    with pytest.raises(ChannelsConfigError, match=r"webhook\[1\]\.colour: Extra inputs"):
        parse_channels(text, ENV)
    with pytest.raises(ChannelsConfigError, match=r"^channels file: slack: Extra inputs"):
        parse_channels('[slack]\nurl = "x"', ENV)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('type = "wecom"', 'type = "teams"'), r"webhook\[0\]\.type: Input should be 'wecom'"),
        (
            ('team = "WEALTH_TEAM"', 'team = "WEALTH"'),
            r"webhook\[0\]\.team: Input should be .* or '\*'$",
        ),
        (('name = "all-ding"', 'name = "wealth-wecom"'), r"webhook: .*unique: wealth-wecom"),
        (('min_priority = "HIGH"', 'min_priority = "high"'), r"webhook\[1\]\.min_priority"),
        (('host = "smtp.bank.example"', 'host = "smtp"\nport = 70000'), r"smtp\.port: .*65535"),
        (('url = "https://oapi', 'url = "ftp://oapi'), r"webhook\[1\]\.url: .*https://"),
        (('sender = "tiering@bank.example"', 'sender = "tiering"'), r"smtp\.sender"),
        (('["pb-desk@bank.example"]', '["pb desk"]'), r"smtp\.to: .*PRIVATE_BANKING"),
        (("PRIVATE_BANKING =", "VIP ="), r"smtp\.to\.VIP"),
    ],
)
def test_bad_values_name_their_key(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ChannelsConfigError, match=message):
        parse_channels(FULL.replace(*change, 1), ENV)


def test_wecom_with_a_secret_is_refused() -> None:
    text = FULL.replace('type = "wecom"\n', 'type = "wecom"\nsecret = "${DING_SECRET}"\n')
    with pytest.raises(ChannelsConfigError, match=r"webhook\[0\]: .*does not sign") as exc:
        parse_channels(text, ENV)
    assert "SECd1ng" not in str(exc.value)


def test_errors_never_quote_a_secret() -> None:
    # a URL with the key, refused for its scheme: the message names the key, not the value
    text = FULL.replace("https://qyapi", "qyapi")
    with pytest.raises(ChannelsConfigError) as exc:
        parse_channels(text, ENV)
    assert "wk-0123456789" not in str(exc.value)
    assert "webhook[0].url" in str(exc.value)


def test_not_toml() -> None:
    with pytest.raises(ChannelsConfigError, match="not valid TOML"):
        parse_channels("[[webhook]\n", {})


def test_robots_default_to_their_own_rate_limit_json_and_email_to_none() -> None:
    text = FULL + '\n[[webhook]]\nname = "audit"\nteam = "*"\ntype = "json"\nurl = "https://a/"\n'
    config = parse_channels(text, ENV)
    wecom, ding, audit = config.webhook
    assert wecom.effective_rate_limit == RateLimit(messages=20, seconds=60)
    assert ding.effective_rate_limit == RateLimit(messages=20, seconds=60)
    assert audit.effective_rate_limit is None
    assert config.smtp is not None
    assert config.smtp.rate_limit is None


def test_a_rate_limit_per_webhook_and_for_email() -> None:
    text = FULL.replace(
        'type = "wecom"\n', 'type = "wecom"\nrate_limit = { messages = 10, seconds = 30 }\n'
    ).replace("[smtp.to]", "rate_limit = { messages = 100, seconds = 60.5 }\n\n[smtp.to]")
    config = parse_channels(text, ENV)
    assert config.webhook[0].effective_rate_limit == RateLimit(messages=10, seconds=30)
    assert config.webhook[1].effective_rate_limit == RateLimit(messages=20, seconds=60)
    assert config.smtp is not None
    assert config.smtp.rate_limit == RateLimit(messages=100, seconds=60.5)


@pytest.mark.parametrize(
    ("rate_limit", "message"),
    [
        ("{ messages = 0, seconds = 60 }", r"webhook\[0\]\.rate_limit\.messages: .*greater than"),
        ("{ messages = 20, seconds = 0 }", r"webhook\[0\]\.rate_limit\.seconds: .*greater than"),
        ("{ messages = 20 }", r"webhook\[0\]\.rate_limit\.seconds: Field required"),
        ("{ messages = 20, seconds = 60, burst = 5 }", r"rate_limit\.burst: Extra inputs"),
        ('"20/min"', r"webhook\[0\]\.rate_limit: "),
    ],
)
def test_bad_rate_limits_name_their_key(rate_limit: str, message: str) -> None:
    text = FULL.replace('type = "wecom"\n', f'type = "wecom"\nrate_limit = {rate_limit}\n')
    with pytest.raises(ChannelsConfigError, match=message):
        parse_channels(text, ENV)


def test_webhooks_on_one_url_share_its_limit_and_may_not_set_different_ones() -> None:
    shared = """
    [[webhook]]
    name = "wealth"
    team = "WEALTH_TEAM"
    type = "wecom"
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}"

    [[webhook]]
    name = "private"
    team = "PRIVATE_BANKING"
    type = "wecom"
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}"
    """
    assert len(parse_channels(shared, ENV).webhook) == 2  # both the default: fine
    different = shared.rstrip() + "\n    rate_limit = { messages = 5, seconds = 60 }\n"
    with pytest.raises(ChannelsConfigError) as exc:
        parse_channels(different, ENV)
    assert "webhook: " in str(exc.value)
    assert "wealth, private post to the same URL" in str(exc.value)
    assert "wk-0123456789" not in str(exc.value)
