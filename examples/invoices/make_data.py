"""Generate the invoice-form data (seeded, so the files are reproducible).

Run: python examples/invoices/make_data.py  →  train.jsonl (24), val.jsonl (50), test.jsonl (100)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from ann.datasets.writers import write_splits

OPENERS = ["Hi,", "Hello,", "Good morning.", "Hey there,", "Dear billing team,", ""]
CLOSERS = ["Thanks, {name}", "Regards, {name}", "Best, {name}", "Thank you! {name}", "- {name}", "{name}"]
NAMES = [
    "Anna", "Ben", "Carlos", "Dana", "Emeka", "Fatima", "Greg", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Marta", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yusuf",
]  # fmt: skip
# How customers write the invoice number; the form wants it as printed on the invoice: INV- and
# five digits. Some customers copy it that way, most do not.
INVOICE_REFS = [
    "INV-{n}",
    "invoice INV-{n}",
    "invoice {n}",
    "invoice no. {n}",
    "invoice #{n}",
    "inv {n}",
    "invoice number {n}",
    "bill {n}",
]
# How customers write an amount of money; the form wants the number alone.
AMOUNTS = ["€{a}", "{a} euros", "EUR {a}", "{a} EUR"]
# Each message names an invoice ({ref}) and an amount ({amount}); most also carry other numbers
# (a customer number, an order, a date, a phone number) that are not the invoice.
MESSAGES = [
    "I was charged {amount} twice for {ref}. My customer number is {customer}.",
    "{Ref} says {amount} but my order {order} was only half of that.",
    "Can you send me a copy of {ref}? It was {amount}, paid on {date}.",
    "I paid {amount} for {ref} on {date} but it still shows as open.",
    "The VAT on {ref} is wrong; the total should be {amount}.",
    "Please cancel {ref} ({amount}), I returned order {order} on {date}.",
    "My card was debited {amount} for {ref}, customer number {customer}.",
    "Why is {ref} for {amount}? My plan costs less. Call me on {phone}.",
    "{Ref} has the wrong company name. The amount of {amount} is fine.",
    "I never received {ref}. The bank shows {amount} on {date}.",
    "Could you split {ref} into two payments? {amount} is too much at once.",
    "{Ref} was due on {date}; I paid {amount} a week late, sorry.",
    "The discount is missing from {ref}: I paid {amount} for order {order}.",
    "Please refund {amount} on {ref}, the order {order} never arrived.",
    "I was billed {amount} on {ref} for a month I had already cancelled.",
    "Our accountant needs {ref} as a PDF. It was {amount}. Customer {customer}.",
    "There is a late fee on {ref} although I paid {amount} on {date}.",
    "Can I pay {ref} by bank transfer? It is {amount}.",
    "{Ref} lists 3 licences but we only have 2; it should be {amount}.",
    "My colleague paid {ref} ({amount}) by mistake, please move it to customer {customer}.",
    "Is {ref} already paid? I see {amount} leaving my account on {date}.",
    "The address on {ref} is out of date. The {amount} was paid from our new office.",
    "I got a reminder for {ref} but I paid the {amount} on {date}.",
    "The currency on {ref} is wrong: {amount}, not dollars.",
    "Please add our tax number to {ref}. Amount {amount}, order {order}.",
    "I think {ref} is a duplicate: {amount} was already charged for order {order}.",
    "You charged {amount} for {ref}, but my phone contract {phone} is free this month.",
    "Can you resend {ref}? The email with the {amount} total never came.",
    "{Ref} shows {amount}, but the quote we signed on {date} was lower.",
    "The payment for {ref} failed. I can pay the {amount} now, customer number {customer}.",
    "We were charged {amount} on {ref} for 12 users; we have 10.",
    "My direct debit took {amount} for {ref} twice on {date}.",
    "Please change the name on {ref} to my company. It is {amount}.",
    "I want to dispute {ref}. The {amount} includes a service I never used.",
    "Who do I contact about {ref}? The {amount} does not match order {order}.",
    "The bank returned my payment of {amount} for {ref}. Call me on {phone}.",
    "Can I get a receipt for {ref}? I paid {amount} in cash on {date}.",
    "{Ref} came with an amount of {amount} although shipping was free.",
]
SEED = 5
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


class Numbers:
    """Draws values that are never repeated anywhere in the data, so no value crosses splits."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def fresh(self, make: Callable[[random.Random], str]) -> str:
        while True:
            value = make(self.rng)
            if value not in self.used:
                self.used.add(value)
                return value


def message(numbers: Numbers, body: str, name: str) -> dict[str, str]:
    rng = numbers.rng
    invoice = numbers.fresh(lambda r: str(r.randint(10_000, 99_999)))
    amount = numbers.fresh(lambda r: f"{r.randint(12, 980)}.{r.randint(0, 99):02d}")
    ref = rng.choice(INVOICE_REFS).format(n=invoice)
    text = body.format(
        ref=ref,
        Ref=ref[:1].upper() + ref[1:],
        amount=rng.choice(AMOUNTS).format(a=amount),
        customer=numbers.fresh(lambda r: str(r.randint(100_000, 9_999_999))),
        order=numbers.fresh(lambda r: str(r.randint(100_000, 999_999))),
        date=f"{rng.randint(1, 28)} {rng.choice(MONTHS)}",
        phone=numbers.fresh(lambda r: f"0{r.randint(150, 179)} {r.randint(1000, 9999)} {r.randint(100, 999)}"),
    )
    parts = (rng.choice(OPENERS), text, rng.choice(CLOSERS).format(name=name))
    return {"message": " ".join(part for part in parts if part), "amount": amount, "invoice": f"INV-{invoice}"}


def build(rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """Splits by message: 8 messages train, 10 val, 20 test — train has each written 3 times, val and
    test 5 times, with another invoice, amount, greeting and name; no message crosses splits."""
    numbers = Numbers(rng)
    bodies = rng.sample(MESSAGES, len(MESSAGES))
    splits: dict[str, list[dict[str, str]]] = {"train": [], "val": [], "test": []}
    for split, chosen, copies in (("train", bodies[:8], 3), ("val", bodies[8:18], 5), ("test", bodies[18:38], 5)):
        for body in chosen:
            for _ in range(copies):
                splits[split].append(message(numbers, body, rng.choice(NAMES)))
    return splits


def write(folder: Path) -> None:
    """Write train.jsonl, val.jsonl and test.jsonl into ``folder``; the same files every time."""
    rng = random.Random(SEED)
    write_splits(folder, build(rng), rng)


if __name__ == "__main__":
    write(Path(__file__).parent)
