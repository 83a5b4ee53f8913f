#!/usr/bin/env python3
"""Judges an OB 3.0 VC-JWT with a standard JOSE library (PyJWT) plus the
OB 3.0 VC-JWT rules (Open Badges 3.0 §8.2, "JSON Web Token Proof Format").

    vcjwt_verify.py <credential URL>     fetches the VC-JWT (Accept: application/jwt)
                                         and the JSON form, and compares them
    vcjwt_verify.py --token <VC-JWT>     judges a token given as is

The signing key is found the way an outsider must: by dereferencing the
header's `kid` URI to a JWK. Only loopback is fetched. Prints a JSON report;
exit status 0 when valid, 1 when not, 2 on misuse.
"""
import base64
import gzip
import ipaddress
import json
import re
import socket
import sys
from datetime import datetime
from urllib.parse import urlparse

import jwt
import requests

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = re.compile(r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$")


def loopback_get(url, **kwargs):
    host = urlparse(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise RuntimeError(f"offline judge: refusing non-loopback URL {url}")
    return requests.get(url, timeout=10, **kwargs)


def epoch(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def verify_jwt(token):
    """Verifies a VC-JWT against the JWK its kid names; answers its claims."""
    kid = jwt.get_unverified_header(token).get("kid")
    jwk = loopback_get(kid).json()
    key = jwt.PyJWK({k: v for k, v in jwk.items() if k in ("kty", "n", "e", "kid", "alg", "use")}).key
    return jwt.decode(token, key=key, algorithms=["RS256"], options={"verify_aud": False})


def check_status(credential, issuer_id):
    """Every status entry: a W3C Bitstring Status List v1.0 bit (revocation
    purpose; the issuer-signed list is verified) and a 1EdTech revocation
    list (the credential's id among `revokedCredentials`)."""
    status = credential.get("credentialStatus")
    if not status:
        return []
    entries = status if isinstance(status, list) else [status]
    errors = []
    for entry in entries:
        if entry.get("type") == "BitstringStatusListEntry" and entry.get("statusPurpose") == "revocation":
            errors += check_bitstring(entry, issuer_id)
        elif entry.get("type") == "1EdTechRevocationList":
            errors += check_1edtech_list(entry, credential, issuer_id)
        else:
            errors.append(f"unsupported credentialStatus: {entry}")
    return errors


def check_1edtech_list(entry, credential, issuer_id):
    try:
        listing = loopback_get(entry["id"], headers={"Accept": "application/json"}).json()
    except Exception as e:
        return [f"1EdTech revocation list could not be read: {e}"]
    if listing.get("issuer") != issuer_id:
        return [f"the 1EdTech revocation list's issuer {listing.get('issuer')!r} is not {issuer_id!r}"]
    revoked = listing.get("revokedCredentials", [])
    revoked = revoked if isinstance(revoked, list) else [revoked]
    ids = {r.get("id") if isinstance(r, dict) else r for r in revoked}
    if credential.get("id") in ids:
        return [f"revoked: listed in {entry['id']}"]
    return []


def check_bitstring(status, issuer_id):
    try:
        list_token = loopback_get(status["statusListCredential"], headers={"Accept": "application/jwt"}).text.strip()
        status_list = verify_jwt(list_token)
    except Exception as e:
        return [f"status list could not be verified: {e}"]
    errors = []
    if "BitstringStatusListCredential" not in status_list.get("type", []):
        errors.append("the status list is not a BitstringStatusListCredential")
    list_issuer = status_list.get("issuer")
    list_issuer = list_issuer.get("id") if isinstance(list_issuer, dict) else list_issuer
    if list_issuer != issuer_id:
        errors.append(f"the status list's issuer {list_issuer!r} is not the credential's {issuer_id!r}")
    subject = status_list.get("credentialSubject", {})
    encoded = subject.get("encodedList", "")
    if not encoded.startswith("u"):
        return errors + ["encodedList is not multibase base64url"]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    if len(bits) * 8 < 131072:
        errors.append("the status list is shorter than 131072 bits")
    index = int(status["statusListIndex"])
    if bits[index // 8] & (0x80 >> (index % 8)):
        errors.append(f"revoked: bit {index} is set in {status['statusListCredential']}")
    return errors


def judge(token, json_form=None):
    errors = []
    header = jwt.get_unverified_header(token)
    if set(header) - {"alg", "kid", "typ"}:
        errors.append(f"header has fields other than alg, kid, typ: {sorted(header)}")
    if header.get("alg") != "RS256":
        errors.append(f"alg must be RS256, is {header.get('alg')!r}")
    if "jwk" in header and "d" in header["jwk"]:
        errors.append("header jwk carries a private key")
    kid = header.get("kid")
    if not kid or not urlparse(kid).scheme.startswith("http"):
        errors.append("kid must be a URI that dereferences to a JWK")
        return errors, None
    jwk = loopback_get(kid).json()
    key = jwt.PyJWK({k: v for k, v in jwk.items() if k in ("kty", "n", "e", "kid", "alg", "use")}).key
    try:
        claims = jwt.decode(token, key=key, algorithms=["RS256"], options={"verify_aud": False, "require": ["iss", "nbf", "jti"]})
    except jwt.PyJWTError as e:
        errors.append(f"signature or registered claims: {e}")
        return errors, None
    credential = claims.get("vc", claims)
    # Structure (OB 3.0 OpenBadgeCredential, VCDM 2.0 form).
    contexts = credential.get("@context", [])
    if len(contexts) < 2 or contexts[0] != VC_V2 or not OB3_CONTEXT.match(contexts[1]):
        errors.append(f"@context must start with the VC v2 and OB 3.0 contexts, in order: {contexts}")
    types = credential.get("type", [])
    if "VerifiableCredential" not in types or not ({"OpenBadgeCredential", "AchievementCredential"} & set(types)):
        errors.append(f"type must include VerifiableCredential and OpenBadgeCredential: {types}")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not issuer_id:
        errors.append("issuer id is missing")
    if not credential.get("validFrom"):
        errors.append("validFrom is missing")
    subject = credential.get("credentialSubject", {})
    if "AchievementSubject" not in subject.get("type", []):
        errors.append("credentialSubject.type must include AchievementSubject")
    if not subject.get("id") and not subject.get("identifier"):
        errors.append("credentialSubject needs an id or an identifier")
    achievement = subject.get("achievement", {})
    for field in ("id", "type", "name", "description", "criteria"):
        if field not in achievement:
            errors.append(f"achievement.{field} is missing")
    # The JWT claims must equal the credential's own fields.
    if claims.get("iss") != issuer_id:
        errors.append(f"iss {claims.get('iss')!r} != issuer.id {issuer_id!r}")
    if claims.get("jti") != credential.get("id"):
        errors.append(f"jti {claims.get('jti')!r} != id {credential.get('id')!r}")
    if credential.get("validFrom") and claims.get("nbf") != epoch(credential["validFrom"]):
        errors.append("nbf != validFrom")
    if subject.get("id") and claims.get("sub") != subject["id"]:
        errors.append("sub != credentialSubject.id")
    if credential.get("validUntil") and claims.get("exp") != epoch(credential["validUntil"]):
        errors.append("exp != validUntil")
    errors.extend(check_status(credential, issuer_id))
    if json_form is not None:
        # The JSON form may carry a Data Integrity proof; all else must be equal.
        stripped = {k: v for k, v in credential.items() if k not in ("iss", "jti", "nbf", "sub", "exp", "iat")}
        json_form = {k: v for k, v in json_form.items() if k != "proof"}
        if stripped != json_form:
            errors.append("the JSON form served differs from the signed credential")
    return errors, credential


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--token":
        token, json_form = args[1], None
    elif len(args) == 1:
        token = loopback_get(args[0], headers={"Accept": "application/jwt"}).text.strip()
        json_form = loopback_get(args[0], headers={"Accept": "application/json"}).json()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        errors, credential = judge(token, json_form)
    except Exception as e:  # a malformed token is a verdict, not a crash
        errors, credential = [f"{type(e).__name__}: {e}"], None
    print(json.dumps({"valid": not errors, "errors": errors,
                      "kid": jwt.get_unverified_header(token).get("kid") if token.count(".") == 2 else None,
                      "id": credential.get("id") if credential else None}, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
