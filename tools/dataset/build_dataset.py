#!/usr/bin/python3
"""Fetch openly licensed emoji sets from npm and build the training set.

Output (under --out, default tools/dataset/cache/):
  emoji64.npz   images (N, 64, 64, 3) uint8, white background
  emoji256.npz  images (N, 256, 256, 3) uint8, same order
  captions.json [{"name", "style", "captions": [...], "category"}] in image order
  corpus.txt    every caption, one a line (SentencePiece training text)

Styles: @iconify-json/fluent-emoji-flat (MIT, "flat style") and @iconify-json/noto
(Apache-2.0, "noto style"). The same emoji names are taken from both sets, so a prompt
names one emoji in two styles. Skin-tone variants are dropped (they would only teach
near-duplicates), and so are flags and text/keycap symbols, which a 64 px model cannot read.

Needs: npm (only `npm pack`), rsvg-convert (Debian librsvg2-bin), numpy.
"""
import argparse
import concurrent.futures as cf
import io
import json
import os
import random
import re
import subprocess
import sys
import tarfile

import numpy as np

PACKAGES = {
    # style key: (npm package, caption suffix); versions pinned so the defaults rebuild
    # exactly the images the shipped model was trained on
    "fluent-emoji-flat": ("@iconify-json/fluent-emoji-flat", "flat style"),
    "noto": ("@iconify-json/noto", "noto style"),
}
VERSIONS = {"@iconify-json/fluent-emoji-flat": "1.2.6", "@iconify-json/noto": "1.2.9"}
KEEP_CATEGORIES = ["Smileys & Emotion", "Animals & Nature", "Food & Drink", "Travel & Places",
                   "Activities", "Objects"]
# Always kept (well-known emoji the README and the tests prompt for); the rest of
# --per-style is a seeded random draw from the remaining common names.
INCLUDE = ("red-apple green-apple banana grapes watermelon cherries strawberry lemon tangerine "
           "pizza hamburger doughnut cat-face dog-face fox rabbit-face panda frog pig-face bear "
           "grinning-face smiling-face-with-heart-eyes face-with-tears-of-joy red-heart sun star "
           "rocket airplane automobile house soccer-ball basketball balloon wrapped-gift "
           "light-bulb umbrella christmas-tree snowman fire rainbow four-leaf-clover sunflower "
           "rose cactus unicorn penguin octopus butterfly").split()
TONE = re.compile(r"-(light|medium-light|medium|medium-dark|dark)$")
TONE_WORDS = re.compile(r"(skin-tone|-tone[1-5]$)")


def npm_pack(pkg, cache):
    """Download the package tarball into cache (once) and return its parsed JSON files."""
    tgz = [f for f in os.listdir(cache) if f.startswith(pkg.replace("@", "").replace("/", "-"))
           and f.endswith(".tgz")]
    tgz = [f for f in tgz if f.endswith(f"-{VERSIONS[pkg]}.tgz")]
    if not tgz:
        out = subprocess.run(["npm", "pack", f"{pkg}@{VERSIONS[pkg]}"], cwd=cache, check=True,
                             capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        tgz = [out]
    path = os.path.join(cache, sorted(tgz)[-1])
    files = {}
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            base = os.path.basename(m.name)
            if base.endswith(".json") or base.startswith(("LICENSE", "README")):
                files[base] = tf.extractfile(m).read().decode("utf-8")
    files["_tarball"] = os.path.basename(path)
    return files


def svg_of(iconset, name):
    icon = iconset["icons"][name]
    w = icon.get("width", iconset.get("width", 16))
    h = icon.get("height", iconset.get("height", 16))
    left, top = icon.get("left", 0), icon.get("top", 0)
    return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{left} {top} {w} {h}" width="{w}" height="{h}">{icon["body"]}</svg>')


def rasterize(svg, size):
    """SVG text -> (size, size, 3) uint8 on white, with rsvg-convert."""
    from PIL import Image
    png = subprocess.run(["rsvg-convert", "-w", str(size), "-h", str(size), "-b", "white",
                          "-f", "png"], input=svg.encode(), check=True,
                         capture_output=True).stdout
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.uint8)


def fingerprint(im64, im256, items):
    """SHA-256 of the pixels and captions: the same numbers mean the same training set."""
    import hashlib
    caps = json.dumps([[j["name"], j["style"], j["captions"]] for j in items]).encode()
    return {"images": len(items),
            "emoji64_sha256": hashlib.sha256(np.ascontiguousarray(im64).tobytes()).hexdigest(),
            "emoji256_sha256": hashlib.sha256(np.ascontiguousarray(im256).tobytes()).hexdigest(),
            "captions_sha256": hashlib.sha256(caps).hexdigest(),
            "packages": VERSIONS}


def words(name):
    return name.replace("-", " ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "cache"))
    ap.add_argument("--per-style", type=int, default=64,
                    help="emoji per style (0 = all); 64 suits a short CPU training run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verify", metavar="MODEL_DIR",
                    help="then check the build against MODEL_DIR/dataset.json (exit 1 if not "
                         "the set that model was trained on)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    sets, meta = {}, {}
    for key, (pkg, _) in PACKAGES.items():
        files = npm_pack(pkg, args.out)
        sets[key] = json.loads(files["icons.json"])
        meta[key] = {"package": pkg, "tarball": files["_tarball"],
                     "package.json": json.loads(files["package.json"]),
                     "info": json.loads(files["info.json"])}
    noto_meta = json.loads(npm_pack("@iconify-json/noto", args.out)["metadata.json"])
    category = {}
    for cat, names in noto_meta["categories"].items():
        for n in names:
            category.setdefault(n, cat)

    def base_names(s):
        icons = s["icons"]
        return {k for k in icons if not (TONE.search(k) and TONE.sub("", k) in icons)
                and not TONE_WORDS.search(k)}

    common = sorted(set.intersection(*(base_names(s) for s in sets.values())))
    common = [n for n in common if category.get(n) in KEEP_CATEGORIES]
    rng = random.Random(args.seed)
    if args.per_style and len(common) > args.per_style:
        keep = [n for n in INCLUDE if n in common][:args.per_style]
        rest = [n for n in common if n not in keep]
        common = sorted(keep + rng.sample(rest, args.per_style - len(keep)))
    # Aliases (other names of the same icon) become extra captions.
    aliases = {}
    for s in sets.values():
        for a, v in s.get("aliases", {}).items():
            if set(v) <= {"parent"} and not TONE_WORDS.search(a) and not TONE.search(a):
                aliases.setdefault(v["parent"], set()).add(a)

    jobs = []
    for key, (_, style) in PACKAGES.items():
        for n in common:
            caps = [f"{words(n)}, {style}"] + [f"{words(a)}, {style}"
                                                for a in sorted(aliases.get(n, ()))]
            jobs.append({"name": n, "style": style, "set": key, "captions": caps,
                         "category": category[n]})
    print(f"{len(common)} emoji x {len(PACKAGES)} styles = {len(jobs)} images", flush=True)

    def render(j):
        svg = svg_of(sets[j["set"]], j["name"])
        return rasterize(svg, 64), rasterize(svg, 256)

    with cf.ThreadPoolExecutor(args.jobs) as ex:
        out = list(ex.map(render, jobs))
    im64 = np.stack([o[0] for o in out])
    im256 = np.stack([o[1] for o in out])
    np.savez_compressed(os.path.join(args.out, "emoji64.npz"), images=im64)
    np.savez_compressed(os.path.join(args.out, "emoji256.npz"), images=im256)
    with open(os.path.join(args.out, "captions.json"), "w") as f:
        json.dump({"sources": meta, "items": jobs}, f, indent=1)
    with open(os.path.join(args.out, "corpus.txt"), "w") as f:
        for j in jobs:
            for c in j["captions"]:
                f.write(c + "\n")
    fp = fingerprint(im64, im256, jobs)
    with open(os.path.join(args.out, "fingerprint.json"), "w") as f:
        json.dump(fp, f, indent=1, sort_keys=True)
    print("wrote", im64.shape, im256.shape, "to", args.out)
    if args.verify:
        want = json.load(open(os.path.join(args.verify, "dataset.json")))
        if want != fp:
            print(f"differs from {args.verify}/dataset.json: {want} != {fp}", file=sys.stderr)
            return 1
        print(f"identical to the set {args.verify} was trained on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
