"""Read the product a page describes (`fetch_product` fetches it first, `page_fetch.py`).

`read_product` is pure: HTML in, `Product` out, from schema.org JSON-LD, microdata, then
OpenGraph/meta tags; the module is those readers, kept together because each fills the
gaps of the richer one. Caching by URL is the caller's job.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Final

from bs4 import BeautifulSoup, Tag

from valuations.page_fetch import ProductReadError, fetch_page
from valuations.scoring import tables
from valuations.scoring.engine import Material, Product, resolve_fibre

NO_PRODUCT: Final = "The page did not describe a product"
NO_PRICE: Final = "The page did not give a price for the product"


def fetch_product(
    url: str, *, allow_private: bool, timeout: float = 5.0, max_bytes: int = 2_000_000
) -> Product:
    """Fetch the page at `url` (see `fetch_page`) and read its product (see `read_product`)."""
    return read_product(
        fetch_page(url, allow_private=allow_private, timeout=timeout, max_bytes=max_bytes), url
    )


_PRODUCT_TYPES: Final = frozenset(
    {"product", "productgroup", "individualproduct", "productmodel", "someproducts"}
)
#: Bounds the work an adversarial JSON-LD block can cause.
_MAX_JSON_NODES: Final = 5000


@dataclass(frozen=True)
class _Found:
    """Product fields found by one reader; None where that reader found nothing."""

    name: str | None = None
    brand: str | None = None
    category: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    materials: str | None = None
    description: str | None = None

    def filled_from(self, other: _Found) -> _Found:
        """This reader's fields, with gaps filled from `other`."""
        return replace(
            self, **{f.name: getattr(other, f.name) for f in fields(self) if getattr(self, f.name) is None}
        )


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = " ".join(html_lib.unescape(value).split())
    return text[:limit] or None


_SYMBOLS_LONGEST_FIRST: Final = sorted(tables.CURRENCY_SYMBOLS, key=len, reverse=True)
# A leading minus is kept so "-3" is read as negative (and refused), not as 3.
_NUMBER: Final = re.compile(r"-?\d(?:[\d.,'\s\u00a0\u202f]*\d)?")


def parse_price(value: object) -> tuple[Decimal | None, str | None]:
    """An amount and, if the text shows one, its currency: "$1,299.00" → (1299.00, "USD").

    Understands "1,299.00", "1.299,00", "249,95" and "1 299 €"; a single dot is
    a decimal point, as schema.org asks.
    """
    if isinstance(value, bool):
        return None, None
    if isinstance(value, int | float):
        number = Decimal(repr(value))
        return (number, None) if number.is_finite() else (None, None)
    if not isinstance(value, str):
        return None, None
    text = value.strip()
    currency = next((code for code in re.findall(r"\b[A-Z]{3}\b", text) if code in tables.USD_PER_UNIT), None)
    if currency is None:
        currency = next((tables.CURRENCY_SYMBOLS[s] for s in _SYMBOLS_LONGEST_FIRST if s in text), None)
    match = _NUMBER.search(text)
    if match is None:
        return None, currency
    digits = re.sub(r"[\s'\u00a0\u202f]", "", match.group(0))
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        digits = digits.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in digits:
        groups = digits.split(",")
        if len(groups) > 2 or len(groups[-1]) == 3:
            digits = digits.replace(",", "")
        else:
            digits = digits.replace(",", ".")
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return None, currency
    return (number, currency) if number.is_finite() else (None, currency)


def _load_json(text: str) -> Any:
    text = text.strip()
    # Some sites wrap JSON-LD in comment or CDATA markers for old browsers.
    text = re.sub(r"^\s*(?:<!--|/\*\s*<!\[CDATA\[\s*\*/)", "", text)
    text = re.sub(r"(?:-->|/\*\s*\]\]>\s*\*/)\s*$", "", text).strip().rstrip(";")
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _walk(roots: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Every JSON object under `roots`, breadth first, so top-level products come first."""
    queue: deque[Any] = deque(roots)
    seen = 0
    while queue and seen < _MAX_JSON_NODES:
        item = queue.popleft()
        seen += 1
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            yield item
            queue.extend(v for v in item.values() if isinstance(v, dict | list))


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    # "Product", "schema:Product" and "http://schema.org/Product" are the same type.
    return {re.split(r"[/:#]", v)[-1].lower() for v in values if isinstance(v, str)}


class _JsonLd:
    """The JSON-LD blocks of one page, with `@id` references resolvable."""

    def __init__(self, blocks: list[Any]) -> None:
        self.blocks = blocks
        self.by_id: dict[str, dict[str, Any]] = {}
        for node in _walk(blocks):
            node_id = node.get("@id")
            if isinstance(node_id, str) and len(node) > 1:
                self.by_id.setdefault(node_id, node)

    def deref(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"@id"} and isinstance(value["@id"], str):
            return self.by_id.get(value["@id"], value)
        return value

    def text(self, value: Any, depth: int = 0) -> str | None:
        # The depth limit stops @id references that point back at themselves.
        if depth > 4:
            return None
        value = self.deref(value)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dict):
            return self.text(value.get("name") or value.get("@value"), depth + 1)
        if isinstance(value, list):
            for item in value[:20]:
                text = self.text(item, depth + 1)
                if text:
                    return text
        return None

    def texts(self, value: Any, separator: str) -> str | None:
        value = self.deref(value)
        if isinstance(value, list):
            parts = [t for t in (self.text(item) for item in value[:20]) if t]
            return separator.join(parts) or None
        return self.text(value)

    def offers(self, value: Any) -> Iterator[dict[str, Any]]:
        """Every offer under an `offers` value (object, list, AggregateOffer's own offers)."""
        for node in _walk([self.deref(value)]):
            yield self.deref(node)

    def price(self, product: dict[str, Any]) -> tuple[Decimal | None, str | None]:
        for offer in self.offers(product.get("offers")):
            specs = self.deref(offer.get("priceSpecification"))
            spec_list = specs if isinstance(specs, list) else [specs]
            candidates = [(offer.get("lowPrice"), offer), (offer.get("price"), offer)]
            if "aggregateoffer" not in _types(offer):
                candidates.reverse()  # a plain Offer's own price before any low price
            candidates += [(s.get("price"), s) for s in spec_list if isinstance(s, dict)]
            for raw, holder in candidates:
                amount, symbol_currency = parse_price(raw)
                if amount is not None and amount > 0:
                    currency = holder.get("priceCurrency") or offer.get("priceCurrency")
                    return amount, currency if isinstance(currency, str) else symbol_currency
        return None, None


def _from_json_ld(soup: BeautifulSoup) -> _Found | None:
    scripts = soup.find_all(
        "script", type=lambda kind: (kind or "").split(";")[0].strip().lower() == "application/ld+json"
    )
    blocks = [data for script in scripts if (data := _load_json(script.get_text())) is not None]
    ld = _JsonLd(blocks)
    products = [node for node in _walk(blocks) if _types(node) & _PRODUCT_TYPES]
    if not products:
        return None
    priced = [(p, ld.price(p)) for p in products]
    product, (price, currency) = next(((p, pc) for p, pc in priced if pc[0] is not None), priced[0])
    return _Found(
        name=ld.text(product.get("name")),
        brand=ld.text(product.get("brand")) or ld.text(product.get("manufacturer")),
        category=ld.texts(product.get("category"), " > "),
        price=price,
        currency=currency,
        materials=ld.texts(product.get("material"), ", "),
        description=ld.text(product.get("description")),
    )


def _attribute(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(value)
    return None


def _from_microdata(soup: BeautifulSoup) -> _Found | None:
    scope = soup.find(
        attrs={"itemtype": re.compile(r"schema\.org/(Product|IndividualProduct|ProductModel)$", re.I)}
    )
    if not isinstance(scope, Tag):
        return None
    props: dict[str, str] = {}
    for element in scope.find_all(attrs={"itemprop": True}):
        if not isinstance(element, Tag):
            continue
        prop = (_attribute(element, "itemprop") or "").strip().lower()
        value = _attribute(element, "content")
        if value is None:
            value = element.get_text(" ", strip=True)
        if prop and value and prop not in props:
            props[prop] = value
    amount, symbol_currency = parse_price(props.get("price") or props.get("lowprice"))
    return _Found(
        name=props.get("name"),
        brand=props.get("brand"),
        category=props.get("category"),
        price=amount,
        currency=props.get("pricecurrency") or symbol_currency,
        materials=props.get("material"),
        description=props.get("description"),
    )


def _first(meta: dict[str, str], *keys: str) -> str | None:
    return next((meta[key] for key in keys if meta.get(key)), None)


_PRODUCT_OG_TYPES: Final = ("product", "product.item", "og:product")


def _from_meta(soup: BeautifulSoup) -> tuple[_Found, bool]:
    """OpenGraph / product meta tags, and whether they say the page is a product."""
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        if not isinstance(tag, Tag):
            continue
        key = (
            _attribute(tag, "property") or _attribute(tag, "name") or _attribute(tag, "itemprop") or ""
        ).strip()
        content = _attribute(tag, "content")
        if key and content is not None and key.lower() not in meta:
            meta[key.lower()] = content.strip()
    raw_price = _first(meta, "product:price:amount", "og:price:amount", "product:sale_price:amount", "price")
    amount, symbol_currency = parse_price(raw_price)
    found = _Found(
        name=_first(meta, "og:title", "twitter:title"),
        brand=_first(meta, "product:brand", "og:brand", "brand"),
        category=_first(meta, "product:category", "og:category", "category"),
        price=amount,
        currency=_first(meta, "product:price:currency", "og:price:currency", "product:sale_price:currency")
        or _first(meta, "pricecurrency")
        or symbol_currency,
        materials=_first(meta, "product:material", "material"),
        description=_first(meta, "og:description", "description"),
    )
    is_product = raw_price is not None or meta.get("og:type", "").lower() in _PRODUCT_OG_TYPES
    return found, is_product


_PERCENT: Final = r"(\d{1,3}(?:[.,]\d{1,2})?)\s*%"
_PERCENT_FIRST: Final = re.compile(_PERCENT + r"\s*([^\d%,;/|()\n:+.]+)")
_NAME_FIRST: Final = re.compile(r"([^\d%,;/|()\n:+.]+?)\s*[:\-–]?\s*" + _PERCENT)
_FILLER: Final = re.compile(r"^(?:and|with|&)\s+|\s+(?:and|with|&)$", re.IGNORECASE)


def _material_name(raw: str) -> str:
    name = _FILLER.sub("", " ".join(raw.split()).strip(" .-–")).strip(" .-–")
    return name[: tables.MAX_MATERIAL_NAME_LENGTH]


def parse_materials(text: str, *, known_only: bool = False) -> tuple[Material, ...]:
    """Material lines from composition text.

    "80% wool, 20% polyamide", "Wool 80% / Polyamide 20%" and
    "Shell: 80% wool, 20% nylon. Lining: 100% viscose" all work; in the last,
    lines are kept until they reach 100 %, so the shell is scored and the
    lining is not. Names without percentages ("Cotton, Elastane") share 100 %
    equally, as nothing better is known. With `known_only`, lines that name no
    known fibre are skipped (for free text, where "20% off" is not a material).
    """
    text = html_lib.unescape(text)
    first = re.search(_PERCENT, text)
    if first is None:
        names = [_material_name(n) for n in re.split(r"[,;/|+\n]|\band\b", text)]
        names = [n for n in names if n and (not known_only or resolve_fibre(n) is not None)]
        names = names[: tables.MAX_MATERIAL_LINES]
        if not names:
            return ()
        share = (Decimal(100) / len(names)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        return tuple(Material(name, share) for name in names)

    pairs_percent_first = [(name, pct) for pct, name in _PERCENT_FIRST.findall(text)]
    pairs_name_first = _NAME_FIRST.findall(text)
    # Both readings are tried; the one naming more known fibres wins, and on a
    # tie the text just before the first percentage decides ("Wool 80%" vs "80% wool").
    segment_start = max(text.rfind(sep, 0, first.start()) for sep in ",;/|:.\n(") + 1
    if re.search(r"[^\W\d_]", text[segment_start : first.start()]):
        readings = (pairs_name_first, pairs_percent_first)
    else:
        readings = (pairs_percent_first, pairs_name_first)
    parsed = [_material_lines(pairs, known_only=known_only) for pairs in readings]
    return max(parsed, key=lambda lines: sum(1 for m in lines if resolve_fibre(m.name) is not None))


def _material_lines(pairs: list[tuple[str, str]], *, known_only: bool) -> tuple[Material, ...]:
    materials: list[Material] = []
    total = Decimal(0)
    for raw_name, raw_percentage in pairs:
        name = _material_name(raw_name)
        percentage = Decimal(raw_percentage.replace(",", "."))
        if not name or percentage > 100 or (known_only and resolve_fibre(name) is None):
            continue
        if total + percentage > 100 or len(materials) == tables.MAX_MATERIAL_LINES:
            break
        total += percentage
        materials.append(Material(name, percentage))
    return tuple(materials)


def read_product(html: str, url: str) -> Product:
    """The product a page describes: JSON-LD first, then microdata, then meta tags.

    Fields missing from a richer source are filled from the next one. Raises
    ProductReadError when the page has no product or no usable price. The
    currency defaults to USD when the page gives none (documented in docs/scoring.md).
    """
    soup = BeautifulSoup(html, "html.parser")
    json_ld = _from_json_ld(soup)
    microdata = _from_microdata(soup)
    meta, meta_is_product = _from_meta(soup)
    if json_ld is None and microdata is None and not meta_is_product:
        raise ProductReadError(NO_PRODUCT)
    found = meta
    for richer in (microdata, json_ld):
        if richer is not None:
            found = richer.filled_from(found)
    if found.price is None or found.price <= 0 or found.price > tables.MAX_PRICE:
        raise ProductReadError(NO_PRICE)

    name = found.name
    if name is None and soup.title is not None:
        name = soup.title.get_text()
    description = _clean(found.description, tables.MAX_DESCRIPTION_LENGTH) or ""
    materials = parse_materials(found.materials) if found.materials else ()
    if not materials and "%" in description:
        # Many shops state the composition only in the description.
        materials = parse_materials(description, known_only=True)
    currency = (found.currency or "").strip().upper()
    return Product(
        url=url,
        brand=_clean(found.brand, tables.MAX_BRAND_LENGTH),
        name=_clean(name, tables.MAX_NAME_LENGTH),
        category=_clean(found.category, tables.MAX_CATEGORY_LENGTH),
        price=found.price,
        currency=currency if re.fullmatch(r"[A-Z]{3}", currency) else tables.DEFAULT_CURRENCY,
        materials=materials,
        description=description,
    )
