"""Generate the support-ticket routing data (seeded, so the files are reproducible).

Run: python examples/tickets/make_data.py  →  train.jsonl (24), val.jsonl (12), test.jsonl (12)
"""

from __future__ import annotations

import random
from pathlib import Path

from ann.datasets.writers import write_splits

OPENERS = ["Hi,", "Hello team,", "Good morning.", "Hey there,", "Dear support,", ""]
CLOSERS = ["Thanks.", "Please help.", "Any advice?", "Regards, Sam", "Thank you!", ""]
TICKETS = {
    "billing": [
        "I was charged twice for my subscription this month.",
        "My invoice shows the wrong amount.",
        "How do I get a refund for last month's payment?",
        "The card payment failed but the money left my account.",
        "Can you change the billing address on my invoices?",
        "Why did my monthly price go up?",
        "I cancelled but I was still charged.",
        "Please send me a receipt for my last payment.",
    ],
    "technical": [
        "The app crashes every time I open the settings page.",
        "I cannot log in; the page says 'server error'.",
        "The export button does nothing when I click it.",
        "Sync stopped working after the last update.",
        "The website is very slow and pages time out.",
        "I get an error code 502 when uploading files.",
        "Notifications no longer appear on my phone.",
        "The password reset link in the email is broken.",
    ],
    "shipping": [
        "My parcel has not arrived after two weeks.",
        "The tracking number you sent does not work.",
        "The box arrived damaged and the item is broken.",
        "Can I change the delivery address for my order?",
        "The courier left my package at the wrong house.",
        "When will my order be dispatched?",
        "I received someone else's order.",
        "Half of my order is missing from the delivery.",
    ],
}


def main() -> None:
    """Stratified splits: per team, 4 messages train, 2 val, 2 test — each written twice with other
    greetings, both copies in the same split, so no message crosses splits."""
    rng = random.Random(11)
    splits: dict[str, list[dict[str, str]]] = {"train": [], "val": [], "test": []}
    for label, bodies in TICKETS.items():
        bodies = rng.sample(bodies, len(bodies))
        for name, chosen in (("train", bodies[:4]), ("val", bodies[4:6]), ("test", bodies[6:8])):
            for body in chosen:
                for _ in range(2):
                    text = " ".join(part for part in (rng.choice(OPENERS), body, rng.choice(CLOSERS)) if part)
                    splits[name].append({"ticket": text, "category": label})
    write_splits(Path(__file__).parent, splits, rng)


if __name__ == "__main__":
    main()
