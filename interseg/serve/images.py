"""Fetching a task's image, and only from where the server was told it may.

A task's image URL is fetched only from the Label Studio instance that registered the server
(``/setup``'s ``hostname``, with its ``access_token``) or from an origin given with
``--allow-host``. Anything else — another host, ``file://``, a redirect to another origin — is
refused, so the server never becomes a proxy into the network it runs in. Downloads are capped in
bytes, and the decoded image in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from ..data.image_io import MAX_PIXELS, load_image_bytes
from ..errors import IntersegError

MAX_REDIRECTS = 3


class ServeError(IntersegError):
    """An error with the HTTP status the server answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (default ports made explicit), lower-case."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServeError(400, f"{url}: only http and https image URLs are fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


@dataclass
class ImageFetcher:
    """Downloads images from allowed origins. ``tokens`` maps an origin to its Label Studio token."""

    allowed: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)
    max_bytes: int = 64 << 20
    max_pixels: int = MAX_PIXELS
    timeout: float = 30.0

    def allow(self, base_url: str, token: str | None = None) -> str:
        """Allow an origin (a Label Studio instance from ``/setup``, or ``--allow-host``)."""
        o = origin(base_url)
        self.allowed.add(o)
        if token:
            self.tokens[o] = token
        return o

    def resolve(self, url: str, base: str | None) -> str:
        """An absolute URL; a relative one (``/data/upload/…``) is taken on ``base``."""
        if not isinstance(url, str) or not url:
            raise ServeError(400, f"the task's image is not a URL: {url!r}")
        if urlsplit(url).scheme:
            return url
        if base is None:
            raise ServeError(400, f"{url}: a relative image URL needs the Label Studio host (POST /setup first)")
        return urljoin(base.rstrip("/") + "/", url.lstrip("/"))

    def fetch(self, url: str):
        """The decoded RGB image at ``url``.

        Raises:
            ServeError: 403 for an origin not allowed (also after a redirect), 413 over the byte or pixel
                limit, 422 for an undecodable or truncated image, 502 when the download fails.
        """
        for _ in range(MAX_REDIRECTS + 1):
            o = origin(url)
            if o not in self.allowed:
                if not self.allowed:
                    raise ServeError(403, f"{url}: no image host is allowed yet: connect Label Studio (its /setup "
                                     f"call registers its host) or start the server with --allow-host URL")
                raise ServeError(403, f"{url}: images are fetched only from {', '.join(sorted(self.allowed))} "
                                 f"(the Label Studio host: --label-studio-url or /setup; or --allow-host)")
            headers = {"Authorization": f"Token {self.tokens[o]}"} if o in self.tokens else {}
            try:
                with httpx.stream("GET", url, headers=headers, timeout=self.timeout, follow_redirects=False) as r:
                    if r.is_redirect:
                        url = urljoin(url, r.headers.get("location", ""))
                        continue
                    if r.status_code != 200:
                        raise ServeError(502, f"{url}: the image host answered {r.status_code}")
                    size = int(r.headers.get("content-length") or 0)
                    if size > self.max_bytes:
                        raise ServeError(413, f"{url}: image of {size} bytes is over the limit of {self.max_bytes}")
                    data = bytearray()
                    for chunk in r.iter_bytes():
                        data += chunk
                        if len(data) > self.max_bytes:
                            raise ServeError(413, f"{url}: image is over the limit of {self.max_bytes} bytes")
            except httpx.HTTPError as e:
                raise ServeError(502, f"{url}: download failed ({e.__class__.__name__}: {e})") from None
            return decode(bytes(data), url, self.max_pixels)
        raise ServeError(502, f"{url}: more than {MAX_REDIRECTS} redirects")


def decode(data: bytes, source: str, max_pixels: int):
    """Decode image bytes; a too-large image is 413, an unreadable one 422."""
    try:
        return load_image_bytes(data, source, max_pixels)
    except IntersegError as e:
        raise ServeError(413 if "above the limit" in str(e) else 422, str(e)) from None
