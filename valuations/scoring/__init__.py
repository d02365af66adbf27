"""The product valuation scorer: pure, deterministic and explained.

`engine` holds the formulas and the public API, `tables` every number they use.
"""

from __future__ import annotations

from typing import Final

#: Sent as `version` in every valuation and as the `X-Scorer-Version` header.
#: Bump it whenever a table or formula changes, so stored valuations can be
#: traced to the rules that produced them.
SCORER_VERSION: Final = "2026.11.1"
