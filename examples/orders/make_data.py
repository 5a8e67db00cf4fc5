"""Generate the order-form data (seeded, so the files are reproducible).

Run: python examples/orders/make_data.py  →  train.jsonl (24), val.jsonl (12), test.jsonl (12)
"""

from __future__ import annotations

import random
from pathlib import Path

from ann.datasets.writers import write_splits

OPENERS = ["Hi,", "Hello,", "Good morning.", "Hey there,", "Dear support,", ""]
CLOSERS = ["Thanks, {name}", "Regards, {name}", "Best, {name}", "Thank you! {name}", "- {name}", "{name}"]
NAMES = [
    "Anna", "Ben", "Carlos", "Dana", "Emeka", "Fatima", "Greg", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Marta", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yusuf",
]  # fmt: skip
# How customers write the order number; the form wants the digits alone.
ORDER_REFS = ["order {n}", "order #{n}", "order no. {n}", "order number {n}"]
MESSAGES = [
    "My {ref} has not arrived yet and it has been 10 days.",
    "I want to return the shoes from {ref}, they are too small.",
    "{Ref} was charged twice on my card.",
    "Can you change the delivery address on {ref}? I moved last week.",
    "The parcel for {ref} came damaged, the glass is broken.",
    "Where is my package? It is {ref} and the tracking shows nothing.",
    "Please cancel {ref}, I ordered the wrong size.",
    "I never got a receipt for {ref}.",
    "{Ref} is missing one of the 3 items I paid for.",
    "Could you tell me when {ref} ships?",
    "I paid 12 euros for express delivery on {ref} but it is still not here.",
    "The invoice for {ref} has the wrong company name.",
    "I received a blue jacket instead of a black one ({ref}).",
    "Is it too late to add a second mug to {ref}?",
    "My discount code did not apply to {ref}, I should have paid 20% less.",
    "The courier left {ref} at my neighbour's door.",
    "I'd like a refund for {ref}. The headphones stopped working after 2 days.",
    "{Ref} says delivered but I have nothing.",
    "Can I pick up {ref} from the store instead?",
    "The size chart was wrong, so I need to exchange {ref}.",
    "You sent me two copies of the book in {ref}.",
    "Why was {ref} cancelled without any email?",
    "Please send {ref} to my office instead of my home.",
    "The charger in {ref} does not fit my phone.",
]


def message(rng: random.Random, body: str, name: str) -> dict[str, str]:
    number = str(rng.randint(10_000, 999_999))
    ref = rng.choice(ORDER_REFS).format(n=number)
    text = body.format(ref=ref, Ref=ref[:1].upper() + ref[1:])
    parts = (rng.choice(OPENERS), text, rng.choice(CLOSERS).format(name=name))
    return {"message": " ".join(part for part in parts if part), "customer": name, "order": number}


def main() -> None:
    """Splits by message: 12 messages train, 6 val, 6 test — each written twice with another
    customer, order number and greeting, both copies in the same split, so no message crosses splits."""
    rng = random.Random(7)
    bodies = rng.sample(MESSAGES, len(MESSAGES))
    names = rng.sample(NAMES * 2, 2 * len(NAMES))
    splits: dict[str, list[dict[str, str]]] = {"train": [], "val": [], "test": []}
    for name, chosen in (("train", bodies[:12]), ("val", bodies[12:18]), ("test", bodies[18:24])):
        for body in chosen:
            for _ in range(2):
                splits[name].append(message(rng, body, names.pop()))
    write_splits(Path(__file__).parent, splits, rng)


if __name__ == "__main__":
    main()
