"""What a CSV header name proposes: the roles its words suggest, in the languages of common bank
exports, and the direction marks of indicator columns. Grows with every bank layout read;
deals.parsing.columns weighs these hints against the cells below them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

Role = Literal[
    "date",
    "balance",
    "debit",
    "credit",
    "amount",
    "indicator",
    "currency",
    "account",
    "counterparty",
    "description",
    "card",
    "ignore",
]
DateRank = Literal[1, 2, 3]

# Letters NFKD does not decompose, found in Nordic, Polish and German headers.
_LETTERS = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ß": "ss", "ł": "l", "Ł": "l", "đ": "d"})


def normalize_header(cell: str) -> str:
    """Lower case, accents dropped, bracketed notes ("Amount (USD)") and punctuation removed."""
    text = unicodedata.normalize("NFKD", cell.translate(_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# Direction marks of indicator columns, in the languages of common exports.
DEBIT_MARKS = frozenset(
    {"d", "dr", "db", "debit", "debet", "dbit", "s", "soll", "af", "withdrawal", "out", "-"}
)
CREDIT_MARKS = frozenset(
    {"c", "cr", "credit", "crdt", "k", "kredit", "h", "haben", "bij", "deposit", "in", "+"}
)

# Whole normalised header names that name an indicator column.
_INDICATOR_NAMES = frozenset(
    {
        "dr cr",
        "cr dr",
        "d c",
        "c d",
        "dc",
        "cd",
        "d k",
        "s h",
        "af bij",
        "bij af",
        "debit credit",
        "credit debit",
        "debit or credit",
        "credit or debit",
        "soll haben",
        "type",
        "transaction type",
        "sign",
        "direction",
        "richtung",
        "indicator",
    }
)

# Keywords per role. A keyword of four letters or fewer must be a whole word of the header
# ("date" must not match "mandate", "af" must not match "after"); a longer one may sit inside a
# compound ("buchungsdatum", "gegenkonto").
_VOCABULARY: tuple[tuple[Role, tuple[str, ...]], ...] = (
    ("card", ("card", "cardmember", "cardholder", "karte", "kartennummer", "carte", "tarjeta")),
    (
        "counterparty",
        (
            "gegenkonto",
            "tegenrekening",
            "counterparty",
            "counter party",
            "other party",
            "payee",
            "payer",
            "beneficiary",
            "auftraggeber",
            "empfanger",
            "empfaenger",
            "begunstigter",
            "beguenstigter",
            "zahlungspflichtiger",
            "tegenpartij",
            "naam",
            "name",
            "nom",
            "nombre",
            "merchant",
            "kontrahent",
            "controparte",
            "beneficiario",
            "ordenante",
            "destinatario",
            "gavejas",
            "moketojas",
        ),
    ),
    (
        "date",
        (
            "date",
            "datum",
            "fecha",
            "data",
            "dato",
            "posted",
            "buchung",
            "buchungstag",
            "wertstellung",
            "valuta",
            "datetime",
            "bokforingsdag",
            "bokforingsdato",
            "transaktionsdag",
            "kirjauspaiva",
        ),
    ),
    # "Disponible" / "Disponibile" (available) heads the running balance of some Spanish and Italian
    # exports; "Saldo po operacji", "Saldo contabile" and the like already carry "saldo".
    (
        "balance",
        (
            "balance",
            "bal",
            "saldo",
            "solde",
            "kontostand",
            "running",
            "zustatek",
            "disponible",
            "disponibile",
        ),
    ),
    (
        "debit",
        (
            "debit",
            "debet",
            "debito",
            "withdraw",
            "money out",
            "paid out",
            "outflow",
            "soll",
            "cargo",
            "cargos",
            "uitgaven",
            "af",
            "addebiti",
            "uscite",
            "obciazenia",
            "ausgang",
            "lastschrift",
            "belastung",
        ),
    ),
    (
        "credit",
        (
            "credit",
            "credito",
            "deposit",
            "money in",
            "paid in",
            "inflow",
            "haben",
            "abono",
            "abonos",
            "inkomsten",
            "bij",
            "accrediti",
            "entrate",
            "uznania",
            "eingang",
            "gutschrift",
        ),
    ),
    (
        "amount",
        (
            "amount",
            "amt",
            "betrag",
            "montant",
            "bedrag",
            "importe",
            "importo",
            "umsatz",
            "suma",
            "summa",
            "kwota",
            "castka",
            "belopp",
            "belob",
            "belop",
            "maara",
            "valor",
            "net",
            "gross",
        ),
    ),
    (
        "currency",
        (
            "currency",
            "munt",
            "ccy",
            "wahrung",
            "waehrung",
            "devise",
            "moneda",
            "divisa",
            "valuta",
            "waluta",
            "valiuta",
        ),
    ),
    (
        "account",
        (
            "account",
            "acct",
            "iban",
            "konto",
            "compte",
            "rekening",
            "cuenta",
            "conto",
            "rachunek",
            "ucet",
            "saskaita",
            "saskaitos",
        ),
    ),
    (
        "ignore",
        (
            "id",
            "no",
            "nr",
            "number",
            "code",
            "key",
            "schlussel",
            "gvc",
            "status",
            "category",
            "time",
            "check",
        ),
    ),
    (
        "description",
        (
            "desc",
            "descr",
            "detail",
            "memo",
            "narrat",
            "particular",
            "reference",
            "text",
            "buchungstext",
            "avisierungstext",
            "paaiskinimai",
            "verwendungszweck",
            "beschreibung",
            "vorgang",
            "libelle",
            "omschrijving",
            "mededelingen",
            "concepto",
            "descripcion",
            "causale",
            "opis",
            "popis",
            "tytul",
            "remark",
            "comment",
            "notes",
            "info",
            "action",
            "transaction",
            "umsatzart",
            "buchungsart",
            "mutatiesoort",
        ),
    ),
)
# Amount headers that name a part of a sale rather than the money that moved ("Shipping and
# Handling Amount", "Fee Amount", "Original Amount"): only used when nothing better is there.
_MINOR_AMOUNT_WORDS = frozenset(
    {
        "shipping",
        "handling",
        "insurance",
        "tax",
        "fee",
        "fees",
        "original",
        "ursprung",
        "foreign",
        "discount",
        "tip",
        "gratuity",
        "commission",
        "provision",
        "sales",
        "pending",
        "fx",
    }
)
# A booking date is the transaction's date; a value date (interest date) or a card's post date
# is a second date that is used only when the file has no other.
_VALUE_DATE_WORDS = ("valuta", "wertstellung", "value", "valeur", "valor", "rentedatum", "interest")
_POST_DATE_WORDS = ("post", "posted", "posting")
_POSITION_WORDS = frozenset(
    {"symbol", "ticker", "quantity", "qty", "shares", "price", "market value", "cost basis", "current value"}
)


def _mentions(name: str, keyword: str) -> bool:
    if len(keyword) <= 4 or " " in keyword:
        return f" {keyword} " in f" {name} "
    return keyword in name


# Cached: the header search asks about every cell of the first 200 rows under four delimiters.
@functools.lru_cache(maxsize=4096)
def header_roles(cell: str) -> tuple[Role, ...]:
    """The roles a header name proposes, most specific first; the cells below decide among them."""
    name = normalize_header(cell)
    if not name or len(name) > 60:
        return ()
    roles: list[Role] = []
    if name in _INDICATOR_NAMES or _mentions(name, "indicator"):
        roles.append("indicator")
    for role, keywords in _VOCABULARY:
        if any(_mentions(name, keyword) for keyword in keywords):
            roles.append(role)
    if (
        "counterparty" in roles
        and "account" not in roles
        and any(_mentions(name, word) for word in ("iban", "konto", "account", "rekening", "bic"))
    ):
        roles.append("account")
    return tuple(dict.fromkeys(roles))


def is_position_header(row: Sequence[str]) -> bool:
    """A row naming the columns of a holdings list (symbol, quantity, price, market value…)."""
    names = {normalize_header(c) for c in row}
    found = sum(1 for word in _POSITION_WORDS if any(_mentions(name, word) for name in names))
    return found >= 2


def date_rank(cell: str) -> DateRank:
    name = normalize_header(cell)
    if any(_mentions(name, word) for word in _VALUE_DATE_WORDS):
        return 1
    if any(_mentions(name, word) for word in _POST_DATE_WORDS) and not _mentions(name, "posting"):
        return 2
    return 3


def amount_rank(cell: str) -> int:
    name = normalize_header(cell)
    if any(_mentions(name, word) for word in _MINOR_AMOUNT_WORDS):
        return 0
    if _mentions(name, "net"):
        return 2  # the money that reached the account, after fees (PayPal's Net over Gross)
    if _mentions(name, "gross"):
        return 1
    return 3
