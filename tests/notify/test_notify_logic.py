"""Pure logic of the notifications: back-off, which SMTP and push answers are final, the rendered MIME, the
``[smtp]`` and ``[push]`` configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib
import pytest
from pydantic import ValidationError

from veche.base.notify.mime import message_id_for, render_mail
from veche.base.notify.smtp_sender import classify_error
from veche.base.notify.webpush import result_of_status
from veche.config.notify import RetryPolicy, SmtpConfig
from veche.config.settings import load_settings
from veche.domain.notifications import MailAttachment, OutgoingMail

DATE = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_back_off_doubles_up_to_the_cap() -> None:
    retry = RetryPolicy(initial_s=30, max_s=600, give_up_after_s=86400)
    assert [retry.delay_s(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    assert retry.delay_s(10_000) == 600


def test_only_a_5xx_answer_to_the_mail_is_final() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@y")])
    assert classify_error(refused).permanent and "550 no such user" in classify_error(refused).error
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "later", "x@y")])
    assert not classify_error(busy).permanent
    assert classify_error(aiosmtplib.SMTPDataError(554, "spam")).permanent
    assert not classify_error(aiosmtplib.SMTPDataError(452, "full")).permanent
    assert not classify_error(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")).permanent
    assert not classify_error(aiosmtplib.SMTPConnectError("refused")).permanent
    assert not classify_error(aiosmtplib.SMTPServerDisconnected("gone")).permanent
    assert not classify_error(TimeoutError()).permanent


def test_push_service_answers() -> None:
    assert result_of_status(201).status == "sent"
    assert result_of_status(410).status == result_of_status(404).status == "gone"
    assert result_of_status(429).status == result_of_status(503).status == "retry"
    assert result_of_status(403).status == result_of_status(413).status == "failed"


def test_rendered_mail_has_a_message_id_from_its_key_and_the_calendar_inline() -> None:
    calendar = MailAttachment("invite.ics", 'text/calendar; method=REQUEST; charset="utf-8"', b"BEGIN:VCALENDAR\r\n")
    pdf = MailAttachment("agenda.pdf", "application/pdf", b"%PDF-1.4")
    mail = OutgoingMail(
        key="meeting:12:seq:3:alice@example.org",
        to="alice@example.org",
        subject="Приглашение",
        text="Hello",
        html="<p>Hello</p>",
        calendar=calendar,
        attachments=(pdf,),
        headers=(("Reply-To", "owner@example.org"),),
    )
    data = render_mail(mail, sender="Veche <veche@example.org>", domain="example.org", date=DATE)
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["Message-ID"] == message_id_for(mail.key, "example.org")
    assert message_id_for(mail.key, "example.org") != message_id_for(mail.key + "x", "example.org")
    assert parsed["Subject"] == "Приглашение" and parsed["Reply-To"] == "owner@example.org"
    parts = {p.get_content_type(): p for p in parsed.walk()}
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert parts["application/pdf"].get_filename() == "agenda.pdf"
    assert parts["application/pdf"].get_content() == b"%PDF-1.4"


@pytest.mark.parametrize(
    ("to", "headers"),
    [
        ("alice@example.org\r\nBcc: eve@example.org", ()),
        ("alice@example.org, eve@example.org", ()),
        ("nobody", ()),
        ("alice@example.org", (("X-Note", "a\r\nBcc: eve@example.org"),)),
        ("alice@example.org", (("From", "eve@example.org"),)),
    ],
)
def test_header_injection_and_several_recipients_are_refused(to: str, headers: tuple[tuple[str, str], ...]) -> None:
    mail = OutgoingMail(key="k", to=to, subject="s", text="t", headers=headers)
    with pytest.raises(ValueError):
        render_mail(mail, sender="veche@example.org", domain="example.org", date=DATE)


def test_smtp_config_defaults_and_checks(tmp_path: Path) -> None:
    assert SmtpConfig().host == "" and SmtpConfig().security == "starttls"
    assert [SmtpConfig(security=s).effective_port for s in ("none", "starttls", "tls")] == [25, 587, 465]
    assert SmtpConfig.model_validate({"from": "Ops <ops@example.org>"}).sender_domain == "example.org"
    with pytest.raises(ValidationError, match="not a mail address"):
        SmtpConfig.model_validate({"from": "nobody"})
    with pytest.raises(ValidationError, match="needs smtp.username"):
        SmtpConfig(password_file=tmp_path / "p")
    with pytest.raises(ValidationError):
        SmtpConfig.model_validate({"security": "ssl"})


def test_the_smtp_section_of_the_configuration_file(tmp_path: Path) -> None:
    password = tmp_path / "smtp-password"
    password.write_text("s3cret\n")
    config = tmp_path / "veche.toml"
    config.write_text(
        "[smtp]\n"
        'host = "mail.example.org"\nport = 2525\nsecurity = "tls"\nusername = "veche"\n'
        f'password_file = "{password}"\nfrom = "Veche <veche@example.org>"\n'
        "[push]\nttl_s = 600\n"
    )
    settings = load_settings(config, data_dir=tmp_path)
    assert (settings.smtp.host, settings.smtp.effective_port, settings.smtp.security) == (
        "mail.example.org",
        2525,
        "tls",
    )
    assert settings.smtp.from_ == "Veche <veche@example.org>" and settings.smtp.password() == "s3cret"
    assert settings.push.ttl_s == 600
    config.write_text('[smtp]\nhots = "typo"\n')
    with pytest.raises(ValidationError):
        load_settings(config, data_dir=tmp_path)
