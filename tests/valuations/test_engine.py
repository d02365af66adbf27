"""The valuation engine: the worked examples of docs/scoring.md, exactly, and its rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuations.scoring import SCORER_VERSION, tables
from valuations.scoring.engine import (
    STAGE_PROGRESS,
    Material,
    Product,
    product_id,
    resolve_brand,
    resolve_category,
    resolve_fibre,
    score_product,
    score_stages,
)

GENERATED_AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def make_product(
    *materials: tuple[str, float | int],
    category: str | None = "coat",
    price: str | int = 250,
    currency: str = "USD",
    brand: str | None = None,
    name: str | None = None,
    description: str = "",
    url: str = "https://shop.example/p/1",
) -> Product:
    return Product(
        url=url,
        brand=brand,
        name=name,
        category=category,
        price=Decimal(price),
        currency=currency,
        materials=tuple(Material(n, Decimal(str(p))) for n, p in materials),
        description=description,
    )


def scores(product: Product) -> dict[str, Any]:
    """The numbers the docs show, flattened for one-line comparisons."""
    body = score_product(product).as_response(generated_at=GENERATED_AT, version=SCORER_VERSION)
    circularity = body["circularity"]
    return {
        "price": body["priceFairnessScore"],
        "resale": body["resalePotentialScore"],
        "impact": circularity["circularImpactScore"],
        "loop": circularity["materialLoopScore"],
        "durability": circularity["durabilityScore"],
        "repair": circularity["reparabilityScore"],
        "recycle": circularity["recyclabilityScore"],
        "takeback": circularity["takebackAvailable"],
        "range": (
            body["fairPriceRange"]["min"],
            body["fairPriceRange"]["max"],
            body["fairPriceRange"]["currency"],
        ),
        "tokens": circularity["tokens"],
    }


def nano_puff(brand: str | None = None, description: str = "") -> Product:
    """The jacket of docs §8.4."""
    return make_product(
        ("recycled polyester", 100),
        category="jacket",
        name="Nano Puff Jacket",
        price=199,
        brand=brand,
        description=description,
    )


# (docs section, product, expected) — every number here is derived step by step in docs/scoring.md §8.
WORKED_EXAMPLES = [
    pytest.param(
        make_product(("wool", 100)),
        dict(price=89, resale=56, impact=64, loop=40, durability=80, repair=60, recycle=70, takeback=False,
             range=(130, 520, "USD"), tokens=["mono_material"]),
        id="8.1-wool-coat",
    ),
    pytest.param(
        make_product(("polyester", 100)),
        dict(price=81, resale=54, impact=52, loop=17, durability=70, repair=60, recycle=55, takeback=False,
             range=(90, 360, "USD"), tokens=["mono_material", "microfiber_risk"]),
        id="8.1-polyester-coat",
    ),
    pytest.param(
        make_product(("wool", 80), ("polyamide", 20), brand="Example Brand", name="Wool Coat", price=249),
        dict(price=89, resale=56, impact=53, loop=20, durability=81, repair=60, recycle=40, takeback=False,
             range=(130, 500, "USD"), tokens=["mixed_material_complex"]),
        id="8.2-wool-polyamide-blend",
    ),
    pytest.param(
        make_product(("cotton", 100), category="t-shirt", price=30),
        dict(price=85, resale=39, impact=49, loop=37, durability=60, repair=30, recycle=65, takeback=False,
             range=(15, 45, "USD"), tokens=["mono_material"]),
        id="8.3-typical-price",
    ),
    pytest.param(
        make_product(("cotton", 100), category="t-shirt", price=135),
        dict(price=10, resale=42, impact=49, loop=37, durability=60, repair=30, recycle=65, takeback=False,
             range=(15, 45, "USD"), tokens=["mono_material"]),
        id="8.3-three-times-the-band",
    ),
    pytest.param(
        nano_puff(),
        dict(price=75, resale=54, impact=59, loop=56, durability=65, repair=55, recycle=55, takeback=False,
             range=(60, 260, "USD"), tokens=["mono_material", "recycled_content", "microfiber_risk"]),
        id="8.4-jacket-no-brand",
    ),
    pytest.param(
        nano_puff(brand="Patagonia"),
        dict(price=88, resale=66, impact=65, loop=71, durability=65, repair=65, recycle=55, takeback=True,
             range=(100, 390, "USD"),
             tokens=["brand_takeback_program", "mono_material", "recycled_content", "microfiber_risk"]),
        id="8.4-jacket-takeback-brand",
    ),
    pytest.param(
        nano_puff(brand="Patagonia", description="PFC-free DWR finish. Repairable through Worn Wear."),
        dict(price=88, resale=66, impact=70, loop=71, durability=75, repair=75, recycle=55, takeback=True,
             range=(100, 390, "USD"),
             tokens=["brand_takeback_program", "mono_material", "recycled_content", "microfiber_risk",
                     "pfas_free", "high_durability_design"]),
        id="8.4-jacket-takeback-brand-with-cues",
    ),
    pytest.param(
        make_product(("wool", 100), price=270),
        dict(price=88, resale=56, impact=64, loop=40, durability=80, repair=60, recycle=70, takeback=False,
             range=(130, 520, "USD"), tokens=["mono_material"]),
        id="8.5-usd",
    ),
    pytest.param(
        make_product(("wool", 100), price=250, currency="EUR"),
        dict(price=88, resale=56, impact=64, loop=40, durability=80, repair=60, recycle=70, takeback=False,
             range=(120, 480, "EUR"), tokens=["mono_material"]),
        id="8.5-eur",
    ),
    pytest.param(
        make_product(category="Widgets", price=100),
        dict(price=87, resale=41, impact=38, loop=18, durability=50, repair=40, recycle=40, takeback=False,
             range=(30, 200, "USD"), tokens=[]),
        id="8.6-unknown-category-no-materials",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("product", "expected"), WORKED_EXAMPLES)
def test_it_scores_the_documented_examples_exactly(product: Product, expected: dict[str, Any]) -> None:
    assert scores(product) == expected


@pytest.mark.parametrize(
    ("materials", "category", "price", "recyclability", "tokens"),
    [
        ([("cotton", 100)], "t-shirt", 30, 65, ["mono_material"]),
        ([("cotton", 96), ("elastane", 4)], "t-shirt", 30, 63, ["mono_material"]),
        ([("cotton", 60), ("polyester", 40)], "t-shirt", 30, 37, ["mixed_material_complex"]),
        ([("wool", 70), ("cashmere", 30)], "sweater", 150, 60, []),
    ],
)
def test_composition_sets_recyclability_and_tokens(
    materials: list[tuple[str, int]], category: str, price: int, recyclability: int, tokens: list[str]
) -> None:
    result = scores(make_product(*materials, category=category, price=price))
    assert result["recycle"] == recyclability
    assert result["tokens"] == tokens


def test_wool_outlasts_polyester() -> None:
    wool = score_product(make_product(("wool", 100)))
    polyester = score_product(make_product(("polyester", 100)))
    assert wool.circularity.durability_score > polyester.circularity.durability_score


def test_the_same_product_scores_alike_in_eur_and_usd() -> None:
    in_usd = scores(make_product(("wool", 100), price=270))
    in_eur = scores(make_product(("wool", 100), price=250, currency="EUR"))
    assert {k: v for k, v in in_usd.items() if k != "range"} == {
        k: v for k, v in in_eur.items() if k != "range"
    }
    assert in_usd["range"] == (130, 520, "USD")
    assert in_eur["range"] == (120, 480, "EUR")


def test_it_explains_the_documented_sentences() -> None:
    explanations = score_product(make_product(("cotton", 100), category="t-shirt", price=135)).explanations
    assert explanations[0] == "Price is 3.0 times the top of the typical range for a T-shirt (USD 15–45)."
    assert "100% cotton: comfortable and recyclable, moderately hard-wearing." in explanations

    fallback = score_product(make_product(category="Widgets", price=100)).explanations
    assert fallback[0] == 'Category "Widgets" is not in our price bands, so a generic band was used.'
    assert "No recognised material composition was given, so material scores use neutral values." in fallback

    takeback = score_product(nano_puff(brand="patagonia"))
    assert (
        "Patagonia runs a take-back programme, so the item can go back when worn out."
        in takeback.explanations
    )
    assert takeback.explanations[0].startswith(
        "Price is within the typical range for a jacket from a premium brand"
    )


def test_it_names_materials_it_does_not_know() -> None:
    valuation = score_product(make_product(("wool", 80), ("unobtanium", 20)))
    assert "Not in our material tables, so not scored: unobtanium." in valuation.explanations
    # The unknown line is left out of the averages: wool alone sets durability.
    assert valuation.circularity.durability_score == 80
    assert "mono_material" not in valuation.circularity.tokens


def test_an_unknown_currency_gets_a_neutral_price_score_and_a_usd_range() -> None:
    valuation = score_product(make_product(("wool", 100), currency="XYZ"))
    assert valuation.price_fairness_score == 50
    assert valuation.fair_price_range.currency == "USD"
    assert valuation.explanations[0].startswith("There is no conversion rate for XYZ")


def test_it_infers_the_category_from_the_name() -> None:
    valuation = score_product(make_product(("wool", 100), category=None, name="Camel Wool Overcoat"))
    assert valuation.explanations[0] == "No category was given; the product name suggests a coat."
    assert valuation.fair_price_range.max == 520


def test_a_luxury_brand_widens_the_band() -> None:
    mainstream = score_product(make_product(("wool", 100), price=1000))
    luxury = score_product(make_product(("wool", 100), price=1000, brand="GUCCI"))
    assert luxury.price_fairness_score > mainstream.price_fairness_score
    assert luxury.resale_potential_score > mainstream.resale_potential_score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PFAS-free DWR", True),
        ("made without PFAS", True),
        ("PFC0 finish", True),
        ("water repellent finish", False),
    ],
)
def test_pfas_free_cue(text: str, expected: bool) -> None:
    tokens = score_product(
        make_product(("nylon", 100), category="jacket", description=text)
    ).circularity.tokens
    assert ("pfas_free" in tokens) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Backed by a lifetime warranty.", True),
        ("Reinforced knees", True),
        ("10-year guarantee", True),
        ("2 year warranty", False),
        ("Non-repairable zip", False),
        ("no lifetime warranty", False),
        ("", False),
    ],
)
def test_durability_design_cue(text: str, expected: bool) -> None:
    tokens = score_product(
        make_product(("cotton", 100), category="jeans", description=text)
    ).circularity.tokens
    assert ("high_durability_design" in tokens) is expected


@pytest.mark.parametrize(
    ("name", "fibre"),
    [
        ("Spandex", "elastane"),
        ("LYCRA®", "elastane"),
        ("Polyamide", "nylon"),
        ("recycled polyamide", "recycled nylon"),
        ("Recycled post-consumer polyester", "recycled polyester"),
        ("organic pima cotton", "organic cotton"),
        ("Tencel™ Lyocell", "lyocell"),
        ("Rayon", "viscose"),
        ("Merino", "merino wool"),
        ("wool lining", "wool"),
        ("Vegan leather", "polyurethane"),
        ("unobtanium", None),
    ],
)
def test_resolve_fibre(name: str, fibre: str | None) -> None:
    found = resolve_fibre(name)
    assert (found.key if found else None) == fibre


def test_the_fibre_table_covers_the_required_materials() -> None:
    required = [
        "wool", "merino", "cashmere", "alpaca", "cotton", "organic cotton", "recycled cotton", "linen", "hemp",
        "silk", "polyester", "recycled polyester", "nylon", "polyamide", "recycled nylon", "acrylic", "elastane",
        "spandex", "viscose", "rayon", "lyocell", "tencel", "modal", "leather", "suede", "down", "polyurethane",
    ]  # fmt: skip
    assert all(resolve_fibre(name) is not None for name in required)
    assert len(tables.FIBRES) >= 20


@pytest.mark.parametrize(
    ("category", "name", "key", "source"),
    [
        ("coat", None, "coat", "category"),
        ("Tees", None, "t-shirt", "category"),
        ("T-Shirts", None, "t-shirt", "category"),
        ("Women > Outerwear > Coats", None, "coat", "category"),
        ("Running Shoes", None, "sneakers", "category"),
        ("shirt dress", None, "dress", "category"),
        ("dress shirt", None, "shirt", "category"),
        ("Handbags", None, "bag", "category"),
        ("Scarves", None, "scarf", "category"),
        ("Jumper", None, "sweater", "category"),
        ("Pants", None, "trousers", "category"),
        ("Widgets", "Leather Chelsea Boots", "boots", "name"),
        (None, None, "generic", "fallback"),
        ("Widgets", "Thing", "generic", "fallback"),
    ],
)
def test_resolve_category(category: str | None, name: str | None, key: str, source: str) -> None:
    profile, found_source = resolve_category(category, name)
    assert (profile.key, found_source) == (key, source)


@pytest.mark.parametrize(
    ("brand", "name"),
    [
        ("LEVI'S", "Levi's"),
        ("Levi’s", "Levi's"),
        ("Levi Strauss & Co.", "Levi's"),
        ("The North Face", "The North Face"),
        ("north face", "The North Face"),
        ("H&M", "H&M"),
        ("Hermes", "Hermès"),
        ("Patagonia, Inc.", "Patagonia"),
    ],
)
def test_resolve_brand(brand: str, name: str) -> None:
    found = resolve_brand(brand)
    assert found is not None
    assert found.name == name


def test_take_back_brands_are_flagged() -> None:
    for brand in ("Patagonia", "The North Face", "Levi's", "H&M", "Eileen Fisher", "Nike"):
        valuation = score_product(make_product(("cotton", 100), category="t-shirt", price=30, brand=brand))
        assert valuation.circularity.takeback_available, brand
        assert valuation.circularity.tokens[0] == "brand_takeback_program"
    assert not score_product(make_product(("cotton", 100), brand="Gucci")).circularity.takeback_available


def test_the_response_has_exactly_the_spec_shape() -> None:
    body = score_product(make_product(("wool", 80), ("polyamide", 20))).as_response(
        generated_at=datetime(2026, 11, 21, 13, 0, 5, 123456, tzinfo=timezone(timedelta(hours=1))),
        version="2026.11.1",
    )
    assert list(body) == [
        "productId", "priceFairnessScore", "resalePotentialScore", "circularity", "explanations",
        "fairPriceRange", "generatedAt", "version",
    ]  # fmt: skip
    assert list(body["circularity"]) == [
        "circularImpactScore", "materialLoopScore", "durabilityScore", "reparabilityScore",
        "recyclabilityScore", "takebackAvailable", "tokens",
    ]  # fmt: skip
    assert list(body["fairPriceRange"]) == ["min", "max", "currency"]
    assert body["generatedAt"] == "2026-11-21T12:00:05Z"
    assert body["version"] == "2026.11.1"
    assert body["productId"].startswith("prod_")
    assert all(isinstance(line, str) and line for line in body["explanations"])
    json.dumps(body)  # plain JSON types only


def test_as_response_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_product(make_product(("wool", 100))).as_response(generated_at=datetime(2026, 11, 21))


def test_score_stages_yields_partials_then_the_full_response() -> None:
    product = make_product(("wool", 100))
    stages = list(score_stages(product, generated_at=GENERATED_AT))
    assert [name for name, _ in stages] == ["price", "resale", "circularity", "complete"]
    assert list(STAGE_PROGRESS) == ["price", "resale", "circularity", "complete"]
    price, resale, circularity, complete = (data for _, data in stages)
    assert price == {
        "productId": complete["productId"],
        "priceFairnessScore": 89,
        "fairPriceRange": complete["fairPriceRange"],
    }
    assert resale == {**price, "resalePotentialScore": 56}
    assert circularity == {**resale, "circularity": complete["circularity"]}
    assert complete == score_product(product).as_response(generated_at=GENERATED_AT, version=SCORER_VERSION)


def test_scoring_is_deterministic() -> None:
    product = make_product(
        ("wool", 80), ("polyamide", 20), brand="Patagonia", description="lifetime warranty"
    )
    assert score_product(product) == score_product(product)


def test_a_price_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="price"):
        score_product(make_product(("wool", 100), price=0))


def test_product_id_depends_on_url_brand_and_name() -> None:
    base = make_product(("wool", 100), url="https://shop.example/p/1?color=red&size=m")
    assert product_id(base) == product_id(make_product(("wool", 100), url=base.url, brand=None, name=None))
    assert product_id(base) == product_id(make_product(("wool", 100), url=base.url, category="jacket"))
    assert product_id(base) != product_id(make_product(("wool", 100), url="https://shop.example/p/2"))
    assert product_id(base) != product_id(make_product(("wool", 100), url=base.url, brand="Other"))
    assert product_id(base).startswith("prod_")
    assert len(product_id(base)) == len("prod_") + 16


# --------------------------------------------------------------------------
# Properties and documentation
# --------------------------------------------------------------------------

_fibre_names = st.sampled_from([f.key for f in tables.FIBRES] + ["spandex", "unobtanium", "80% wool"])


@settings(max_examples=200, deadline=None)
@given(
    materials=st.lists(st.tuples(_fibre_names, st.integers(0, 100)), max_size=6),
    category=st.one_of(st.none(), st.sampled_from([c.key for c in tables.CATEGORIES] + ["widget"])),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=2),
    currency=st.sampled_from([*tables.USD_PER_UNIT, "XYZ"]),
    brand=st.one_of(st.none(), st.sampled_from([b.name for b in tables.BRANDS] + ["Nobody"])),
    description=st.text(max_size=80),
)
def test_every_product_gets_integer_scores_between_0_and_100(
    materials: list[tuple[str, int]],
    category: str | None,
    price: Decimal,
    currency: str,
    brand: str | None,
    description: str,
) -> None:
    product = make_product(
        *materials,
        category=category,
        price=str(price),
        currency=currency,
        brand=brand,
        description=description,
    )
    body = score_product(product).as_response(generated_at=GENERATED_AT)
    numbers = [body["priceFairnessScore"], body["resalePotentialScore"]] + [
        value for key, value in body["circularity"].items() if key.endswith("Score")
    ]
    assert all(type(n) is int and 0 <= n <= 100 for n in numbers)
    assert 0 < body["fairPriceRange"]["min"] <= body["fairPriceRange"]["max"]
    assert body["explanations"]
    json.dumps(body)


def test_docs_tables_match_the_code() -> None:
    """docs/scoring.md repeats the tables; this keeps the copy honest."""
    docs = DOCS.read_text(encoding="utf-8")
    for c in tables.CATEGORIES:
        row = (
            f"| {c.key} | {c.group} | {c.band_low_usd}–{c.band_high_usd} | {c.resale_base} | "
            f"{c.reparability_base} | {', '.join(c.synonyms)} |"
        )
        assert row in docs, row
    for f in tables.FIBRES:
        row = (
            f"| {f.key} | {f.base} | {f.kind} | {f.durability} | {f.recyclability} | {f.microfibre_risk} | "
            f"{f.value} | {'yes' if f.recycled else ''} | {', '.join(f.synonyms)} |"
        )
        assert row in docs, row
    for b in tables.BRANDS:
        row = (
            f"| {b.name} | {b.tier} | {'yes' if b.takeback else ''} | {'yes' if b.repair else ''} | "
            f"{', '.join(b.synonyms)} |"
        )
        assert row in docs, row
    for code, rate in tables.USD_PER_UNIT.items():
        assert f"| {code} | {rate} |" in docs, code
    assert f"(`{SCORER_VERSION}`)" in docs
