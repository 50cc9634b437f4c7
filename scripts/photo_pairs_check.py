#!/usr/bin/python3
"""A new user's check: `depictqa batch --short` on ordinary photo pairs at native size.

Takes the comparison and reasoning records of a depictqa-datagen split (for example one
made with --patch-sizes 256,320,384,448,512 on held-out photos), writes each pair as PNG
files and a DepictQA batch file, and after `depictqa batch` has answered it, scores the
verdicts against the ground truth, with PSNR's 2AFC on the same pairs beside them
(depictqa-eval reports SSIM and GMSD as well).

    scripts/photo_pairs_check.py write SPLIT_DIR OUT_DIR [--min-side 256] [--limit N]
    depictqa batch -i OUT_DIR/records.jsonl -o OUT_DIR/answers.jsonl --short
    scripts/photo_pairs_check.py score OUT_DIR

`write --task reasoning` asks for reasonings instead (run batch without --short), with
the app's default question unless `--query` gives one; `score` then also counts the
answers that speak of a preference nobody stated ("You said that what you care about
most is noise"), compare one aspect twice, or give one aspect to both images, as
depictqa-eval does: it reads each answer's "reading", depictqa's own parser's.

Pairs the labels call too close to call are left out (there is no right answer).
"""
import argparse, json, os, sys
import numpy as np
import cv2


def read_patch(split_dir, loc):
    n = loc["width"] * loc["height"] * 3
    with open(os.path.join(split_dir, loc["shard"]), "rb") as f:
        f.seek(loc["offset"])
        data = np.frombuffer(f.read(n), dtype=np.uint8)
    return data.reshape(loc["height"], loc["width"], 3)  # RGB


def psnr(x, ref):
    mse = np.mean((x.astype(np.float64) - ref.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def write(a):
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    records, truth = [], {}
    for name in sorted(os.listdir(a.split)):
        if not name.endswith(".jsonl"):
            continue
        for line in open(os.path.join(a.split, name)):
            r = json.loads(line)
            q = r.get("questionnaire", {})
            if r.get("task") not in ("comparison", "reasoning") or not r.get("with_reference"):
                continue
            if q.get("too_close_to_call") or q.get("winner") not in ("A", "B") or r.get("preference"):
                continue
            if min(r["images"]["A"]["width"], r["images"]["A"]["height"]) < a.min_side:
                continue
            paths = {}
            pixels = {}
            for role in ("reference", "A", "B"):
                img = read_patch(a.split, r["images"][role])
                pixels[role] = img
                paths[role] = os.path.join("images", f"{r['id']}-{role}.png")
                cv2.imwrite(os.path.join(a.out, paths[role]), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            records.append({"id": r["id"], "image_ref": paths["reference"], "image_A": paths["A"],
                            "image_B": paths["B"], "task": a.task, **({"query": a.query} if a.query else {})})
            truth[r["id"]] = {"winner": q["winner"], "psnr_a": psnr(pixels["A"], pixels["reference"]),
                              "psnr_b": psnr(pixels["B"], pixels["reference"]),
                              "size": [r["images"]["A"]["width"], r["images"]["A"]["height"]]}
            if a.limit and len(records) >= a.limit:
                break
        if a.limit and len(records) >= a.limit:
            break
    with open(os.path.join(a.out, "records.jsonl"), "w") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    json.dump(truth, open(os.path.join(a.out, "truth.json"), "w"))
    print(f"{len(records)} pairs written to {a.out}/records.jsonl")


def score(a):
    truth = json.load(open(os.path.join(a.out, "truth.json")))
    answered = {}
    for line in open(os.path.join(a.out, "answers.jsonl")):
        r = json.loads(line)
        answered[str(r["id"])] = r
    n = right = undecided = errors = psnr_right = 0
    confidences = []
    invented = reasonings = repeated = contradicted = 0
    for rid, t in truth.items():
        r = answered.get(rid)
        if r is None:
            continue
        n += 1
        psnr_right += (t["psnr_a"] > t["psnr_b"]) == (t["winner"] == "A")
        if r.get("error"):
            errors += 1
            continue
        if r.get("task") == "reasoning":
            # What depictqa's own parser read in the answer (data::parseAnswer, the one the
            # evaluation scores with).
            reading = r.get("reading")
            if reading is None:
                sys.exit(f"{rid}: the answer has no \"reading\"; answer the records again with a depictqa "
                         "that writes it (2026-12-05 or later)")
            reasonings += 1
            invented += bool(reading.get("speaks_of_a_preference_nobody_stated"))
            repeated += bool(reading["compares_an_aspect_twice"])
            contradicted += bool(reading["gives_an_aspect_to_both_images"])
        verdict = r.get("answer")
        if verdict not in ("Image A", "Image B"):
            undecided += 1
            continue
        right += verdict[-1] == t["winner"]
        if r.get("confidence") is not None:
            confidences.append((r["confidence"], verdict[-1] == t["winner"]))
    print(f"pairs {n}: model right {100.0 * right / max(n, 1):.1f}%, undecided {undecided}, errors {errors}; "
          f"PSNR right {100.0 * psnr_right / max(n, 1):.1f}% on the same pairs")
    if reasonings:
        print(f"reasonings speaking of a preference nobody stated: {invented} of {reasonings}")
        print(f"reasonings comparing one aspect twice: {repeated} of {reasonings}, "
              f"giving one aspect to both images: {contradicted} of {reasonings}")
    if confidences:
        c = np.array(confidences, dtype=np.float64)
        # Expected calibration error over ten equal-width confidence bins (as depictqa-eval).
        bins = np.minimum((c[:, 0] * 10).astype(int), 9)
        ece = sum(abs(c[bins == b, 0].mean() - c[bins == b, 1].mean()) * (bins == b).sum()
                  for b in range(10) if (bins == b).any()) / len(c)
        print(f"mean confidence {c[:, 0].mean():.3f}, accuracy of answered {c[:, 1].mean():.3f}, ECE {ece:.3f}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("split")
    w.add_argument("out")
    w.add_argument("--min-side", type=int, default=256)
    w.add_argument("--limit", type=int, default=0)
    w.add_argument("--task", choices=("comparison", "reasoning"), default="comparison")
    w.add_argument("--query", default="", help="the question of every record (default: the app's)")
    s = sub.add_parser("score")
    s.add_argument("out")
    a = ap.parse_args()
    write(a) if a.cmd == "write" else score(a)


if __name__ == "__main__":
    sys.exit(main())
