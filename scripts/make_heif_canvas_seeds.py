#!/usr/bin/python3
"""Variants of fuzz_image_decode's libheif findings for the HEIF derived-image checks
(core/image/heif_canvas.cpp), written next to them in tests/data/heif-derived/ (read by
test_image_heif; not fuzz seeds: CI's 15-second fuzz smoke, started from them, found a
new libheif abort at once; add them to a long campaign's corpus by hand):

    /usr/bin/python3 scripts/make_heif_canvas_seeds.py

The finding (regression-heic-grid-canvas-crashes-libheif.heic, 608 bytes) is a HEIC whose
primary image is a 1x1 'grid' declared 16x16 (its ispe) whose own data asks for a
30255x12545 canvas; Debian's libheif 1.15.1 dies on it with SIGSEGV. From it:
  heic-overlay-canvas-32bit-larger-than-declared.heic  the same item as an 'iovl' overlay
      with 32-bit canvas fields (flags bit 0): 30255x12545 against 16x16, refused;
  heic-grid-canvas-equals-declared.heic  the grid's canvas set to its declared 16x16: the
      canvas check lets it through to libheif.
From a later finding (regression-heic-iden-of-unknown-item-type.heic, 627 bytes: an
'iden' image of an item of type 'hvc2', on which libheif 1.15 aborts):
  heic-iden-of-missing-item.heic  the item made 'hvc1' and the 'dimg' reference pointed
      at item 7, which the file does not have (libheif aborts the same way).
Only the standard library; the boxes are rebuilt with their sizes and the coded item's
file offset (iloc) recomputed.
"""
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "tests", "data", "heif-derived")
FINDING = os.path.join(SEEDS, "regression-heic-grid-canvas-crashes-libheif.heic")


def boxes(data, start, end):
    """[(type, header bytes, body)] of the plain 32-bit-size boxes in data[start:end]."""
    out, at = [], start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        assert 8 <= size <= end - at, "the finding's boxes are all plain"
        out.append((kind, data[at + 8:at + size]))
        at += size
    return out


def box(kind, body):
    return struct.pack(">I4s", 8 + len(body), kind) + body


def rebuild(finding, item_type, idat_payload):
    top = boxes(finding, 0, len(finding))
    assert [k for k, _ in top] == [b"ftyp", b"meta", b"mdat"]
    meta_body = top[1][1]
    children = boxes(meta_body, 4, len(meta_body))
    new_children = []
    for kind, body in children:
        if kind == b"idat":
            body = idat_payload
        if kind == b"iinf":
            body = body.replace(b"grid", item_type)
        new_children.append((kind, body))
    meta = box(b"meta", meta_body[:4] + b"".join(box(k, b) for k, b in new_children))
    head = box(b"ftyp", top[0][1]) + meta
    # The coded item (id 1) lies in mdat at base offset + 0 (iloc version 1, 4-byte
    # fields): point it at mdat's new place.
    mdat_body_at = len(head) + 8
    iloc_at = head.index(b"iloc") - 4
    base_at = iloc_at + 8 + 4 + 2 + 2 + 2 + 2 + 2  # header, version/flags, sizes, count, id, method, dref
    assert struct.unpack(">H", head[iloc_at + 8 + 4 + 4:iloc_at + 8 + 4 + 6])[0] == 1
    head = head[:base_at] + struct.pack(">I", mdat_body_at) + head[base_at + 4:]
    # The derived item (id 2) is the whole of idat: its one extent's length.
    item2_at = base_at + 4 + 2 + 4 + 4
    assert struct.unpack(">HH", head[item2_at:item2_at + 4]) == (2, 1)
    length_at = item2_at + 2 + 2 + 2 + 4 + 2 + 4
    head = head[:length_at] + struct.pack(">I", len(idat_payload)) + head[length_at + 4:]
    return head + box(b"mdat", top[2][1])


def main():
    finding = open(FINDING, "rb").read()
    # iovl: version 0, flags 1 (32-bit fields), four 16-bit fill values, the canvas,
    # then one 32-bit (x, y) offset per input image.
    overlay = struct.pack(">BB4HIIii", 0, 1, 0, 0, 0, 0xFFFF, 30255, 12545, 0, 0)
    # grid: version 0, flags 0 (16-bit fields), rows - 1, columns - 1, the canvas.
    grid = struct.pack(">BBBBHH", 0, 0, 0, 0, 16, 16)
    for name, kind, payload in [
        ("heic-overlay-canvas-32bit-larger-than-declared.heic", b"iovl", overlay),
        ("heic-grid-canvas-equals-declared.heic", b"grid", grid),
    ]:
        with open(os.path.join(SEEDS, name), "wb") as f:
            f.write(rebuild(finding, kind, payload))
        print("wrote", name)
    iden = bytearray(open(os.path.join(SEEDS, "regression-heic-iden-of-unknown-item-type.heic"), "rb").read())
    at = iden.index(b"hvc2")
    iden[at:at + 4] = b"hvc1"
    at = iden.index(b"dimg")
    assert iden[at + 4:at + 10] == bytes.fromhex("000200010001")  # from 2, one input: 1
    iden[at + 8:at + 10] = b"\x00\x07"
    with open(os.path.join(SEEDS, "heic-iden-of-missing-item.heic"), "wb") as f:
        f.write(iden)
    print("wrote heic-iden-of-missing-item.heic")


if __name__ == "__main__":
    main()
