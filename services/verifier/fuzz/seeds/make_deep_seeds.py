#!/usr/bin/env python3
"""Writes deep-structure seeds for every fuzz target into <corpus root>/<target>/.

Deep nesting and long chains are where recursive parsers overflow their
stack (the security review killed the verifier with a 3,000-node blank-node
chain), and random mutation rarely builds them from nothing: each target
starts from such shapes and mutates around them.
"""
import json
import os
import sys

root = sys.argv[1]


def write(target, name, data):
    directory = os.path.join(root, target)
    os.makedirs(directory, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(directory, name), mode) as f:
        f.write(data)


OB3 = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "id": "http://127.0.0.1:8082/ob3/credentials/1",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "http://127.0.0.1:8082/ob3/issuers/1", "type": ["Profile"], "name": "U", "parentOrg": "_:b0"},
    "validFrom": "2026-11-27T00:00:00Z",
    "credentialSubject": {"type": ["AchievementSubject"], "achievement": {
        "id": "http://127.0.0.1:8082/ob2/badges/1", "type": ["Achievement"], "name": "n",
        "description": "d", "criteria": {"narrative": "c"}}},
}

# json_ld: blank-node chains (the review's attack), many identical nodes,
# and deeply nested JSON objects.
for length in (50, 600, 3000):
    doc = json.loads(json.dumps(OB3))
    doc["evidence"] = [{"id": f"_:b{i}", "type": ["Profile"], "parentOrg": f"_:b{i + 1}"} for i in range(length)]
    write("json_ld", f"blank-chain-{length}.json", json.dumps(doc))
doc = json.loads(json.dumps(OB3))
doc["evidence"] = [{"type": ["Evidence"], "name": "same"} for _ in range(800)]
write("json_ld", "identical-nodes.json", json.dumps(doc))
write("json_ld", "deep-object.json", '{"a":' * 120 + "1" + "}" * 120)

# verify_request: deeply nested credential JSON and a JWS with a deep payload.
write("verify_request", "deep-credential.json", '{"credential":' + '{"a":' * 126 + "1" + "}" * 127)
write("verify_request", "deep-array.json", '{"credential":' + "[" * 126 + "]" * 126 + "}")
write("verify_request", "deep-jws.txt", "eyJhbGciOiJSUzI1NiJ9." + "eyJhIjp7ImEiOnsiYSI6eyJhIjp7fX19fX0" + ".c2ln")

# proof_value: CBOR nested as deep as a receipt could be made to go.
write("proof_value", "deep-cbor.bin", b"z" + b"\x81" * 2000 + b"\x00")

# badge_image and baked_image: nested <g>, a <use> bomb, a huge PNG header.
svg_open = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
write("badge_image", "deep-groups.svg", svg_open + "<g>" * 5000 + "</g>" * 5000 + "</svg>")
bomb = svg_open + '<defs><rect id="l0" width="1" height="1"/>'
for level in range(1, 8):
    bomb += f'<g id="l{level}">' + f'<use xlink:href="#l{level - 1}"/>' * 10 + "</g>"
bomb += '</defs><use xlink:href="#l7"/></svg>'
write("badge_image", "use-bomb.svg", bomb)
write("badge_image", "use-cycle.svg", svg_open + '<g id="a"><use xlink:href="#a"/></g></svg>')
png_header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + (20000).to_bytes(4, "big") * 2 + bytes([8, 6, 0, 0, 0, 0, 0, 0, 0])
write("badge_image", "huge-header.png", png_header)
write("baked_image", "deep-groups.svg", svg_open + "<g>" * 5000 + "</g>" * 5000 + "</svg>")
write("baked_image", "huge-header.png", png_header)
