#!/usr/bin/env python3
"""Runs the 1EdTech Open Badges validator (PyPI `openbadges` 1.1.2) on one
badge, offline, and prints its report as JSON.

    ob2_validate.py <assertion URL> [recipient e-mail]

The validator fetches https://w3id.org/openbadges/v2 for every node and has
no option for a local copy, so this wrapper answers that URL from the
validator's own bundled context and refuses every other non-loopback
address: the judge sees only what our stack serves on this machine.
The first argument may also be a compact JWS (a signed badge), or the path
of a baked PNG or SVG image.

Three repairs of defects in the validator and bakery, each narrow; the checks themselves are
unchanged:
1. It turns the key's PEM into a pycryptodome key object before handing it
   to python-jose, which version 3.3 (the one that installs on Python 3.11)
   cannot read, so every signed badge would fail. Jose gets the PEM text.
2. It allows a single `publicKey` on an issuer Profile, although the OB 2.0
   spec says "The key(s) an issuer uses to sign Assertions" and its own key
   ownership check reads the property as a list. An issuer that has rotated
   its key must list the retired keys too, or what they signed would stop
   verifying; the rule is made many-valued, as the spec has it.
3. openbadges-bakery 1.2.4 returns bytes for a baked SVG on Python 3, which
   the validator's input detection does not recognise; the bytes are
   decoded to text before the validator reads them.

Exit status: 0 when the validator says valid, 1 when it does not, 2 on misuse.
"""
import ipaddress
import json
import os
import socket
import sys
from urllib.parse import urlparse

import requests
from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT

CONTEXT_URLS = {
    "https://w3id.org/openbadges/v2",
    "https://openbadgespec.org/v2/context.json",
    "https://w3id.org/openbadges/v2/",
}

_original_send = requests.adapters.HTTPAdapter.send


def _is_loopback(host):
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _offline_send(self, request, *args, **kwargs):
    """Transport-level stand-in: the context from the validator's own copy,
    loopback as usual, anything else refused."""
    if request.url in CONTEXT_URLS:
        response = requests.models.Response()
        response.status_code = 200
        response.url = request.url
        response.request = request
        response.headers["Content-Type"] = "application/ld+json"
        response._content = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
        response.encoding = "utf-8"
        response.reason = "OK"
        return response
    host = urlparse(request.url).hostname or ""
    if not _is_loopback(host):
        raise requests.exceptions.ConnectionError(f"offline judge: refusing non-loopback URL {request.url}")
    return _original_send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = _offline_send


class _PemForJose:
    """Stands in for Crypto.PublicKey.RSA in the validator's crypto task."""

    @staticmethod
    def import_key(pem):
        return pem if isinstance(pem, str) else pem.decode()


def _repair_signed_badge_check():
    import openbadges.verifier.tasks.crypto as ob_crypto
    from openbadges.verifier.tasks import validation

    ob_crypto.RSA = _PemForJose

    from openbadges.verifier import verifier as ob_verifier

    original_unbake = ob_verifier.unbake

    def unbake_as_text(image):
        baked = original_unbake(image)
        return baked.decode("utf-8") if isinstance(baked, bytes) else baked

    ob_verifier.unbake = unbake_as_text

    original_init = validation.ClassValidators.__init__

    def init_with_many_public_keys(self, class_name, *args, **kwargs):
        original_init(self, class_name, *args, **kwargs)
        for rule in getattr(self, "validators", []):
            if rule.get("prop_name") == "publicKey":
                rule["many"] = True

    validation.ClassValidators.__init__ = init_with_many_public_keys


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    from openbadges import verify

    _repair_signed_badge_check()

    recipient_profile = {"email": sys.argv[2]} if len(sys.argv) == 3 else None
    badge_input = sys.argv[1]
    if os.path.isfile(badge_input):
        # A baked image: the validator reads the file itself.
        badge_input = open(badge_input, "rb")
    report = verify(badge_input, recipient_profile=recipient_profile)
    summary = report.get("report", {})
    errors = [m for m in summary.get("messages", []) if m.get("messageLevel") == "ERROR"]
    print(json.dumps({
        "valid": bool(summary.get("valid")) and not errors,
        "errorCount": summary.get("errorCount"),
        "warningCount": summary.get("warningCount"),
        "recipientProfile": summary.get("recipientProfile"),
        "messages": summary.get("messages", []),
    }, indent=2, default=str))
    return 0 if summary.get("valid") and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
