#!/usr/bin/env python3
"""Differential test: random .env files (built from the tokens that decide
python-dotenv's grammar: quotes, escapes, #, whitespace, export, ${VAR},
line breaks) parsed by ctl/dotenv.c (through dotenv_dump) and by
python-dotenv as docker-compose 1.29 calls it. Every file must give the
same keys, order and bytes."""
import logging
import os
import random
import subprocess
import sys
import tempfile

try:
    from dotenv import dotenv_values
except ImportError:
    print("SKIP: python3-dotenv is missing (scripts/deps.sh --test installs docker-compose)")
    sys.exit(77)

logging.disable(logging.CRITICAL)  # python-dotenv warns about bad lines

KEYS = ["A", "B", "DB_PASS", "export A", "export  B", "'Q K'", "K.1", "x-y", "=", "#K", "export"]
SEPS = ["=", " = ", "=  ", "\t=", "", "= "]
PIECES = ["x", "y z", " ", "  ", "\t", "#", " #c", "\t# c", "#not", '"', "'", "\\", '\\"', "\\'",
          "\\n", "\\t", "\\\\", "${A}", "${B:-dflt}", "${NOPE}", "${A:x}", "$A", "${", "}",
          "\u00e9", "\u00a0", "\u2003", "=", "\\x", "\n", "\r\n", "\r"]


def value():
    n = random.randint(0, 6)
    return "".join(random.choice(PIECES) for _ in range(n))


def line():
    r = random.random()
    if r < 0.08:
        return "# comment " + value()
    if r < 0.12:
        return ""
    q = random.choice(["", "", "'", '"'])
    return random.choice(["", " ", "\t"]) + random.choice(KEYS) + random.choice(SEPS) + \
        q + value() + q + random.choice(["", " # tail", "  ", "junk"])


def main():
    dump = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    seed = int(os.environ.get("DOTENV_SEED", random.randrange(1 << 30)))
    random.seed(seed)
    os.environ["A"] = "env-a"
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.env")
        for i in range(count):
            text = random.choice(["", "\ufeff"]) + \
                random.choice(["\n", "\r\n"]).join(line() for _ in range(random.randint(1, 8)))
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            want = dotenv_values(dotenv_path=path, encoding="utf-8-sig", interpolate=True)
            expected = "".join(
                "%s\t%s\n" % (k, "-" if v is None else v.encode().hex()) for k, v in want.items())
            got = subprocess.run([dump, path], capture_output=True, text=True)
            if got.returncode != 0 or got.stdout != expected:
                failures += 1
                if failures <= 5:
                    print("MISMATCH (seed %d, file %d): %r" % (seed, i, text))
                    print("  python-dotenv: %r" % expected)
                    print("  dotenv.c:      %r (exit %d)" % (got.stdout, got.returncode))
    print("%d of %d random files parsed alike (seed %d)" % (count - failures, count, seed))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
