"""Every number and word list the valuation scorer uses, in one module.

The engine (`engine.py`) holds only formulas; changing a score means changing a
row here, bumping `SCORER_VERSION` and updating `docs/scoring.md`. The values
are curated heuristics, not measurements: they rank products sensibly and
consistently, and each one is documented. Long because it is data: one module
keeps every value a scorer release is reviewed by in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

# --------------------------------------------------------------------------
# Currencies
# --------------------------------------------------------------------------

#: US dollars per one unit of each currency. Fixed on purpose: a valuation must
#: not change because a market moved overnight, and a scorer release pins them.
#: Reviewed for SCORER_VERSION 2026.11.1; a currency missing here gets a neutral
#: price score (see docs/scoring.md, "Unknown currency").
USD_PER_UNIT: Final[dict[str, Decimal]] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CHF": Decimal("1.13"),
    "CAD": Decimal("0.73"),
    "AUD": Decimal("0.66"),
    "NZD": Decimal("0.60"),
    "SEK": Decimal("0.095"),
    "NOK": Decimal("0.093"),
    "DKK": Decimal("0.145"),
    "PLN": Decimal("0.25"),
    "CZK": Decimal("0.043"),
    "JPY": Decimal("0.0067"),
    "CNY": Decimal("0.14"),
    "HKD": Decimal("0.128"),
    "SGD": Decimal("0.74"),
    "KRW": Decimal("0.00075"),
    "INR": Decimal("0.012"),
    "MXN": Decimal("0.055"),
    "BRL": Decimal("0.18"),
}

#: Currency symbols seen in price text when a page gives no ISO code. "$" is
#: read as USD because the other dollars rarely appear without their prefix.
CURRENCY_SYMBOLS: Final[dict[str, str]] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "C$": "CAD",
    "A$": "AUD",
    "CA$": "CAD",
    "AU$": "AUD",
    "CHF": "CHF",
    "zł": "PLN",
    "₹": "INR",
    "₩": "KRW",
}

# --------------------------------------------------------------------------
# Categories: price bands, resale and repair baselines
# --------------------------------------------------------------------------

CategoryGroup = Literal[
    "outerwear",
    "tops",
    "knitwear",
    "bottoms",
    "dresses",
    "tailoring",
    "footwear",
    "bags",
    "accessory",
    "basics",
    "generic",
]


@dataclass(frozen=True)
class CategoryProfile:
    """One product category.

    `band_low_usd`..`band_high_usd` is what a mainstream brand typically charges
    in US dollars for a mid-quality item; the engine scales it by brand tier and
    material value. `resale_base` is how well the category sells second hand
    (0–100); `reparability_base` how easily it is usually repaired (0–100).
    """

    key: str
    label: str
    group: CategoryGroup
    band_low_usd: Decimal
    band_high_usd: Decimal
    resale_base: int
    reparability_base: int
    synonyms: tuple[str, ...] = ()


def _category(
    key: str,
    label: str,
    group: CategoryGroup,
    low: int,
    high: int,
    resale: int,
    repair: int,
    synonyms: tuple[str, ...] = (),
) -> CategoryProfile:
    return CategoryProfile(key, label, group, Decimal(low), Decimal(high), resale, repair, synonyms)


CATEGORIES: Final[tuple[CategoryProfile, ...]] = (
    # key, label, group, band low, band high (USD), resale base, reparability base, synonyms
    _category(
        "coat", "coat", "outerwear", 120, 450, 65, 60,
        ("overcoat", "trench", "trench coat", "parka", "peacoat", "pea coat", "puffer", "raincoat",
         "topcoat"),
    ),
    _category(
        "jacket", "jacket", "outerwear", 80, 300, 65, 55,
        ("blazer", "bomber", "windbreaker", "anorak", "gilet", "shell", "fleece", "outerwear"),
    ),
    _category(
        "t-shirt", "T-shirt", "tops", 15, 45, 20, 30,
        ("t shirt", "tshirt", "tee", "tank top", "tank", "camisole", "top"),
    ),
    _category(
        "shirt", "shirt", "tops", 30, 100, 35, 45,
        ("blouse", "button down", "button up", "oxford shirt", "polo", "polo shirt", "overshirt"),
    ),
    _category(
        "sweater", "sweater", "knitwear", 50, 180, 45, 50,
        ("jumper", "pullover", "cardigan", "knit", "knitwear", "turtleneck", "rollneck"),
    ),
    _category("sweatshirt", "sweatshirt", "tops", 35, 100, 35, 35, ("hoodie", "hoody", "sweat")),
    _category("jeans", "pair of jeans", "bottoms", 50, 150, 50, 65, ("jean", "denim")),
    _category(
        "trousers", "pair of trousers", "bottoms", 45, 150, 35, 55,
        ("trouser", "pants", "pant", "chinos", "chino", "slacks", "joggers", "leggings"),
    ),
    _category("shorts", "pair of shorts", "bottoms", 25, 70, 25, 45),
    _category("skirt", "skirt", "bottoms", 35, 120, 35, 50),
    _category("dress", "dress", "dresses", 50, 200, 45, 45, ("gown", "jumpsuit", "playsuit")),
    _category("suit", "suit", "tailoring", 250, 800, 50, 65, ("tuxedo",)),
    _category(
        "sneakers", "pair of sneakers", "footwear", 60, 160, 55, 25,
        ("sneaker", "trainers", "trainer", "running shoes", "running shoe", "kicks"),
    ),
    _category(
        "shoes", "pair of shoes", "footwear", 70, 220, 45, 60,
        ("shoe", "loafers", "loafer", "derbies", "derby", "brogues", "heels", "pumps", "flats", "sandals",
         "sandal", "mules", "clogs", "footwear"),
    ),
    _category("boots", "pair of boots", "footwear", 100, 300, 60, 80, ("boot", "chelsea boots")),
    _category(
        "bag", "bag", "bags", 50, 300, 70, 55,
        ("handbag", "purse", "tote", "tote bag", "crossbody", "shoulder bag", "clutch", "backpack",
         "rucksack", "duffel", "duffle", "weekender", "satchel"),
    ),
    _category("wallet", "wallet", "accessory", 30, 120, 45, 35, ("card holder", "cardholder")),
    _category("belt", "belt", "accessory", 25, 90, 30, 60),
    _category("scarf", "scarf", "accessory", 25, 120, 35, 50, ("scarves", "shawl", "stole", "snood")),
    _category("hat", "hat", "accessory", 20, 70, 25, 30, ("cap", "beanie", "beret", "bucket hat", "fedora")),
    _category("gloves", "pair of gloves", "accessory", 20, 80, 20, 40, ("glove", "mittens", "mitts")),
    _category("watch", "watch", "accessory", 100, 500, 70, 70, ("wristwatch", "timepiece")),
    _category("sunglasses", "pair of sunglasses", "accessory", 50, 200, 45, 40, ("sunglass", "shades")),
    _category("socks", "pair of socks", "basics", 8, 25, 5, 20, ("sock",)),
    _category("underwear", "piece of underwear", "basics", 10, 40, 5, 10,
              ("briefs", "boxers", "bra", "lingerie")),
)  # fmt: skip

#: Used when neither the category nor the product name names a known category.
GENERIC_CATEGORY: Final[CategoryProfile] = CategoryProfile(
    "generic", "item of this kind", "generic", Decimal(30), Decimal(200), 35, 40
)

# --------------------------------------------------------------------------
# Brands: tier, take-back and repair programmes
# --------------------------------------------------------------------------

BrandTier = Literal["luxury", "premium", "mainstream", "value", "unknown"]


@dataclass(frozen=True)
class BrandProfile:
    """A brand we recognise. `takeback` means the brand runs a programme that
    takes used items back for resale or recycling; `repair` that it repairs them."""

    name: str
    tier: BrandTier
    takeback: bool = False
    repair: bool = False
    synonyms: tuple[str, ...] = ()


#: A curated snapshot of public programmes (take-back: Patagonia Worn Wear,
#: The North Face Renewed, Levi's SecondHand, H&M garment collecting, Eileen
#: Fisher Renew, Nike Refurbished, Arc'teryx ReBird, ...). Review it with each
#: scorer release; programmes start and stop.
BRANDS: Final[tuple[BrandProfile, ...]] = (
    BrandProfile("Patagonia", "premium", takeback=True, repair=True),
    BrandProfile("The North Face", "premium", takeback=True, repair=True, synonyms=("north face", "tnf")),
    BrandProfile("Levi's", "mainstream", takeback=True, repair=True, synonyms=("levi strauss",)),
    BrandProfile("H&M", "value", takeback=True, synonyms=("h and m", "hennes mauritz", "hennes and mauritz")),
    BrandProfile("Eileen Fisher", "premium", takeback=True),
    BrandProfile("Nike", "mainstream", takeback=True),
    BrandProfile("Arc'teryx", "premium", takeback=True, repair=True),
    BrandProfile("Nudie Jeans", "premium", takeback=True, repair=True, synonyms=("nudie",)),
    BrandProfile("Uniqlo", "value", takeback=True, repair=True),
    BrandProfile("Zara", "value", takeback=True),
    BrandProfile("Canada Goose", "luxury", takeback=True, repair=True),
    BrandProfile("Barbour", "premium", takeback=True, repair=True),
    BrandProfile("Coach", "premium", takeback=True, repair=True),
    BrandProfile("Filson", "premium", repair=True),
    BrandProfile("Adidas", "mainstream"),
    BrandProfile("Gap", "mainstream"),
    BrandProfile("J.Crew", "mainstream", synonyms=("j crew",)),
    BrandProfile("Everlane", "mainstream"),
    BrandProfile("Mango", "value"),
    BrandProfile("COS", "premium"),
    BrandProfile("Shein", "value"),
    BrandProfile("Primark", "value"),
    BrandProfile("Old Navy", "value"),
    BrandProfile("Gucci", "luxury"),
    BrandProfile("Prada", "luxury"),
    BrandProfile("Louis Vuitton", "luxury", repair=True, synonyms=("lv",)),
    BrandProfile("Hermès", "luxury", repair=True),
    BrandProfile("Chanel", "luxury"),
    BrandProfile("Burberry", "luxury"),
    BrandProfile("Saint Laurent", "luxury", synonyms=("ysl", "yves saint laurent")),
    BrandProfile("Bottega Veneta", "luxury"),
    BrandProfile("Rolex", "luxury", repair=True),
    BrandProfile("Omega", "luxury", repair=True),
)

#: Brand tier → (resale score 0–100, price band multiplier). Comparables are
#: within a tier: a luxury coat is judged against luxury prices.
BRAND_TIERS: Final[dict[BrandTier, tuple[int, Decimal]]] = {
    "luxury": (90, Decimal("2.5")),
    "premium": (70, Decimal("1.5")),
    "mainstream": (50, Decimal("1.0")),
    "value": (25, Decimal("0.7")),
    "unknown": (40, Decimal("1.0")),
}

# --------------------------------------------------------------------------
# Fibres
# --------------------------------------------------------------------------

FibreKind = Literal["plant", "animal", "regenerated", "leather", "synthetic"]


@dataclass(frozen=True)
class FibreProfile:
    """One material.

    Scores are 0–100: `durability` (how long it wears), `recyclability` (how
    readily a mono-material item of it is recycled today), `microfibre_risk`
    (persistent fibre shedding in the wash). `value` scales the price band
    (cashmere costs more to make than acrylic). `base` groups variants of one
    fibre (organic cotton and cotton) for the mono-material rule.
    """

    key: str
    base: str
    kind: FibreKind
    durability: int
    recyclability: int
    microfibre_risk: int
    value: Decimal
    note: str
    recycled: bool = False
    synonyms: tuple[str, ...] = ()

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"


def _fibre(
    key: str,
    base: str,
    kind: FibreKind,
    durability: int,
    recyclability: int,
    microfibre: int,
    value: str,
    note: str,
    *,
    recycled: bool = False,
    synonyms: tuple[str, ...] = (),
) -> FibreProfile:
    return FibreProfile(
        key, base, kind, durability, recyclability, microfibre, Decimal(value), note, recycled, synonyms
    )


FIBRES: Final[tuple[FibreProfile, ...]] = (
    # key, base, kind, durability, recyclability, microfibre risk, value; then the note and synonyms
    _fibre("wool", "wool", "animal", 80, 70, 10, "1.15",
           "resilient, long-lasting and widely recycled",
           synonyms=("virgin wool", "new wool", "lambswool", "lambs wool", "shetland wool", "boiled wool")),
    _fibre("merino wool", "wool", "animal", 70, 70, 10, "1.25",
           "soft and breathable, wears a little faster than coarser wool",
           synonyms=("merino", "extrafine merino", "extra fine merino")),
    _fibre("recycled wool", "wool", "animal", 70, 70, 10, "1.0",
           "reuses existing wool fibres",
           recycled=True, synonyms=("regenerated wool", "reclaimed wool")),
    _fibre("cashmere", "cashmere", "animal", 55, 70, 10, "1.8",
           "very soft and valuable, but pills and wears faster"),
    _fibre("alpaca", "alpaca", "animal", 75, 65, 10, "1.4",
           "warm and hard-wearing"),
    _fibre("mohair", "mohair", "animal", 75, 65, 10, "1.3",
           "strong, lustrous and hard-wearing"),
    _fibre("silk", "silk", "animal", 50, 40, 5, "1.5",
           "delicate and needs careful washing",
           synonyms=("mulberry silk",)),
    _fibre("down", "down", "animal", 75, 70, 5, "1.3",
           "warm fill that lasts for years and can be recovered",
           synonyms=("goose down", "duck down", "down fill")),
    _fibre("feathers", "feathers", "animal", 70, 60, 5, "1.0",
           "durable fill that can be recovered",
           synonyms=("feather",)),
    _fibre("cotton", "cotton", "plant", 60, 65, 10, "1.0",
           "comfortable and recyclable, moderately hard-wearing",
           synonyms=("pima cotton", "supima", "supima cotton", "egyptian cotton", "bci cotton",
                     "better cotton")),
    _fibre("organic cotton", "cotton", "plant", 60, 65, 10, "1.05",
           "grown without synthetic pesticides; wears like cotton",
           synonyms=("certified organic cotton", "gots cotton")),
    _fibre("recycled cotton", "cotton", "plant", 50, 60, 10, "0.95",
           "reuses cotton, though shorter fibres are a little weaker",
           recycled=True),
    _fibre("linen", "linen", "plant", 75, 60, 5, "1.1",
           "strong and gets softer with wear",
           synonyms=("flax",)),
    _fibre("hemp", "hemp", "plant", 85, 60, 5, "1.05",
           "one of the strongest natural fibres"),
    _fibre("jute", "jute", "plant", 60, 55, 5, "0.9",
           "sturdy and biodegradable"),
    _fibre("ramie", "ramie", "plant", 70, 55, 5, "0.95",
           "strong and holds its shape"),
    _fibre("viscose", "viscose", "regenerated", 35, 35, 20, "0.85",
           "soft but weak when wet, so it wears quickly",
           synonyms=("rayon", "viscose rayon", "ecovero")),
    _fibre("lyocell", "lyocell", "regenerated", 55, 45, 15, "1.0",
           "strong for a cellulose fibre",
           synonyms=("tencel", "tencel lyocell")),
    _fibre("modal", "modal", "regenerated", 45, 40, 15, "0.95",
           "soft and stronger than viscose",
           synonyms=("tencel modal", "micromodal")),
    _fibre("cupro", "cupro", "regenerated", 45, 35, 15, "1.0",
           "silky but delicate",
           synonyms=("bemberg",)),
    _fibre("leather", "leather", "leather", 90, 20, 0, "1.3",
           "very durable and repairable, but hard to recycle",
           synonyms=("cowhide", "calfskin", "calf leather", "full grain leather", "top grain leather",
                     "genuine leather", "lambskin", "nappa", "nappa leather")),
    _fibre("suede", "leather", "leather", 70, 15, 0, "1.3",
           "soft leather that marks and wears faster",
           synonyms=("nubuck", "suede leather")),
    _fibre("polyester", "polyester", "synthetic", 70, 55, 80, "0.8",
           "hard-wearing but sheds microplastic fibres",
           synonyms=("pes", "poly", "pet", "polyethylene terephthalate")),
    _fibre("recycled polyester", "polyester", "synthetic", 65, 55, 85, "0.85",
           "made from recycled plastic, but still sheds microplastic fibres",
           recycled=True, synonyms=("rpet", "r pet", "recycled pet", "repreve")),
    _fibre("nylon", "nylon", "synthetic", 85, 50, 60, "0.9",
           "very strong and abrasion-resistant",
           synonyms=("polyamide", "pa", "nylon 6", "nylon 6 6", "cordura")),
    _fibre("recycled nylon", "nylon", "synthetic", 80, 55, 60, "0.95",
           "strong and reuses existing nylon",
           recycled=True, synonyms=("recycled polyamide", "econyl")),
    _fibre("acrylic", "acrylic", "synthetic", 40, 20, 95, "0.7",
           "pills quickly and sheds the most microplastic fibres",
           synonyms=("polyacrylic", "modacrylic")),
    _fibre("elastane", "elastane", "synthetic", 30, 5, 40, "0.9",
           "adds stretch but wears out first and blocks recycling",
           synonyms=("spandex", "lycra", "elasthane", "elasthan")),
    _fibre("polypropylene", "polypropylene", "synthetic", 60, 45, 60, "0.75",
           "light and tough",
           synonyms=("pp", "olefin")),
    _fibre("polyurethane", "polyurethane", "synthetic", 30, 5, 30, "0.7",
           "coatings and faux leather crack and peel",
           synonyms=("pu", "pu leather", "faux leather", "vegan leather", "synthetic leather",
                     "leatherette")),
    _fibre("rubber", "rubber", "synthetic", 75, 10, 20, "0.9",
           "hard-wearing soles, rarely recycled",
           synonyms=("natural rubber", "synthetic rubber")),
)  # fmt: skip

#: Words in a material name that switch a fibre to its recycled variant
#: ("recycled post-consumer polyester" → recycled polyester).
RECYCLED_WORDS: Final[tuple[str, ...]] = ("recycled", "regenerated", "reclaimed", "post consumer")
RECYCLED_VARIANTS: Final[dict[str, str]] = {
    "polyester": "recycled polyester",
    "nylon": "recycled nylon",
    "cotton": "recycled cotton",
    "organic cotton": "recycled cotton",
    "wool": "recycled wool",
}
#: "organic" in a material name switches cotton to organic cotton ("organic pima cotton").
ORGANIC_WORDS: Final[tuple[str, ...]] = ("organic",)
ORGANIC_VARIANTS: Final[dict[str, str]] = {"cotton": "organic cotton"}

# --------------------------------------------------------------------------
# Material rules
# --------------------------------------------------------------------------

#: One fibre family (its `base`) at or above this share makes an item mono-material.
MONO_MATERIAL_THRESHOLD: Final = Decimal(95)

#: Recyclability multiplier by composition: blends of similar fibres lose some
#: value in sorting; synthetic + natural blends are hard to separate at all.
COMPOSITION_RECYCLABILITY_FACTOR: Final[dict[str, Decimal]] = {
    "mono": Decimal("1.0"),
    "blend": Decimal("0.85"),
    "mixed": Decimal("0.6"),
    "unknown": Decimal("1.0"),
}

#: Material averages used when no material line is recognised.
NEUTRAL_DURABILITY: Final = 50
NEUTRAL_RECYCLABILITY: Final = 40
NEUTRAL_MICROFIBRE_RISK: Final = 30

#: The material value factor is kept inside these bounds so one exotic fibre
#: cannot move a price band beyond reason.
MATERIAL_VALUE_MIN: Final = Decimal("0.7")
MATERIAL_VALUE_MAX: Final = Decimal("1.8")

#: Recycled share (%) at or above which the `recycled_content` token is given.
RECYCLED_CONTENT_TOKEN_MIN: Final = 50
#: Weighted microfibre risk at or above which the `microfiber_risk` token is given.
MICROFIBRE_TOKEN_MIN: Final = 50

# --------------------------------------------------------------------------
# Score formulas' weights and bonuses
# --------------------------------------------------------------------------

#: Price fairness anchors: the score at the band's low, middle and high price,
#: at three times the high price, and the multiple of the high price where it
#: reaches zero. Straight lines join them; below the low price it stays 95.
PRICE_SCORE_AT_LOW: Final = Decimal(95)
PRICE_SCORE_AT_MID: Final = Decimal(85)
PRICE_SCORE_AT_HIGH: Final = Decimal(60)
PRICE_SCORE_AT_3X_HIGH: Final = Decimal(10)
PRICE_ZERO_AT_MULTIPLE: Final = Decimal(4)
#: Above the band but below this multiple of its top, the explanation says "slightly".
PRICE_SLIGHTLY_ABOVE_MULTIPLE: Final = Decimal("1.5")

#: Resale price signal: price at the (unscaled) band's low / mid / high.
RESALE_PRICE_SIGNAL_AT_LOW: Final = Decimal(20)
RESALE_PRICE_SIGNAL_AT_MID: Final = Decimal(50)
RESALE_PRICE_SIGNAL_AT_HIGH: Final = Decimal(80)
#: Used when the currency is unknown.
RESALE_PRICE_SIGNAL_NEUTRAL: Final = Decimal(50)

RESALE_WEIGHTS: Final[dict[str, Decimal]] = {
    "brand": Decimal("0.40"),
    "category": Decimal("0.30"),
    "materials": Decimal("0.20"),
    "price": Decimal("0.10"),
}

#: Material loop = 0.6 × recyclability + 0.4 × recycled % − 0.2 × microfibre risk (+ take-back bonus).
LOOP_RECYCLABILITY_WEIGHT: Final = Decimal("0.6")
LOOP_RECYCLED_WEIGHT: Final = Decimal("0.4")
LOOP_MICROFIBRE_PENALTY: Final = Decimal("0.2")
LOOP_TAKEBACK_BONUS: Final = Decimal(15)

DURABILITY_DESIGN_BONUS: Final = 10
REPARABILITY_DESIGN_BONUS: Final = 10
REPARABILITY_REPAIR_SERVICE_BONUS: Final = 10

CIRCULAR_WEIGHTS: Final[dict[str, Decimal]] = {
    "durability": Decimal("0.35"),
    "material_loop": Decimal("0.25"),
    "recyclability": Decimal("0.20"),
    "reparability": Decimal("0.20"),
}

#: Price fairness used when the currency has no conversion factor.
NEUTRAL_PRICE_FAIRNESS: Final = 50

# --------------------------------------------------------------------------
# Text cues (matched on the name and description, lower-cased, punctuation as spaces)
# --------------------------------------------------------------------------

PFAS_FREE_CUES: Final[tuple[str, ...]] = (
    "pfas free",
    "pfc free",
    "pfcs free",
    "pfc0",
    "free of pfas",
    "free of pfcs",
    "free of pfc",
    "free from pfas",
    "free from pfcs",
    "without pfas",
    "without pfcs",
    "no pfas",
    "no pfcs",
    "fluorocarbon free",
    "fluorine free",
    "non fluorinated",
)

DURABILITY_DESIGN_CUES: Final[tuple[str, ...]] = (
    "lifetime warranty",
    "lifetime guarantee",
    "guaranteed for life",
    "ironclad guarantee",
    "repairable",
    "easy to repair",
    "repair kit",
    "repair service",
    "reinforced",
    "triple stitched",
    "bar tacked",
    "bartacked",
    "goodyear welt",
    "goodyear welted",
    "resoleable",
    "resolable",
    "can be resoled",
    "replaceable",
    "built to last",
)

#: "<N> year warranty/guarantee" counts as a durability cue from this many years.
LONG_WARRANTY_MIN_YEARS: Final = 5

#: A cue preceded by one of these words does not count ("not repairable").
NEGATION_WORDS: Final[frozenset[str]] = frozenset({"not", "non", "no", "never", "without"})

# --------------------------------------------------------------------------
# Input limits (the request serializer and the page reader both keep to them)
# --------------------------------------------------------------------------

MAX_MATERIAL_LINES: Final = 20
MAX_BRAND_LENGTH: Final = 200
MAX_NAME_LENGTH: Final = 200
MAX_CATEGORY_LENGTH: Final = 100
MAX_MATERIAL_NAME_LENGTH: Final = 100
MAX_DESCRIPTION_LENGTH: Final = 5000
MAX_PRICE: Final = Decimal(1_000_000_000)
DEFAULT_CURRENCY: Final = "USD"
