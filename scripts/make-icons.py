"""Draws the app icons (a white cross on teal) as PNGs with the standard library only.

Run once when the icon changes: python3 scripts/make-icons.py. The PNGs are committed.
"""
import struct
import zlib

TEAL = (11, 94, 99)
WHITE = (255, 255, 255)


def png(path, size, rows):
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def icon(size, maskable):
    # A maskable icon keeps its mark inside the central 80% safe zone and bleeds to the edge.
    radius = 0 if maskable else size * 0.18
    arm = size * (0.11 if maskable else 0.14)
    reach = size * (0.24 if maskable else 0.30)
    c = size / 2
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            dx, dy = abs(x + 0.5 - c), abs(y + 0.5 - c)
            inside = True
            if radius:
                ex, ey = max(dx - (c - radius), 0), max(dy - (c - radius), 0)
                inside = ex * ex + ey * ey <= radius * radius
            cross = (dx <= arm and dy <= reach) or (dy <= arm and dx <= reach)
            row.append(WHITE if (not inside or cross) else TEAL)
        rows.append(row)
    return rows


for name, size, maskable in [("icon-192", 192, False), ("icon-512", 512, False), ("icon-maskable-512", 512, True)]:
    png(f"public/icons/{name}.png", size, icon(size, maskable))
