#!/usr/bin/env python3
"""Reads the Open Badge baked into a PNG or SVG with openbadges-bakery (the
reference baking library) and prints it; exit 1 when nothing is baked in.

    unbake.py <image file>
"""
import sys

from openbadges_bakery import unbake


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as image:
        baked = unbake(image)
    if not baked:
        return 1
    # Bakery answers text for PNG and bytes for SVG.
    print(baked.decode("utf-8") if isinstance(baked, bytes) else baked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
