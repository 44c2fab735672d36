"""Who may use the UI: login users (``--auth``), and whether it may change the index (``--read-only``).

Why: anyone who can reach the port can ask, upload and delete documents. On this machine only
(loopback) that is the user; on any other address the server refuses to start without a login,
so a stray ``--host 0.0.0.0`` never publishes an open, writable index.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from qa.messages import one_line

AUTH_ENV = "ZHQA_UI_AUTH"          # USER:PASS[,USER:PASS...]
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class AccessError(ValueError):
    """A login option or the host is malformed, or the server would be open to the network without a login."""


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    h = host.strip().strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pair(text: str, where: str, hint: str = "") -> tuple[str, str]:
    """``(user, password)`` from ``USER:PASS``. Why ``where``: the message names the login by its place,
    never by its text, which holds a password (or, split at a comma, a piece of one) bound for logs."""
    user, sep, password = text.partition(":")
    user = user.strip()
    if not sep:
        raise AccessError(f"{where}: expected USER:PASS (a user name, a colon and a non-empty password){hint}")
    if not user or not password:
        raise AccessError(f"{where}: expected USER:PASS with a non-empty user and password")
    return user, password


def _env_logins(value: str) -> list[tuple[str, str]]:
    """The logins of ``ZHQA_UI_AUTH``, separated by commas (empty items skipped), each named by its place."""
    users = []
    for n, item in enumerate(value.split(","), 1):
        if item.strip():
            hint = (f"; {AUTH_ENV} separates logins by commas, so a password holding a comma goes in --auth "
                    "or --auth-file") if n > 1 else ""
            users.append(_pair(item.strip(), f"the {ordinal(n)} login in {AUTH_ENV}", hint))
    return users


def read_auth(values: list[str] | None = None, auth_file: str | None = None,
              env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The login users from ``--auth USER:PASS`` (repeatable; a comma is part of the password),
    ``--auth-file`` (one USER:PASS a line, ``#`` comments) and ``ZHQA_UI_AUTH`` (comma-separated);
    empty when none is given."""
    env = os.environ if env is None else env
    users: list[tuple[str, str]] = [_pair(v, f"the {ordinal(n)} --auth") for n, v in enumerate(values or [], 1)]
    if auth_file:
        p = Path(auth_file).expanduser()
        try:
            lines = p.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"--auth-file {p}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
        for n, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                users.append(_pair(line.strip(), f"--auth-file {p}:{n}"))
        if not users:
            raise AccessError(f"--auth-file {p}: no USER:PASS line in it")
    users += _env_logins(env.get(AUTH_ENV) or "")
    names = [u for u, _ in users]
    dup = next((u for u in names if names.count(u) > 1), None)
    if dup is not None:
        raise AccessError(f"login user {dup!r} is given more than once")
    return users


def check_host(host: str) -> None:
    """Refuse a ``--host`` that does not resolve, before the models load.

    Why: ``' 127.0.0.1 '`` (a stray space) passed as loopback, loaded the models, then failed with
    Gradio's "Cannot find empty port". Brackets go, as Gradio drops them; an empty host is Gradio's
    localhost (:func:`check_exposure` decides on it)."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not name:
        return
    try:
        socket.getaddrinfo(name, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, ValueError) as exc:   # ValueError: a NUL, or a label too long for IDNA
        blanks = " (it has blanks around it)" if name != name.strip() else ""
        reason = getattr(exc, "strerror", None) or one_line(exc)
        raise AccessError(f"--host {host!r}: name does not resolve{blanks}: {reason}") from None


def check_exposure(host: str, share: bool, users: list[tuple[str, str]]) -> None:
    """Refuse to serve beyond this machine without a login."""
    if users:
        return
    if share:
        raise AccessError("--share publishes the UI on the internet: give --auth USER:PASS "
                          f"(or --auth-file FILE, or {AUTH_ENV}) as well")
    if not is_loopback(host):
        raise AccessError(f"--host {host} exposes the UI to the network: give --auth USER:PASS "
                          f"(or --auth-file FILE, or {AUTH_ENV}), or bind 127.0.0.1")
