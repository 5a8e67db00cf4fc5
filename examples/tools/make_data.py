"""Generate the tool-use tasks (seeded, so the files are reproducible).

Each task is a question a user would ask, answered by exactly one call to one tool in
tools.py. The questions say what the user means ("3 furlongs", "4.5% a year", "2.4 kg"), not
how the tool wants it ("furlong", 4.5, 2400), so an agent must know the tools' conventions.
Every answer is computed by calling the tool, so the data cannot disagree with the tools.

Run: python examples/tools/make_data.py  →  train.jsonl (12), val.jsonl (12), test.jsonl (16)
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

HERE = Path(__file__).parent
SEED = 2025
SPLITS = ("train", "val", "test")
# Tool -> how many of its tasks go to train, val and test (12 / 12 / 16 in all).
COUNTS: dict[str, tuple[int, int, int]] = {
    "convert_length": (2, 1, 3),
    "convert_currency": (2, 1, 3),
    "workdays": (2, 2, 2),
    "shipping_cost": (2, 2, 2),
    "final_price": (2, 2, 2),
    "stock_level": (1, 2, 2),
    "loan_payment": (1, 2, 2),
}
# For a tool that returns a dict: the key that holds the answer.
ANSWER_KEYS = {"shipping_cost": "price_eur", "loan_payment": "monthly_payment"}

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Task(NamedTuple):
    """One task: the question, the one tool call that answers it, and the answer."""

    id: str
    question: str
    tool: str
    args: dict[str, Any]
    answer: str


Draft = tuple[str, dict[str, Any]]
"""A task before it has an id and an answer: the question and the tool's arguments."""


def load_tools() -> ModuleType:
    """Import tools.py by its path (``examples/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("ann_example_tools", HERE / "tools.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {HERE / 'tools.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(tools: ModuleType, name: str, args: dict[str, Any]) -> str:
    """Call a tool and write the number that answers the task as a short string."""
    result = getattr(tools, name)(**args)
    if name in ANSWER_KEYS:
        result = result[ANSWER_KEYS[name]]
    value = float(result)
    return str(int(value)) if value.is_integer() else repr(value)


def _length(rng: random.Random, n: int) -> list[Draft]:
    templates = [
        ("furlong", "m", "How many metres is {v} furlongs?", [2, 3, 5, 8]),
        ("m", "hand", "A horse stands {v} metres tall at the shoulder. How tall is it in hands?", [1.48, 1.55, 1.63]),
        ("fathom", "ft", "The water here is {v} fathoms deep. How many feet is that?", [4, 6, 12, 25]),
        ("league", "km", "How many kilometres are {v} leagues?", [3, 7, 20]),
        ("mi", "chain", "A race is {v} miles long. How long is it in chains?", [1.5, 2, 4]),
        ("in", "cm", "How many centimetres is a {v}-inch screen diagonal?", [13, 15.6, 27]),
        ("yd", "m", "A field is {v} yards long. How many metres is that?", [100, 120, 350]),
    ]
    drafts = []
    for unit, to, text, values in rng.sample(templates, n):
        value = rng.choice(values)
        drafts.append((text.format(v=value), {"value": value, "unit": unit, "to": to}))
    return drafts


def _currency(rng: random.Random, n: int) -> list[Draft]:
    templates = [
        ("USD", "EUR", "At our exchange rates, how many euros do I get for {a} US dollars?"),
        ("GBP", "CHF", "Convert {a} British pounds to Swiss francs at our rates."),
        ("EUR", "JPY", "How many Japanese yen is {a} euros at our exchange rates?"),
        ("SEK", "USD", "What are {a} Swedish kronor worth in US dollars at our rates?"),
        ("JPY", "GBP", "At our exchange rates, how many British pounds is {a} yen?"),
        ("CHF", "SEK", "How many Swedish kronor do I get for {a} Swiss francs at our rates?"),
        ("EUR", "USD", "A customer pays {a} euros. How much is that in US dollars at our rates?"),
    ]
    drafts = []
    for source, target, text in rng.sample(templates, n):
        amount = rng.choice([20, 45, 80, 120, 250, 600, 1500]) * (100 if source == "JPY" else 1)
        drafts.append((text.format(a=f"{amount:,}"), {"amount": amount, "source": source, "target": target}))
    return drafts


def _say_date(day: datetime.date, *, style: int) -> str:
    if style == 0:
        return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _workdays(rng: random.Random, n: int) -> list[Draft]:
    templates = [
        "How many working days (Monday to Friday) are there from {a} to {b}, counting both dates?",
        "Counting both the first and the last day, how many weekdays are there from {a} to {b}?",
        "A project runs from {a} through {b}. How many Monday-to-Friday working days is that, both ends included?",
        "I work Monday to Friday. How many days do I work from {a} to {b}, including both days?",
    ]
    drafts = []
    for i in range(n):
        start = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(700))
        end = start + datetime.timedelta(days=rng.randrange(4, 60))
        style = rng.randrange(2)
        text = templates[i % len(templates)].format(a=_say_date(start, style=style), b=_say_date(end, style=style))
        drafts.append((text, {"start": f"{start:%d.%m.%Y}", "end": f"{end:%d.%m.%Y}"}))
    return drafts


def _shipping(rng: random.Random, n: int) -> list[Draft]:
    places = [
        ("A", "within the country"),
        ("A", "to a domestic address"),
        ("B", "to France (in the EU)"),
        ("B", "to another EU country"),
        ("C", "to Norway (in Europe, not in the EU)"),
        ("C", "to Switzerland (in Europe, not in the EU)"),
        ("D", "to Canada (outside Europe)"),
        ("D", "to Japan (outside Europe)"),
    ]
    drafts = []
    for zone, where in rng.sample(places, n):
        grams = rng.randrange(4, 200) * 50
        express = rng.random() < 0.4
        service = "express" if express else "standard"
        text = f"How much does it cost in euros to send a {grams / 1000:g} kg parcel by {service} delivery {where}?"
        drafts.append((text, {"weight": grams, "zone": zone, "express": express}))
    return drafts


def _article(noun: str) -> str:
    return "An" if noun[0] in "aeiou" else "A"


def _money(amount: float) -> str:
    return f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"


def _final_price(rng: random.Random, n: int) -> list[Draft]:
    items = ["desk lamp", "rain jacket", "pair of boots", "coffee grinder", "backpack", "office chair", "blender"]
    drafts = []
    for item in rng.sample(items, n):
        price = rng.choice([24, 39.9, 64, 85, 129, 249.5, 310])
        discount = rng.choice([5, 10, 15, 20, 25, 30, 40])
        tax = rng.choice([7, 8, 10, 19, 20, 21, 25])
        text = (
            f"{_article(item)} {item} is listed at {_money(price)} euros. It is {discount}% off, and then "
            f"{tax}% sales tax is added to the discounted price. What is the final price?"
        )
        drafts.append((text, {"price": price, "discount": discount / 100, "tax": tax / 100}))
    return drafts


def _stock(rng: random.Random, n: int) -> list[Draft]:
    templates = [
        "How many units of item {num} ({name}) are in stock in the {city} warehouse?",
        "Our {city} warehouse: how many of item number {num}, the {name}, does it hold?",
        "Check stock: item {num} ({name}) at the {city} warehouse. How many are there?",
    ]
    tools = load_tools()  # the questions name the items and warehouses as stock_level knows them
    items, warehouses = tools._ITEMS, tools._WAREHOUSES
    pairs = [(sku, code) for sku in items for code in warehouses]
    drafts = []
    for i, (sku, code) in enumerate(rng.sample(pairs, n)):
        text = templates[i % len(templates)].format(num=sku[4:], name=items[sku], city=warehouses[code])
        drafts.append((text, {"sku": sku, "warehouse": code}))
    return drafts


def _loan(rng: random.Random, n: int) -> list[Draft]:
    drafts = []
    for i in range(n):
        if i % 2 == 0:
            principal = rng.randrange(10, 81) * 5000
            rate = rng.choice([2.75, 3.5, 3.9, 4.25, 5.1, 6.0])
            years = rng.choice([10, 15, 20, 25, 30])
            text = (
                f"What is the monthly payment on a mortgage of {principal:,} euros at {rate:g}% interest a year, "
                f"paid off over {years} years?"
            )
            months = years * 12
        else:
            principal = rng.randrange(8, 41) * 1000
            rate = rng.choice([4.9, 5.5, 6.9, 7.5, 8.25])
            months = rng.choice([24, 36, 48, 60, 72])
            text = (
                f"I borrow {principal:,} euros for a car at {rate:g}% a year over {months} months. "
                "What is my monthly payment?"
            )
        drafts.append((text, {"principal": principal, "rate": rate, "term": months}))
    return drafts


GENERATORS: dict[str, Callable[[random.Random, int], list[Draft]]] = {
    "convert_length": _length,
    "convert_currency": _currency,
    "workdays": _workdays,
    "shipping_cost": _shipping,
    "final_price": _final_price,
    "stock_level": _stock,
    "loan_payment": _loan,
}
"""Tool -> a function that drafts that many distinct tasks for it."""


def build_tasks(tools: ModuleType | None = None) -> dict[str, list[Task]]:
    """All tasks by split, with the answers computed by calling the tools.

    Args:
        tools: The tools module; defaults to importing tools.py.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``.
    """
    tools = tools or load_tools()
    rng = random.Random(SEED)
    drafts: dict[str, list[tuple[str, str, dict[str, Any]]]] = {split: [] for split in SPLITS}
    for name, generate in GENERATORS.items():
        counts = COUNTS[name]
        made = generate(rng, sum(counts))
        start = 0
        for split, count in zip(SPLITS, counts, strict=True):
            drafts[split] += [(name, question, args) for question, args in made[start : start + count]]
            start += count
    tasks: dict[str, list[Task]] = {}
    for split, rows in drafts.items():
        rng.shuffle(rows)
        tasks[split] = [
            Task(f"{split}-{i:02d}", question, name, args, run_tool(tools, name, args))
            for i, (name, question, args) in enumerate(rows)
        ]
    return tasks


def to_jsonl(tasks: list[Task]) -> str:
    """The lines of a split's file: id, question and answer (the tool call is not written)."""
    return "".join(json.dumps({"id": t.id, "question": t.question, "answer": t.answer}) + "\n" for t in tasks)


def main() -> None:
    for split, tasks in build_tasks().items():
        (HERE / f"{split}.jsonl").write_text(to_jsonl(tasks), encoding="utf-8")


if __name__ == "__main__":
    main()
