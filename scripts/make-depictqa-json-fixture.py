#!/usr/bin/env python3
"""Writes a small DepictQA-format training set (synthetic images, not DepictQA's data)
to try `depictqa-train --train-json` without the real release (docs/datasets.md).

    scripts/make-depictqa-json-fixture.py OUT_DIR [--refs 40] [--size 96] [--seed 1]

OUT_DIR/images/ holds binary PPMs (refNN.ppm and refNN_<distortion>.ppm), OUT_DIR/train.json
a JSON list of records in DepictQA's layout (image_ref, image_A, image_B, task_type,
conversations): a description with and without reference for every distorted image,
and a brief comparison and a reasoning for pairs of one reference's distortions. Only
the Python standard library is needed.
"""
import argparse
import json
import os
import random

DISTORTIONS = {
    # name: (words for the answer, severity 1 mild / 2 severe, quality)
    "noise": ("noise", 2, "poor"),
    "blur": ("blur", 1, "fair"),
    "dark": ("underexposure", 1, "fair"),
}


def reference(size, rng):
    """Smooth colour gradients with a few rectangles: something with edges to distort."""
    c0 = [rng.randrange(256) for _ in range(3)]
    c1 = [rng.randrange(256) for _ in range(3)]
    img = [[[int(c0[k] + (c1[k] - c0[k]) * (x + y) / (2 * size)) for k in range(3)] for x in range(size)]
           for y in range(size)]
    for _ in range(4):
        x0, y0 = rng.randrange(size - 8), rng.randrange(size - 8)
        w, h = rng.randrange(4, size - x0), rng.randrange(4, size - y0)
        col = [rng.randrange(256) for _ in range(3)]
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                img[y][x] = list(col)
    return img


def distort(img, name, rng):
    size = len(img)
    clamp = lambda v: max(0, min(255, int(v)))
    if name == "noise":
        return [[[clamp(v + rng.gauss(0, 40)) for v in px] for px in row] for row in img]
    if name == "dark":
        return [[[clamp(v * 0.45) for v in px] for px in row] for row in img]
    out = []  # blur: 5x5 box
    for y in range(size):
        row = []
        for x in range(size):
            acc, n = [0, 0, 0], 0
            for yy in range(max(0, y - 2), min(size, y + 3)):
                for xx in range(max(0, x - 2), min(size, x + 3)):
                    for k in range(3):
                        acc[k] += img[yy][xx][k]
                    n += 1
            row.append([clamp(a / n) for a in acc])
        out.append(row)
    return out


def write_ppm(path, img):
    size = len(img)
    with open(path, "wb") as f:
        f.write(b"P6 %d %d 255\n" % (size, size))
        f.write(bytes(v for row in img for px in row for v in px))


def description(name):
    words, level, quality = DISTORTIONS[name]
    return f"The image shows {'severe' if level == 2 else 'mild'} {words}, so its quality is {quality}."


def records_for(ref, names):
    turns = lambda q, a: [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
    out = []
    for n in names:
        a = f"images/{ref}_{n}.ppm"
        out.append({"id": f"{ref}_{n}_detail", "image_ref": f"images/{ref}.ppm", "image_A": a, "image_B": None,
                    "task_type": "quality_single_A",
                    "conversations": turns("Evaluate the quality of the image compared with the reference.",
                                           description(n))})
        out.append({"id": f"{ref}_{n}_detail_noref", "image_ref": None, "image_A": a, "image_B": None,
                    "task_type": "quality_single_A_noref",
                    "conversations": turns("How would you describe the quality of this image?", description(n))})
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            better = "A" if DISTORTIONS[x][1] < DISTORTIONS[y][1] else "B"
            if DISTORTIONS[x][1] == DISTORTIONS[y][1]:
                continue
            pair = {"image_ref": f"images/{ref}.ppm", "image_A": f"images/{ref}_{x}.ppm",
                    "image_B": f"images/{ref}_{y}.ppm"}
            out.append({"id": f"{ref}_{x}_{y}_brief", **pair, "task_type": "quality_compare",
                        "conversations": turns("Which image is better? Answer the question using a single word or "
                                               "phrase.", f"Image {better}")})
            reason = (f"Image A shows {'severe' if DISTORTIONS[x][1] == 2 else 'mild'} {DISTORTIONS[x][0]}, while "
                      f"Image B shows {'severe' if DISTORTIONS[y][1] == 2 else 'mild'} {DISTORTIONS[y][0]}. "
                      f"Overall, Image {better} is better.")
            out.append({"id": f"{ref}_{x}_{y}_reason", **pair, "task_type": "quality_compare_noref",
                        "conversations": turns("Compare the two images and explain which is better.", reason)})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--refs", type=int, default=40)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    records = []
    for r in range(a.refs):
        ref = f"ref{r:02d}"
        img = reference(a.size, rng)
        write_ppm(os.path.join(a.out, "images", ref + ".ppm"), img)
        for n in DISTORTIONS:
            write_ppm(os.path.join(a.out, "images", f"{ref}_{n}.ppm"), distort(img, n, rng))
        records += records_for(ref, list(DISTORTIONS))
    with open(os.path.join(a.out, "train.json"), "w") as f:
        json.dump(records, f, indent=1)
    print(f"{len(records)} records, {a.refs * (1 + len(DISTORTIONS))} images in {a.out}")


if __name__ == "__main__":
    main()
