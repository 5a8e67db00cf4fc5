"""Generate the arithmetic word problems (seeded, so the files are reproducible).

Run: python examples/arithmetic/make_data.py  →  train.jsonl (30), val.jsonl (15), test.jsonl (15)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

NAMES = ["Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Iris", "Jon"]
ITEMS = ["apples", "marbles", "stickers", "books", "pencils", "cookies", "cards", "shells"]


def problem(rng: random.Random) -> tuple[str, int]:
    name, other = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    kind = rng.randrange(8)
    a, b, c = rng.randint(2, 30), rng.randint(2, 20), rng.randint(2, 9)
    if kind == 0:
        return f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have now?", a + b
    if kind == 1:
        a = a + b
        return f"{name} had {a} {item} and gave {b} to {other}. How many {item} does {name} have left?", a - b
    if kind == 2:
        return f"{name} buys {c} boxes with {b} {item} in each box. How many {item} is that in total?", c * b
    if kind == 3:
        total = b * c
        return f"{name} shares {total} {item} equally among {c} friends. How many {item} does each friend get?", b
    if kind == 4:
        return (
            f"{name} has {a} {item}. {other} has {b} more than {name}. How many {item} do they have together?",
            a + (a + b),
        )
    if kind == 5:
        price = rng.randint(2, 12)
        question = f"One notebook costs {price} dollars. {name} buys {c} notebooks and pays with 100 dollars."
        return f"{question} How much change does {name} get?", 100 - price * c
    if kind == 6:
        question = f"{name} reads {b} pages a day for {c} days, then {a} pages on the last day."
        return f"{question} How many pages did {name} read?", b * c + a
    question = f"A box holds {c} rows of {b} {item}. {name} eats {c} of them."
    return f"{question} How many {item} are left in the box?", c * b - c


def main() -> None:
    rng = random.Random(7)
    here = Path(__file__).parent
    rows = []
    for i in range(60):
        question, answer = problem(rng)
        rows.append({"id": f"arith-{i:02d}", "question": question, "answer": str(answer)})
    for name, part in (("train", rows[:30]), ("val", rows[30:45]), ("test", rows[45:])):
        (here / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")


if __name__ == "__main__":
    main()
