"""Render ``services/templates/email/<name>.subject.txt|.txt|.html`` into one MIME message."""

from __future__ import annotations

import functools
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"


class UnknownTemplate(LookupError):
    pass


@functools.cache
def _environments() -> tuple[Environment, Environment]:
    loader = FileSystemLoader(TEMPLATE_DIR)
    plain = Environment(loader=loader, undefined=StrictUndefined, autoescape=False)
    html = Environment(loader=loader, undefined=StrictUndefined, autoescape=True)
    return plain, html


def render(template: str, context: dict, sender: str, to: str) -> EmailMessage:
    """A multipart/alternative message (text, and HTML when the template has one)."""
    plain, html = _environments()
    try:
        subject = plain.get_template(f"{template}.subject.txt").render(context)
        text_body = plain.get_template(f"{template}.txt").render(context)
    except TemplateNotFound as exc:
        raise UnknownTemplate(f"no email template named {template!r}") from exc
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(" >") or None)
    message.set_content(text_body, cte=transfer_encoding(text_body))
    try:
        html_body = html.get_template(f"{template}.html").render(context)
    except TemplateNotFound:
        return message
    message.add_alternative(html_body, subtype="html", cte=transfer_encoding(html_body))
    return message


# RFC 5322: a line is at most 998 octets.
_MAX_LINE_OCTETS = 998


def transfer_encoding(body: str) -> str:
    """7bit or 8bit whenever the lines allow it, so the links in the raw message are the links
    a reader clicks (quoted-printable would break a long ``?token=`` link with ``=`` soft line
    breaks and turn its ``=`` into ``=3D``); quoted-printable only for overlong lines."""
    if any(len(line.encode()) > _MAX_LINE_OCTETS for line in body.splitlines()):
        return "quoted-printable"
    return "7bit" if body.isascii() else "8bit"


def subject_of(template: str, context: dict) -> str:
    plain, _ = _environments()
    try:
        return " ".join(plain.get_template(f"{template}.subject.txt").render(context).split())
    except TemplateNotFound as exc:
        raise UnknownTemplate(f"no email template named {template!r}") from exc
