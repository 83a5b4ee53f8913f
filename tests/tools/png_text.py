"""Prints the text chunks of a PNG (read with PyPI pypng) as JSON:
[{"type": "iTXt", "keyword": ..., "compressed": bool, "text": ...}, ...].
An independent reader for OB 3.0 baked images, which openbadges-bakery
does not know (research notes, openbadges: baking 3.0).

    python png_text.py <file.png>
"""
import json, sys, zlib
import png

found = []
for kind, data in png.Reader(filename=sys.argv[1]).chunks():
    kind = kind.decode("latin-1")
    if kind == "iTXt":
        keyword, rest = data.split(b"\0", 1)
        compressed, method = rest[0], rest[1]
        language, rest = rest[2:].split(b"\0", 1)
        translated, text = rest.split(b"\0", 1)
        if compressed:
            text = zlib.decompress(text)
        found.append({"type": kind, "keyword": keyword.decode("latin-1"),
                      "compressed": bool(compressed), "text": text.decode("utf-8")})
    elif kind == "tEXt":
        keyword, text = data.split(b"\0", 1)
        found.append({"type": kind, "keyword": keyword.decode("latin-1"),
                      "compressed": False, "text": text.decode("latin-1")})
print(json.dumps(found))
