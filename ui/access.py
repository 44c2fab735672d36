"""Who may use the UI: login users (``--auth``), and whether it may change the index (``--read-only``).

Why: anyone who can reach the port can ask, upload and delete documents. On this machine only
(loopback) that is the user; on any other address the server refuses to start without a login,
so a stray ``--host 0.0.0.0`` never publishes an open, writable index.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path

AUTH_ENV = "ZHQA_UI_AUTH"          # USER:PASS[,USER:PASS...]
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class AccessError(ValueError):
    """A login option is malformed, or the server would be open to the network without one."""


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    h = host.strip().strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    user = user.strip()
    if not sep or not user or not password:
        raise AccessError(f"{where}: expected USER:PASS (a user name and a non-empty password), got {text!r}"
                          if ":" not in text else f"{where}: expected USER:PASS with a non-empty user and password")
    return user, password


def read_auth(values: list[str] | None = None, auth_file: str | None = None,
              env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The login users from ``--auth USER:PASS`` (repeatable), ``--auth-file`` (one USER:PASS a line,
    ``#`` comments) and ``ZHQA_UI_AUTH`` (comma-separated); empty when none is given."""
    env = os.environ if env is None else env
    users: list[tuple[str, str]] = [_pair(v, "--auth") for v in values or []]
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
    for item in (env.get(AUTH_ENV) or "").split(","):
        if item.strip():
            users.append(_pair(item.strip(), AUTH_ENV))
    names = [u for u, _ in users]
    dup = next((u for u in names if names.count(u) > 1), None)
    if dup is not None:
        raise AccessError(f"login user {dup!r} is given more than once")
    return users


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
