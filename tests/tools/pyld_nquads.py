"""Writes PyPI pyld's URDNA2015 N-Quads of each fixture next to it (`*.nq`).

Run by hand when a fixture changes (pyld 3.3.0 in any venv); the .nq files
are committed, and akashi-ld's test compares its own output to them byte for
byte. Contexts come from akashi-ld's bundle, never the network.
"""
import json, pathlib, sys
from pyld import jsonld

LD = pathlib.Path(__file__).resolve().parents[2] / "shared" / "akashi-ld"
BUNDLE = {
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
}

def loader(url, options=None):
    name = BUNDLE.get(url)
    if name is None:
        raise RuntimeError(f"not bundled: {url}")
    doc = json.loads((LD / "contexts" / name).read_text())
    return {"contextUrl": None, "documentUrl": url, "document": doc}

for path in sorted((LD / "tests" / "fixtures").glob("*.json")):
    doc = json.loads(path.read_text())
    nq = jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader})
    path.with_suffix(".nq").write_text(nq)
    print(path.name, len(nq.splitlines()), "quads", file=sys.stderr)
