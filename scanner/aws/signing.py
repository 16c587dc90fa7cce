"""SigV4 signing with less repeated work: botocore's signer, computing each part once.

botocore's ``SigV4Auth`` builds the signed headers twice per request (for the canonical request
and again for the Authorization header), and hashes the payload by preparing the whole request
(URL, headers and body) to read its body. At ~30 signed requests per account that is about a
twentieth of a scan's CPU. ``ScanSigV4Auth`` keeps botocore's code for every part and only
remembers the signed headers within one signing and hashes a JSON body from the bytes the
serializer produced; it signs exactly as botocore does (tests/aws/test_signing.py compares the
two on every protocol the scan uses, and the simulator checks the signatures with moto's own
SigV4 verification when it authenticates).
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256
from typing import Any

import botocore.auth
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth


class _SignedHeaders(dict[str, list[str]]):
    """The headers to sign, by lower-case name: what botocore's ``HTTPHeaders`` (an
    ``email.message.Message``) holds for the signer, without the email package's per-header
    policy calls. ``get_all`` is the one lookup the signer makes of it."""

    def get_all(self, name: str) -> list[str] | None:
        return self.get(name)


@lru_cache(maxsize=256)
def _host(url: str) -> str:
    """botocore's Host value for a URL (a client sends to a handful of URLs)."""
    auth: Any = botocore.auth  # a private helper, absent from the stubs
    host: str = auth._host_from_url(url)
    return host


class ScanSigV4Auth(SigV4Auth):
    """botocore's SigV4 signer; a fresh instance signs each request (as botocore makes one)."""

    _signed: _SignedHeaders | None = None  # the signed headers of the signing under way

    def add_auth(self, request: Any) -> None:
        # The headers are read once the date and token headers are set (inside add_auth) and
        # not changed again before the Authorization header is made: one build serves both.
        self._signed = None
        try:
            super().add_auth(request)
        finally:
            self._signed = None

    def headers_to_sign(self, request: Any) -> Any:
        """botocore's selection (every header but a few, by lower-case name, and the Host
        derived from the URL when the request has none), once per signing."""
        if self._signed is None:
            signed = _SignedHeaders()
            for name, value in request.headers.items():
                lname = name.lower()
                if lname not in SIGNED_HEADERS_BLACKLIST:
                    signed.setdefault(lname, []).append(value)
            if "host" not in signed:
                signed["host"] = [_host(request.url)]
            self._signed = signed
        return self._signed

    def payload(self, request: Any) -> str:
        data = request.data
        me: Any = self  # botocore's private checks, absent from the stubs
        # A serialized JSON or XML body is bytes already: what ``request.body`` would prepare
        # the whole request to return. Streams, form fields and unsigned payloads are
        # botocore's.
        if (type(data) is bytes and data and not me._is_streaming_checksum_payload(request)
                and me._should_sha256_sign_payload(request)):
            return sha256(data).hexdigest()
        result: str = super().payload(request)
        return result


def sign_faster(client: Any) -> None:
    """Have ``client`` sign SigV4 with ``ScanSigV4Auth``: its signer's auth instances, made per
    request, become the subclass when botocore chose exactly ``SigV4Auth`` (other signature
    versions, S3's among them, are left as they are)."""
    signer: Any = client._request_signer
    make = signer.get_auth_instance

    async def get_auth_instance(*args: Any, **kwargs: Any) -> Any:
        auth = await make(*args, **kwargs)
        if type(auth) is SigV4Auth:
            auth.__class__ = ScanSigV4Auth  # same state, the subclass's methods
        return auth

    # An instance attribute: the signer's own sign() finds it first.
    signer.get_auth_instance = get_auth_instance
