#!/bin/sh
# Fetches the UpscalerJS 1.0.0 super-resolution packages from npm, verifies every model file
# against the sha256 recorded in ../shared/golden/sr_*/case.json (or tools/upscalers/SHA256SUMS,
# a copy of those sums, when the golden folder is absent), and converts each model with
# `cascade convert --from tfjs` into <out>/<model>_x<scale>/{config.json,model.safetensors}.
#
# usage: tools/upscalers/fetch.sh [--build DIR] [--out DIR] [--no-convert] [MODEL...]
#   MODEL: esrgan-slim esrgan-medium esrgan-thick default-model, or "all"
#          (default: esrgan-slim esrgan-medium default-model; thick is 29 MB per scale)
#   --build DIR   meson build dir holding cli/cascade (default: build)
#   --out DIR     where converted models go (default: $CASCADE_SR_MODELS, else models/upscalers)
# Run from the source root. Nothing here is committed: models/upscalers/ is in .gitignore.
# The golden tests (tests/golden/golden-sr.c) look for the models in the same place.
set -eu

build=build
out=${CASCADE_SR_MODELS:-models/upscalers}
convert=1
models=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-convert) convert=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    all) models="esrgan-slim esrgan-medium esrgan-thick default-model"; shift ;;
    esrgan-slim|esrgan-medium|esrgan-thick|default-model) models="$models $1"; shift ;;
    *) echo "fetch.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$models" ] || models="esrgan-slim esrgan-medium default-model"

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
golden=${CASCADE_GOLDEN_DIR:-$src/../shared/golden}
cascade=$build/cli/cascade
if [ "$convert" = 1 ] && [ ! -x "$cascade" ]; then
    echo "fetch.sh: $cascade not found; build first (ninja -C $build) or pass --build" >&2
    exit 1
fi

mkdir -p "$out/npm"
out=$(cd "$out" && pwd)

# The tarballs' sha512 integrity as recorded when the goldens were made.
integrity() {
    case "$1" in
    esrgan-slim) echo "sha512-DXtwn5SE71+pZKluN/hGeLaZv6ZylyFQYSvMqU08kKCEA5Y9Q1cIIk4EvPTPZw8VqGi2C6F02c8OjhtId4BK2w==" ;;
    esrgan-medium) echo "sha512-Z8JnR87sgetPABKevasXST3FdnXhaoTu9zpXnu3KLaHYpYStVt0FD1VZS9c6jhSGMBC0H929gN9RbWl+MeisKA==" ;;
    esrgan-thick) echo "sha512-Xt7LAEa1WYVdU8teye1A2J3T2ylb3ihlU/x01x1ieM7zZh5FzTll6fwmeUC82mkztWloGZM65KdSEWOmhlXOdw==" ;;
    default-model) echo "sha512-D17cokQBpciTBrlFuY5WtS7TH0WE3h5m44PYiPPCSq1jlWjG9BvH5/rnm9AhQPV6TT3Bqbg5GAPV8/qpR47/hQ==" ;;
    esac
}

# Expected "sha256  package/path" lines: from the golden cases when present, else SHA256SUMS.
sums=$out/npm/expected.sha256
if ls "$golden"/sr_*/case.json >/dev/null 2>&1; then
    for cj in "$golden"/sr_*/case.json; do
        node -e '
            const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            console.log(`${c.model_json_sha256}  ${c.package}/${c.model_json}`);
            for (const s of c.shards) console.log(`${s.sha256}  ${c.package}/${s.file}`);
        ' "$cj"
    done | sort -u >"$sums"
    echo "fetch.sh: checksums from $golden"
else
    grep -v '^#' "$here/SHA256SUMS" | sort -u >"$sums"
    echo "fetch.sh: checksums from tools/upscalers/SHA256SUMS (no golden folder)"
fi

# A conversion is redone only when its model.json or the converter's source changed: each
# converted folder keeps a stamp of both, written after a successful conversion.
conv_src=$(cat "$src/core/upscale/tfjs-convert.c" "$src/core/include/cascade/tfjs-convert.h" |
    sha256sum | cut -d' ' -f1)

for m in $models; do
    pkg=@upscalerjs/$m
    dir=$out/npm/$m
    tgz=$out/npm/upscalerjs-$m-1.0.0.tgz
    if [ ! -f "$tgz" ]; then
        echo "fetch.sh: npm pack $pkg@1.0.0"
        (cd "$out/npm" && npm pack --silent "$pkg@1.0.0" >/dev/null)
    fi
    got=$(node -e '
        const h = require("crypto").createHash("sha512");
        h.update(require("fs").readFileSync(process.argv[1]));
        console.log("sha512-" + h.digest("base64"));' "$tgz")
    if [ "$got" != "$(integrity "$m")" ]; then
        echo "fetch.sh: $tgz: integrity $got differs from the recorded one; deleted" >&2
        rm -f "$tgz"
        exit 1
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tgz" -C "$dir" --strip-components=1
    # every file of this package listed in the sums must be there and match
    grep "  $pkg/" "$sums" | while read -r sum path; do
        f=$dir/${path#"$pkg/"}
        if [ ! -f "$f" ]; then echo "fetch.sh: $f missing" >&2; exit 1; fi
        have=$(sha256sum "$f" | cut -d' ' -f1)
        if [ "$have" != "$sum" ]; then
            echo "fetch.sh: $f: sha256 $have, expected $sum" >&2
            exit 1
        fi
    done
    n=$(grep -c "  $pkg/" "$sums" || true)
    [ "$n" -gt 0 ] || { echo "fetch.sh: no sha256 sums for $pkg" >&2; exit 1; }
    echo "fetch.sh: $pkg: $n files verified"

    [ "$convert" = 1 ] || continue
    for mj in "$dir"/models/model.json "$dir"/models/x*/model.json; do
        [ -f "$mj" ] || continue
        d=$(dirname "$mj")
        case "$d" in
        */models) s=2 ;;                       # default-model: esrgan-slim x2
        *) s=${d##*/x} ;;
        esac
        dst=$out/${m}_x$s
        stamp="$(sha256sum "$mj" | cut -d' ' -f1) $conv_src"
        if [ -f "$dst/model.safetensors" ] && [ "$(cat "$dst/.stamp" 2>/dev/null)" = "$stamp" ]; then
            echo "fetch.sh: $dst is up to date"
            continue
        fi
        echo "fetch.sh: cascade convert --from tfjs $d -o $dst"
        rm -rf "$dst"
        "$cascade" convert --from tfjs "$d" -o "$dst"
        echo "$stamp" >"$dst/.stamp"
    done
done
echo "fetch.sh: done ($out)"
