"""Who may talk to the server: HTTP Basic Auth on every endpoint but ``/health``.

Label Studio's model connection can send Basic Auth (its ``auth_method`` ``BASIC_AUTH`` with a user
and a password); so can ``curl -u``. The credentials come from ``--basic-auth USER:PASS`` or the
environment variable ``INTERSEG_BASIC_AUTH``; a server that listens beyond the loopback interface
refuses to start without them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os

from ..errors import ConfigError

ENV_VAR = "INTERSEG_BASIC_AUTH"
OPEN_PATHS = frozenset({"/health", "/"})


def parse_credentials(text: str | None, source: str = "--basic-auth") -> tuple[str, str] | None:
    """``"USER:PASS"`` → ``(user, password)``; ``None``/empty → ``None``."""
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ConfigError(f"{source}: expected USER:PASS with a non-empty user and password")
    return user, password


def credentials_from(arg: str | None) -> tuple[str, str] | None:
    """The command line's ``--basic-auth``, else ``$INTERSEG_BASIC_AUTH``."""
    if arg:
        return parse_credentials(arg)
    return parse_credentials(os.environ.get(ENV_VAR), ENV_VAR)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (the address the server listens on) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorized(header: str | None, credentials: tuple[str, str]) -> bool:
    """Whether an ``Authorization`` header carries exactly these Basic credentials (compared in
    constant time)."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{credentials[0]}:{credentials[1]}".encode()
    return hmac.compare_digest(given, expected)
