"""Seven small, real tools for the tool-use example — documented badly on purpose.

Each docstring is one terse line. What the line leaves out is how to call the tool: unit and
currency codes, the date format, whether a rate is a fraction or a percentage, grams or
kilograms, months or years. An agent that reads only the docstring guesses and often guesses
wrong; an agent (or DRAFT) that calls the tool and reads its results and error messages learns
the conventions, and can write them into better documentation.

Every public function here is a tool: pure, deterministic, standard library only. Bad arguments
raise ValueError with a message that names the valid options.
"""

import datetime
import math
import re
import types

__all__ = [
    "convert_length",
    "convert_currency",
    "workdays",
    "shipping_cost",
    "final_price",
    "stock_level",
    "loan_payment",
]

_METRES_PER_UNIT = types.MappingProxyType(
    {
        "mm": 0.001,
        "cm": 0.01,
        "m": 1.0,
        "km": 1000.0,
        "in": 0.0254,
        "hand": 0.1016,
        "ft": 0.3048,
        "yd": 0.9144,
        "fathom": 1.8288,
        "chain": 20.1168,
        "furlong": 201.168,
        "mi": 1609.344,
        "league": 4828.032,
    }
)

# Units of each currency that one euro buys; the rates never change.
_PER_EURO = types.MappingProxyType({"EUR": 1.0, "USD": 1.08, "GBP": 0.85, "CHF": 0.95, "JPY": 160.0, "SEK": 11.5})

_ZONES = types.MappingProxyType({"A": "domestic", "B": "EU", "C": "rest of Europe", "D": "rest of world"})
# Zone -> (price of the first 500 g, price of each further 500 g or part of it).
_ZONE_PRICES = types.MappingProxyType({"A": (4.5, 1.0), "B": (8.9, 1.8), "C": (12.5, 2.6), "D": (19.0, 4.2)})
_MAX_GRAMS = 30_000

_ITEMS = types.MappingProxyType(
    {
        "SKU-1042": "steel kettle",
        "SKU-1187": "desk lamp",
        "SKU-2210": "wool blanket",
        "SKU-2391": "chef's knife",
        "SKU-3075": "french press",
        "SKU-3318": "cast-iron pan",
        "SKU-4460": "bath towel",
        "SKU-4702": "wall clock",
    }
)
_WAREHOUSES = types.MappingProxyType({"BER": "Berlin", "LIS": "Lisbon", "OSL": "Oslo"})
_STOCK = types.MappingProxyType(
    {
        "SKU-1042": (37, 12, 0),
        "SKU-1187": (5, 48, 21),
        "SKU-2210": (0, 16, 93),
        "SKU-2391": (64, 9, 27),
        "SKU-3075": (18, 0, 41),
        "SKU-3318": (22, 75, 6),
        "SKU-4460": (140, 88, 59),
        "SKU-4702": (3, 31, 14),
    }
)
_SKU = re.compile(r"SKU-\d{4}")
_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")


def _names(options: types.MappingProxyType) -> str:
    return ", ".join(sorted(options))


def convert_length(value: float, unit: str, to: str) -> float:
    """Convert a length."""
    for name in (unit, to):
        if name not in _METRES_PER_UNIT:
            raise ValueError(f"unknown unit {name!r}; known units: {_names(_METRES_PER_UNIT)}")
    return round(value * _METRES_PER_UNIT[unit] / _METRES_PER_UNIT[to], 4)


def convert_currency(amount: float, source: str, target: str) -> float:
    """Convert money."""
    for code in (source, target):
        if code not in _PER_EURO:
            raise ValueError(f"unknown currency {code!r}; known currencies (upper-case ISO codes): {_names(_PER_EURO)}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    return round(amount / _PER_EURO[source] * _PER_EURO[target], 2)


def _parse_date(text: str) -> datetime.date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"bad date {text!r}; write dates as DD.MM.YYYY, e.g. 04.03.2024 for 4 March 2024")
    day, month, year = (int(part) for part in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"bad date {text!r}: {exc}; write dates as DD.MM.YYYY") from exc


def workdays(start: str, end: str) -> int:
    """Count working days."""
    first, last = _parse_date(start), _parse_date(end)
    if last < first:
        raise ValueError(f"end {end} is before start {start}; give the earlier date first")
    span = (last - first).days + 1
    weeks, rest = divmod(span, 7)
    extra = sum(1 for offset in range(rest) if (first.weekday() + offset) % 7 < 5)
    return weeks * 5 + extra


def shipping_cost(weight: int, zone: str, express: bool = False) -> dict:
    """Price a parcel."""
    if zone not in _ZONES:
        zones = ", ".join(f"{code} ({where})" for code, where in _ZONES.items())
        raise ValueError(f"unknown zone {zone!r}; zones are single letters: {zones}")
    if not 1 <= weight <= _MAX_GRAMS:
        raise ValueError(f"weight must be whole grams from 1 to {_MAX_GRAMS}, got {weight}")
    first, step = _ZONE_PRICES[zone]
    price = first + step * max(0, math.ceil((weight - 500) / 500))
    if express:
        price *= 1.5
    return {
        "weight_g": weight,
        "zone": f"{zone} ({_ZONES[zone]})",
        "service": "express" if express else "standard",
        "price_eur": round(price, 2),
    }


def final_price(price: float, discount: float, tax: float) -> float:
    """Compute a final price."""
    if price < 0:
        raise ValueError(f"price must not be negative, got {price}")
    if not 0 <= discount < 1:
        raise ValueError(f"discount must be a fraction from 0 to 1, e.g. 0.15 for 15%; got {discount}")
    if not 0 <= tax < 1:
        raise ValueError(f"tax must be a fraction from 0 to 1, e.g. 0.2 for 20%; got {tax}")
    return round(price * (1 - discount) * (1 + tax), 2)


def stock_level(sku: str, warehouse: str) -> int:
    """Look up stock."""
    if _SKU.fullmatch(sku) is None:
        raise ValueError(f"bad sku {sku!r}; a SKU is 'SKU-' and four digits, upper case, e.g. 'SKU-1042'")
    if sku not in _ITEMS:
        items = ", ".join(f"{code} ({name})" for code, name in _ITEMS.items())
        raise ValueError(f"no item {sku!r}; known items: {items}")
    if warehouse not in _WAREHOUSES:
        places = ", ".join(f"{code} ({city})" for code, city in _WAREHOUSES.items())
        raise ValueError(f"unknown warehouse {warehouse!r}; known warehouses: {places}")
    return _STOCK[sku][list(_WAREHOUSES).index(warehouse)]


def loan_payment(principal: float, rate: float, term: int) -> dict:
    """Compute a loan payment."""
    if principal <= 0:
        raise ValueError(f"principal must be positive, got {principal}")
    if not 0.1 <= rate <= 30:
        raise ValueError(f"rate is a yearly percentage from 0.1 to 30, e.g. 4.5 for 4.5%; got {rate}")
    if not 1 <= term <= 480:
        raise ValueError(f"term is a whole number of months from 1 to 480 (e.g. 360 for 30 years); got {term}")
    monthly = rate / 1200
    payment = principal * monthly / (1 - (1 + monthly) ** -term)
    return {
        "principal": principal,
        "yearly_rate_percent": rate,
        "months": term,
        "monthly_payment": round(payment, 2),
        "total_paid": round(payment * term, 2),
    }
