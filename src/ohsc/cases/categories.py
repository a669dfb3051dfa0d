"""Category schemes as the field uses them, stored under their Project VIC (VICS) codes.

* ``us``: Project VIC's US scheme. VICS code 0 is *non-pertinent* (known to be of no interest:
  OHSC's VICS importer skips it, so it never makes files match), 1 child abuse material, 2 child
  exploitative / age difficult, 3 CGI / animation, 4 comparison image.
* ``uk``: the UK CAID scheme (sentencing guideline categories A, B and C, and non-indecent). Its
  items are written with VICS codes 1, 2, 3 and 0 (non-indecent, like non-pertinent, is of no
  interest to other agencies), with an extra ``caid:A``/``caid:B``/``caid:C`` label in banks.

Uncategorised is no code at all (``None``). A category is stored as the VICS code text (``"1"``);
keys are what an analyst presses in the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from ohsc.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    key: str
    name: str
    #: of interest to other agencies (exported with its code, pushed to banks)
    pertinent: bool
    #: other words people type for it (lower case)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scheme:
    name: str
    title: str
    categories: tuple[Category, ...]

    def get(self, code: str) -> Category:
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise InvalidInputError(
            f"category {code!r} is not in the {self.title} scheme "
            f"(codes: {', '.join(c.code for c in self.categories)})"
        )

    def label(self, code: str | None) -> str:
        if code is None:
            return "uncategorised"
        try:
            return self.get(code).name
        except InvalidInputError:
            return f"VICS {code}"

    def parse(self, text: str) -> str:
        """A code from what a person typed: the code, the key, or the name (case-insensitive)."""
        wanted = text.strip().lower()
        for cat in self.categories:
            if wanted in (cat.code, cat.key.lower(), cat.name.lower(), *cat.aliases):
                return cat.code
        return self.get(text.strip()).code


US = Scheme(
    "us",
    "Project VIC (US)",
    (
        Category("1", "1", "Cat 1: child abuse material", True),
        Category("2", "2", "Cat 2: child exploitative / age difficult", True),
        Category("3", "3", "Cat 3: CGI / animation", True),
        Category("4", "4", "Cat 4: comparison image", True),
        Category("0", "0", "Non-pertinent", False, ("n", "non pertinent", "np")),
    ),
)

UK = Scheme(
    "uk",
    "UK CAID",
    (
        Category("1", "1", "Category A", True, ("a", "cat a")),
        Category("2", "2", "Category B", True, ("b", "cat b")),
        Category("3", "3", "Category C", True, ("c", "cat c")),
        Category("0", "0", "Non-indecent", False, ("n", "non indecent")),
    ),
)

SCHEMES: dict[str, Scheme] = {"us": US, "uk": UK}
#: UK CAID letters by code, for bank labels (``caid:A``)
CAID_LETTERS = {"1": "A", "2": "B", "3": "C"}


def scheme(name: str) -> Scheme:
    try:
        return SCHEMES[name.lower()]
    except KeyError:
        raise InvalidInputError(f"unknown category scheme {name!r} (known: us, uk)") from None


def code_of_bank_category(category: str | None) -> str | None:
    """The VICS code in a bank entry's category (``vics:1`` -> ``"1"``); None when not VICS."""
    if category and category.startswith("vics:"):
        code = category[5:]
        if code.isascii() and code.isdigit():
            return str(int(code))
    return None
