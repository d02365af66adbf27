"""Score a product: price fairness, resale potential and circularity, with reasons.

Everything here is a pure function of the `Product` it is given (no Django, no
network, no clock), so the same product always gets the same scores. The
formulas are documented with worked numbers in docs/scoring.md; the numbers
they use live in `tables.py`. One module on purpose, although long: every score
reads the same analysed facts (`_Facts`), and the sections follow docs/scoring.md.
Input is checked before it gets here (`valuations.serializers`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

from valuations.scoring import SCORER_VERSION, tables
from valuations.scoring.tables import BrandProfile, BrandTier, CategoryProfile, FibreProfile

# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    """One line of a product's composition, e.g. 80 % wool."""

    name: str
    percentage: Decimal


@dataclass(frozen=True)
class Product:
    """What the scorer knows about a product, from a page or from the client.

    Built from checked input only (`valuations.serializers`, or a page read within the
    same bounds); `url` is the product's normalised URL, its identity.
    """

    url: str
    brand: str | None
    name: str | None
    category: str | None
    price: Decimal
    currency: str
    materials: tuple[Material, ...]
    description: str = ""


@dataclass(frozen=True)
class Circularity:
    """The circularity block of a valuation; scores are integers 0–100."""

    circular_impact_score: int
    material_loop_score: int
    durability_score: int
    reparability_score: int
    recyclability_score: int
    takeback_available: bool
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class FairPriceRange:
    """What the product would typically and fairly cost, in `currency`."""

    min: int
    max: int
    currency: str


@dataclass(frozen=True)
class Valuation:
    """The result of scoring one product."""

    product_id: str
    price_fairness_score: int
    resale_potential_score: int
    circularity: Circularity
    explanations: tuple[str, ...]
    fair_price_range: FairPriceRange

    def as_response(self, *, generated_at: datetime, version: str = SCORER_VERSION) -> dict[str, Any]:
        """The exact response body of `POST /api/v1/value-decision` (spec §6)."""
        body = dataclasses.asdict(self, dict_factory=_camel_case)
        return {**body, "generatedAt": format_timestamp(generated_at), "version": version}


def _camel_case(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Field names as the spec spells them (`price_fairness_score` → `priceFairnessScore`)."""
    return {
        re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name): list(value)
        if isinstance(value, tuple)
        else value
        for name, value in pairs
    }


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second, as in `2025-11-29T16:00:00Z`."""
    if moment.tzinfo is None:
        # A naive time would be silently read as the server's local zone.
        raise ValueError("generated_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------
# Text lookups
# --------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """Lower-case words separated by single spaces, accents and punctuation removed.

    All table matching happens on this form, so "T-Shirt", "t shirt" and
    "T‑SHIRTS" meet the same synonym.
    """
    if not text.isascii():
        # Decompose "è" into "e" + accent and drop the accent; a regex over the
        # combining-marks block is much faster than testing each character.
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    return _NON_WORD.sub(" ", text.lower()).strip()


_COMBINING_MARKS: Final = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD: Final = re.compile(r"[^a-z0-9]+")


def _alternation(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any phrase as whole words, longest phrase first."""
    unique = sorted({normalise_text(p) for p in phrases if normalise_text(p)}, key=lambda p: (-len(p), p))
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in unique) + r")\b")


_CATEGORY_BY_PHRASE: Final[dict[str, CategoryProfile]] = {}
for _profile in tables.CATEGORIES:
    for _phrase in (_profile.key, *_profile.synonyms):
        _word = normalise_text(_phrase)
        for _form in (_word, _word + "s", _word + "es"):
            # The first table row wins a shared phrase; rows are ordered so it is the likelier one.
            _CATEGORY_BY_PHRASE.setdefault(_form, _profile)
_CATEGORY_PATTERN: Final = _alternation(_CATEGORY_BY_PHRASE)

_FIBRE_BY_KEY: Final[dict[str, FibreProfile]] = {f.key: f for f in tables.FIBRES}
_FIBRE_BY_PHRASE: Final[dict[str, FibreProfile]] = {}
for _fibre in tables.FIBRES:
    for _phrase in (_fibre.key, *_fibre.synonyms):
        _FIBRE_BY_PHRASE.setdefault(normalise_text(_phrase), _fibre)
_FIBRE_PATTERN: Final = _alternation(_FIBRE_BY_PHRASE)

_COMPANY_SUFFIXES: Final = frozenset({"inc", "ltd", "llc", "co", "corp", "gmbh", "sa", "ag", "plc"})


def _brand_key(brand: str) -> str:
    words = normalise_text(brand.replace("&", " and ").replace("'", "")).split()
    # "Levi Strauss & Co." → "levistrauss": legal suffixes (and the "&" before them) go.
    while len(words) > 1 and (words[-1] in _COMPANY_SUFFIXES or words[-1] == "and"):
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return "".join(words)


_BRAND_BY_KEY: Final[dict[str, BrandProfile]] = {}
for _brand in tables.BRANDS:
    for _alias in (_brand.name, *_brand.synonyms):
        _BRAND_BY_KEY.setdefault(_brand_key(_alias), _brand)

_PFAS_PHRASES: Final = tuple(normalise_text(p) for p in tables.PFAS_FREE_CUES)
_DESIGN_PHRASES: Final = tuple(normalise_text(p) for p in tables.DURABILITY_DESIGN_CUES)
_WARRANTY_PATTERN: Final = re.compile(r"\b(\d{1,2}) years? (?:warranty|guarantee)\b")


# The lookups are pure and see the same few hundred strings again and again, so
# a bounded cache turns repeat work into a dictionary hit.
@functools.lru_cache(maxsize=4096)
def resolve_category(category: str | None, name: str | None = None) -> tuple[CategoryProfile, str]:
    """The category profile for a product, and where it came from.

    Returns `(profile, source)` with source `"category"`, `"name"` (the
    category was missing or unknown but the product name names one) or
    `"fallback"` (the generic band). Within a text the match ending last wins,
    because English puts the head noun last: "shirt dress" is a dress,
    "leather belt bag" a bag, "Outerwear > Coats" a coat.
    """
    for text, source in ((category, "category"), (name, "name")):
        if not text:
            continue
        matches = list(_CATEGORY_PATTERN.finditer(normalise_text(text)))
        if matches:
            best = max(matches, key=lambda m: (m.end(), m.end() - m.start()))
            return _CATEGORY_BY_PHRASE[best.group(0)], source
    return tables.GENERIC_CATEGORY, "fallback"


@functools.lru_cache(maxsize=4096)
def resolve_fibre(name: str) -> FibreProfile | None:
    """The fibre a material name refers to ("Spandex" → elastane), or None.

    The leftmost fibre named wins ("wool lining" → wool); "recycled" and
    "organic" anywhere in the name pick the matching variant.
    """
    text = normalise_text(name)
    match = _FIBRE_PATTERN.search(text)
    if match is None:
        return None
    fibre = _FIBRE_BY_PHRASE[match.group(0)]
    padded = f" {text} "
    if fibre.key in tables.RECYCLED_VARIANTS and any(f" {w} " in padded for w in tables.RECYCLED_WORDS):
        return _FIBRE_BY_KEY[tables.RECYCLED_VARIANTS[fibre.key]]
    if fibre.key in tables.ORGANIC_VARIANTS and any(f" {w} " in padded for w in tables.ORGANIC_WORDS):
        return _FIBRE_BY_KEY[tables.ORGANIC_VARIANTS[fibre.key]]
    return fibre


@functools.lru_cache(maxsize=4096)
def resolve_brand(brand: str | None) -> BrandProfile | None:
    """The brand profile for a brand name ("LEVI'S", "Levi Strauss & Co."), or None."""
    if not brand:
        return None
    return _BRAND_BY_KEY.get(_brand_key(brand))


def _find_cue(phrases: tuple[str, ...], text: str) -> str | None:
    """The earliest (then longest) cue phrase in normalised `text` that is not negated.

    Plain substring search rather than one big regex: on a 5 000-character
    description it is an order of magnitude faster, and normalised text makes
    a word boundary simply a space or an end.
    """
    best: tuple[int, int, str] | None = None
    for phrase in phrases:
        start = text.find(phrase)
        while start != -1:
            end = start + len(phrase)
            whole_words = (start == 0 or text[start - 1] == " ") and (end == len(text) or text[end] == " ")
            if whole_words and not _negated(text, start):
                candidate = (start, -len(phrase), phrase)
                best = candidate if best is None else min(best, candidate)
                break
            start = text.find(phrase, start + 1)
    return best[2] if best else None


def _negated(text: str, start: int) -> bool:
    """Whether the word just before `start` is a negation ("not repairable")."""
    # A 20-character window holds any negation word whole; longer words cannot be one.
    before = text[max(0, start - 20) : start].rstrip()
    return before[before.rfind(" ") + 1 :] in tables.NEGATION_WORDS


def _find_design_cue(text: str) -> str | None:
    cue = _find_cue(_DESIGN_PHRASES, text)
    if cue is not None:
        return cue
    if "year" in text:
        for match in _WARRANTY_PATTERN.finditer(text):
            if int(match.group(1)) >= tables.LONG_WARRANTY_MIN_YEARS:
                return match.group(0)
    return None


# --------------------------------------------------------------------------
# Product ids
# --------------------------------------------------------------------------


def product_id(product: Product) -> str:
    """A stable id: `prod_` and 16 hex digits of a hash of URL, brand and name.

    Brand and name take part so two different overrides sent for one URL do not
    share an id; case and spacing of brand and name do not change it. The URL is
    taken as given: the request serializer normalises it (`normalise_url`).
    """
    key = "\n".join((product.url, normalise_text(product.brand or ""), normalise_text(product.name or "")))
    return "prod_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------
# Arithmetic helpers
# --------------------------------------------------------------------------

_ONE: Final = Decimal(1)
_HUNDRED: Final = Decimal(100)


def _round(value: Decimal) -> int:
    """Half-up rounding to an integer (Python's round() would round 0.5 to even)."""
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def _score(value: Decimal) -> int:
    """A 0–100 integer score."""
    return min(100, max(0, _round(value)))


def _interpolate(x: Decimal, anchors: list[tuple[Decimal, Decimal]]) -> Decimal:
    """Piecewise-linear through `anchors` (sorted by x), flat beyond both ends."""
    if x <= anchors[0][0]:
        return anchors[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return anchors[-1][1]


def _rounding_step(value: Decimal) -> int:
    """Two significant figures: 1 below 100, 10 below 1 000, 100 below 10 000, ..."""
    digits = len(str(int(value))) if value >= 1 else 1
    return int(10 ** max(0, digits - 2))


def _nice_range(low: Decimal, high: Decimal) -> tuple[int, int]:
    """Round a band outwards (min down, max up) to a step set by its top.

    One step for both ends keeps a range like 96–360 readable as 90–360.
    """
    step = _rounding_step(high)
    nice_low = math.floor(low / step) * step
    if nice_low <= 0:
        step_low = _rounding_step(low)
        nice_low = max(1, math.floor(low / step_low) * step_low)
    nice_high = max(nice_low, math.ceil(high / step) * step)
    return nice_low, nice_high


def _format_percentage(value: Decimal) -> str:
    """80 → "80", 33.30 → "33.3" (normalize() alone would print 100 as 1E+2)."""
    return format(value.normalize(), "f")


def _with_article(label: str) -> str:
    return ("an " if label[:1].lower() in "aeiou" else "a ") + label


def _quote(text: str, limit: int = 60) -> str:
    """User text echoed in an explanation: trimmed so an explanation stays short."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------
# Analysis shared by every stage
# --------------------------------------------------------------------------

Composition = Literal["mono", "blend", "mixed", "unknown"]


@dataclass(frozen=True)
class _MaterialFacts:
    durability: int
    recyclability: int
    microfibre_risk: int
    recycled_percent: int
    value_factor: Decimal
    composition: Composition
    dominant: tuple[FibreProfile, Decimal] | None
    unknown_names: tuple[str, ...]

    @property
    def sheds_microfibres(self) -> bool:
        return self.composition != "unknown" and self.microfibre_risk >= tables.MICROFIBRE_TOKEN_MIN


def _analyse_materials(materials: tuple[Material, ...]) -> _MaterialFacts:
    listed = [m for m in materials if m.percentage > 0]
    known: list[tuple[FibreProfile, Decimal]] = []
    unknown: list[str] = []
    share_by_base: dict[str, Decimal] = {}
    for material in listed:
        fibre = resolve_fibre(material.name)
        if fibre is None:
            unknown.append(material.name)
            base = "?" + normalise_text(material.name)
        else:
            known.append((fibre, material.percentage))
            base = fibre.base
        share_by_base[base] = share_by_base.get(base, Decimal(0)) + material.percentage

    known_total = sum((pct for _, pct in known), Decimal(0))
    if known_total == 0:
        return _MaterialFacts(
            durability=tables.NEUTRAL_DURABILITY,
            recyclability=tables.NEUTRAL_RECYCLABILITY,
            microfibre_risk=tables.NEUTRAL_MICROFIBRE_RISK,
            recycled_percent=0,
            value_factor=_ONE,
            composition="unknown",
            dominant=None,
            unknown_names=tuple(unknown),
        )

    # Unrecognised lines are left out of the averages rather than guessed at;
    # the explanation names them.
    def weighted(column: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
        return sum((value * pct for value, pct in column), Decimal(0)) / known_total

    listed_total = sum((m.percentage for m in listed), Decimal(0))
    top_share = max(share_by_base.values()) * _HUNDRED / listed_total
    composition: Composition
    if top_share >= tables.MONO_MATERIAL_THRESHOLD:
        composition = "mono"
    elif any(f.synthetic for f, _ in known) and any(not f.synthetic for f, _ in known):
        composition = "mixed"
    else:
        composition = "blend"

    value = weighted((f.value, pct) for f, pct in known)
    return _MaterialFacts(
        durability=_round(weighted((Decimal(f.durability), pct) for f, pct in known)),
        recyclability=_round(weighted((Decimal(f.recyclability), pct) for f, pct in known)),
        microfibre_risk=_round(weighted((Decimal(f.microfibre_risk), pct) for f, pct in known)),
        recycled_percent=_round(weighted((_HUNDRED if f.recycled else Decimal(0), pct) for f, pct in known)),
        value_factor=min(tables.MATERIAL_VALUE_MAX, max(tables.MATERIAL_VALUE_MIN, value)),
        composition=composition,
        # max() keeps the first of equal shares, i.e. the line listed first.
        dominant=max(known, key=lambda item: item[1]),
        unknown_names=tuple(unknown),
    )


@dataclass(frozen=True)
class _Facts:
    """Everything the stages need, derived once from the product."""

    product_id: str
    category: CategoryProfile
    category_source: str
    brand: BrandProfile | None
    tier: BrandTier
    materials: _MaterialFacts
    design_cue: str | None
    pfas_free: bool
    usd_per_unit: Decimal | None
    price_usd: Decimal | None
    band_low_usd: Decimal  # scaled by brand tier and material value
    band_high_usd: Decimal


def _analyse(product: Product) -> _Facts:
    if not product.price > 0:
        raise ValueError("price must be greater than 0")
    category, category_source = resolve_category(product.category, product.name)
    brand = resolve_brand(product.brand)
    tier: BrandTier = brand.tier if brand else "unknown"
    materials = _analyse_materials(product.materials)
    text = normalise_text(f"{product.name or ''} {product.description}")
    rate = tables.USD_PER_UNIT.get(product.currency.upper())
    multiplier = tables.BRAND_TIERS[tier][1] * materials.value_factor
    return _Facts(
        product_id=product_id(product),
        category=category,
        category_source=category_source,
        brand=brand,
        tier=tier,
        materials=materials,
        design_cue=_find_design_cue(text),
        pfas_free=_find_cue(_PFAS_PHRASES, text) is not None,
        usd_per_unit=rate,
        price_usd=product.price * rate if rate is not None else None,
        band_low_usd=category.band_low_usd * multiplier,
        band_high_usd=category.band_high_usd * multiplier,
    )


# --------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------


def _score_price(product: Product, facts: _Facts) -> tuple[int, FairPriceRange, str]:
    """The price fairness score, the fair price range and the explanation."""
    low, high = facts.band_low_usd, facts.band_high_usd
    mid = (low + high) / 2
    if facts.usd_per_unit is None or facts.price_usd is None:
        nice_low, nice_high = _nice_range(low, high)
        explanation = (
            f"There is no conversion rate for {_quote(product.currency, 10)}, so price fairness is "
            f"neutral and the typical range is shown in USD ({nice_low}–{nice_high})."
        )
        return tables.NEUTRAL_PRICE_FAIRNESS, FairPriceRange(nice_low, nice_high, "USD"), explanation

    # Compare in USD and convert only the displayed range: the same product
    # priced in EUR or USD then scores exactly alike.
    price = facts.price_usd
    score = _score(
        _interpolate(
            price,
            [
                (low, tables.PRICE_SCORE_AT_LOW),
                (mid, tables.PRICE_SCORE_AT_MID),
                (high, tables.PRICE_SCORE_AT_HIGH),
                (high * 3, tables.PRICE_SCORE_AT_3X_HIGH),
                (high * tables.PRICE_ZERO_AT_MULTIPLE, Decimal(0)),
            ],
        )
    )
    currency = product.currency.upper()
    nice_low, nice_high = _nice_range(low / facts.usd_per_unit, high / facts.usd_per_unit)
    fair_range = FairPriceRange(nice_low, nice_high, currency)

    what = _with_article(facts.category.label)
    if facts.tier in ("luxury", "premium", "value"):
        what += f" from {_with_article(facts.tier)} brand"
    shown = f"{currency} {nice_low}–{nice_high}"
    if price < low:
        explanation = (
            f"Price is below the typical range for {what} ({shown}); good value if quality holds up."
        )
    elif price <= mid:
        explanation = f"Price is within the typical range for {what} ({shown})."
    elif price <= high:
        explanation = f"Price is in the upper half of the typical range for {what} ({shown})."
    elif price <= high * tables.PRICE_SLIGHTLY_ABOVE_MULTIPLE:
        explanation = f"Price is slightly above the typical range for {what} ({shown})."
    else:
        ratio = (price / high).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        explanation = f"Price is {ratio} times the top of the typical range for {what} ({shown})."
    return score, fair_range, explanation


_TIER_PHRASES: Final[dict[BrandTier, str]] = {
    "luxury": "{brand} is a luxury brand with strong second-hand demand",
    "premium": "{brand} is a premium brand that resells well",
    "mainstream": "{brand} is a mainstream brand",
    "value": "{brand} is a value brand with little second-hand demand",
    "unknown": "the brand is not one we recognise",
}


def _score_resale(product: Product, facts: _Facts) -> tuple[int, str]:
    """The resale potential score and its explanation."""
    category = facts.category
    if facts.price_usd is None:
        price_signal = tables.RESALE_PRICE_SIGNAL_NEUTRAL
    else:
        # The unscaled band: brand tier already has its own weight here.
        low, high = category.band_low_usd, category.band_high_usd
        price_signal = _interpolate(
            facts.price_usd,
            [
                (low, tables.RESALE_PRICE_SIGNAL_AT_LOW),
                ((low + high) / 2, tables.RESALE_PRICE_SIGNAL_AT_MID),
                (high, tables.RESALE_PRICE_SIGNAL_AT_HIGH),
            ],
        )
    weights = tables.RESALE_WEIGHTS
    score = _score(
        weights["brand"] * tables.BRAND_TIERS[facts.tier][0]
        + weights["category"] * category.resale_base
        + weights["materials"] * facts.materials.durability
        + weights["price"] * price_signal
    )

    level = "high" if score >= 70 else "moderate" if score >= 40 else "low"
    if facts.brand is not None:
        brand_phrase = _TIER_PHRASES[facts.tier].format(brand=facts.brand.name)
    elif product.brand:
        brand_phrase = _TIER_PHRASES["unknown"]
    else:
        brand_phrase = "no brand was given"
    base = category.resale_base
    demand = "resells well" if base >= 60 else "resells moderately" if base >= 35 else "rarely resells"
    return score, f"Resale potential is {level}: {brand_phrase}, and this category {demand}."


def _score_circularity(facts: _Facts) -> Circularity:
    materials = facts.materials
    takeback = facts.brand is not None and facts.brand.takeback
    repair_service = facts.brand is not None and facts.brand.repair
    design = facts.design_cue is not None

    durability = _score(Decimal(materials.durability + (tables.DURABILITY_DESIGN_BONUS if design else 0)))
    recyclability = _score(
        materials.recyclability * tables.COMPOSITION_RECYCLABILITY_FACTOR[materials.composition]
    )
    material_loop = _score(
        tables.LOOP_RECYCLABILITY_WEIGHT * recyclability
        + tables.LOOP_RECYCLED_WEIGHT * materials.recycled_percent
        - tables.LOOP_MICROFIBRE_PENALTY * materials.microfibre_risk
        + (tables.LOOP_TAKEBACK_BONUS if takeback else 0)
    )
    reparability = _score(
        Decimal(
            facts.category.reparability_base
            + (tables.REPARABILITY_DESIGN_BONUS if design else 0)
            + (tables.REPARABILITY_REPAIR_SERVICE_BONUS if repair_service else 0)
        )
    )
    weights = tables.CIRCULAR_WEIGHTS
    circular_impact = _score(
        weights["durability"] * durability
        + weights["material_loop"] * material_loop
        + weights["recyclability"] * recyclability
        + weights["reparability"] * reparability
    )

    # In the order a response lists them.
    tokens = {
        "brand_takeback_program": takeback,
        "mono_material": materials.composition == "mono",
        "mixed_material_complex": materials.composition == "mixed",
        "recycled_content": materials.recycled_percent >= tables.RECYCLED_CONTENT_TOKEN_MIN,
        "microfiber_risk": materials.sheds_microfibres,
        "pfas_free": facts.pfas_free,
        "high_durability_design": design,
    }

    return Circularity(
        circular_impact_score=circular_impact,
        material_loop_score=material_loop,
        durability_score=durability,
        reparability_score=reparability,
        recyclability_score=recyclability,
        takeback_available=takeback,
        tokens=tuple(token for token, present in tokens.items() if present),
    )


_COMPOSITION_PHRASES: Final[dict[Composition, str]] = {
    "mono": "Made of a single material, which is the easiest to recycle.",
    "blend": "A blend of similar fibres; it can be recycled, with some losses.",
    "mixed": "A blend of synthetic and natural fibres, which is hard to separate for recycling.",
    "unknown": "",
}

# How the category was found, when not from the category given: (source, a category was given).
_CATEGORY_SOURCE_PHRASES: Final[dict[tuple[str, bool], str]] = {
    ("name", True): 'Category "{given}" is not in our price bands; the product name suggests {suggested}.',
    ("name", False): "No category was given; the product name suggests {suggested}.",
    ("fallback", True): 'Category "{given}" is not in our price bands, so a generic band was used.',
    ("fallback", False): "No category was given, so a generic price band was used.",
}


def _explain(product: Product, facts: _Facts, price_reason: str, resale_reason: str) -> tuple[str, ...]:
    """Short plain-language reasons, in a fixed order: price, resale, materials, brand, cues."""
    lines: list[str] = []
    category_phrase = _CATEGORY_SOURCE_PHRASES.get((facts.category_source, bool(product.category)))
    if category_phrase is not None:
        given, suggested = _quote(product.category or ""), _with_article(facts.category.label)
        lines.append(category_phrase.format(given=given, suggested=suggested))
    lines += [price_reason, resale_reason]

    materials = facts.materials
    if materials.dominant is None:
        lines.append("No recognised material composition was given, so material scores use neutral values.")
    else:
        fibre, share = materials.dominant
        lines.append(f"{_format_percentage(share)}% {fibre.key}: {fibre.note}.")
        lines.append(_COMPOSITION_PHRASES[materials.composition])
    if materials.unknown_names:
        names = ", ".join(_quote(n, 40) for n in materials.unknown_names[:5])
        lines.append(f"Not in our material tables, so not scored: {names}.")
    if materials.recycled_percent > 0:
        lines.append(f"{materials.recycled_percent}% recycled content keeps existing material in use.")
    if materials.sheds_microfibres:
        lines.append("Synthetic fibres shed microplastics when washed.")

    if facts.brand is not None and facts.brand.takeback:
        lines.append(f"{facts.brand.name} runs a take-back programme, so the item can go back when worn out.")
    if facts.brand is not None and facts.brand.repair:
        lines.append(f"{facts.brand.name} offers repairs, which helps the item last.")
    if facts.design_cue is not None:
        lines.append(f'The description mentions "{facts.design_cue}", a sign of durable design.')
    if facts.pfas_free:
        lines.append("The description says the finish is PFAS-free.")
    return tuple(lines)


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------

#: How far along a streamed valuation is when each stage of `score_stages` is yielded.
STAGE_PROGRESS: Final[dict[str, int]] = {"price": 35, "resale": 60, "circularity": 90, "complete": 100}


def score_product(product: Product) -> Valuation:
    """Score one product. Pure and deterministic; raises ValueError if price ≤ 0."""
    facts = _analyse(product)
    price_score, fair_range, price_explanation = _score_price(product, facts)
    resale_score, resale_explanation = _score_resale(product, facts)
    return Valuation(
        product_id=facts.product_id,
        price_fairness_score=price_score,
        resale_potential_score=resale_score,
        circularity=_score_circularity(facts),
        explanations=_explain(product, facts, price_explanation, resale_explanation),
        fair_price_range=fair_range,
    )


def score_stages(
    product: Product, *, generated_at: datetime, version: str = SCORER_VERSION
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A product's scores stage by stage, for streaming.

    Yields `("price", partial)`, `("resale", partial)`, `("circularity", partial)`
    where each partial holds the camelCase scores known so far, then
    `("complete", response)` with the full `Valuation.as_response()` body
    (equal to `score_product(product).as_response(...)`).
    """
    # Scoring takes well under a millisecond: the stages hand out, in the order a stream
    # shows them, what one `score_product` computed, each adding its fields to the last.
    response = score_product(product).as_response(generated_at=generated_at, version=version)
    fields = ["productId", "priceFairnessScore", "fairPriceRange", "resalePotentialScore", "circularity"]
    for stage, known in (("price", 3), ("resale", 4), ("circularity", 5)):
        yield stage, {name: response[name] for name in fields[:known]}
    yield "complete", response
