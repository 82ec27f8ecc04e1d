#!/usr/bin/env python3
"""The gettext catalogues are complete (TAP).

From the source root: POTFILES.in lists, sorted, every job/, ui/ and plugin/ source that marks
strings; a fresh template extracted from those sources (xgettext, as meson's i18n does) is
merged into each catalogue in LINGUAS, and `msgfmt --check --statistics` must report every
message translated (no untranslated, no fuzzy) with valid formats; the shipped presets'
names and descriptions are in the template, and job/meson.build installs every preset.
Needs only the gettext tools."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

root = sys.argv[1] if len(sys.argv) > 1 else "."
os.chdir(root)
results = []


def check(ok, name, detail=""):
    results.append((ok, name, detail))


listed = [l.strip() for l in open("po/POTFILES.in", encoding="utf-8")
          if l.strip() and not l.startswith("#")]
check(listed == sorted(listed), "POTFILES.in is sorted", "\n".join(listed))
marked = sorted(f for f in glob.glob("job/*.c") + glob.glob("ui/*.c") + glob.glob("plugin/*.c")
                if re.search(r'\bN?_\("', open(f, encoding="utf-8").read()))
missing = [f for f in marked if f not in listed]
absent = [f for f in listed if not os.path.exists(f)]
check(not missing and not absent, "POTFILES.in lists every source with _() and nothing else",
      "missing: %s; not there: %s" % (missing, absent))

m = re.search(r"shipped_presets = \[([^\]]*)\]", open("job/meson.build", encoding="utf-8").read())
installed = sorted(re.findall(r"'([^']+)'", m.group(1))) if m else []
shipped = sorted(os.path.basename(f)[:-5] for f in glob.glob("presets/*.json"))
check(installed == shipped, "job/meson.build installs every presets/*.json",
      "installed %s, present %s" % (installed, shipped))

with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "gimp-cascade.pot")
    subprocess.run(["xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
                    "--keyword=C_:1c,2", "--keyword=NC_:1c,2", "--keyword=g_dngettext:2,3",
                    "--flag=N_:1:pass-c-format", "--flag=_:1:pass-c-format",
                    "--flag=g_set_error:4:c-format", "--flag=g_strdup_printf:1:c-format",
                    "-f", "po/POTFILES.in", "-D", ".", "-o", pot], check=True)
    text = open(pot, encoding="utf-8").read()
    ids = re.findall(r'^msgid "(.+)"$', text, re.M)
    check(len(ids) > 50, "the template has the ui strings", "%d msgids" % len(ids))
    for f in sorted(glob.glob("presets/*.json")):
        p = json.load(open(f, encoding="utf-8"))
        for key in ("name", "description"):
            s = p.get(key, "")
            check(s and ('msgid "%s"' % s) in text, "%s: %s is marked for translation" % (f, key),
                  "add N_(\"%s\") to job/cascade-presets.c" % s)
    for lang in open("po/LINGUAS").read().split():
        merged = os.path.join(tmp, lang + ".po")
        subprocess.run(["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", merged,
                        "po/%s.po" % lang, pot], check=True)
        r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, merged],
                           capture_output=True, text=True)
        stats = r.stderr.strip()
        complete = (r.returncode == 0 and "translated" in stats and "untranslated" not in stats
                    and "fuzzy" not in stats)
        check(complete, "po/%s.po translates every message" % lang, stats)

print("1..%d" % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in detail.splitlines():
            print("# " + line)
sys.exit(0)
