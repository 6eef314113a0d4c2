#!/usr/bin/env python3
"""Checks that the book (docs/src, built into target/book) and README.md cannot drift.

    docs_check.py book   after `mdbook build`: every {{#include}} names an existing file and
                         anchor; no directive is left in the HTML; every internal link and
                         image of the built book resolves (file and #fragment); no psql output
                         is pasted into a page (it must come from a pg_regress expected file);
                         README.md's psql session is the `readme` region of
                         pg_test/expected/book_tutorial.out; every page with Rust code is
                         compiled as a doc test of the client crate.
    docs_check.py code   every SQLSTATE the book names is one the code raises (or one of the few
                         PostgreSQL raises for the store, listed below), and the errors page names
                         every SQLSTATE the code raises.
    docs_check.py api PSQL_COMMAND...
                         every angzarr.NAME the book and README mention exists in the installed
                         catalog (function, table, view, type or setting); every named argument
                         (`name => ...`) exists; every signature lists the function's arguments
                         (and OUT / RETURNS TABLE columns) by the names and in the order the
                         catalog has; columns named after a table exist.

Python 3 standard library only. Exits non-zero with one line per problem.
"""
import html.parser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "docs" / "src"
BOOK = ROOT / "target" / "book"
README = ROOT / "README.md"
ERRORS_PAGE = SRC / "errors.md"

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def pages():
    return sorted(SRC.rglob("*.md"))


def rel(path):
    return os.path.relpath(path, ROOT)


# ---------------------------------------------------------------------------------------------
# book: includes, leftover directives, links, pasted psql output, the README's session
# ---------------------------------------------------------------------------------------------
INCLUDE = re.compile(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}")


def anchor_region(text, anchor):
    """The lines between `ANCHOR: anchor` and `ANCHOR_END: anchor`, without anchor lines."""
    start = re.compile(r"ANCHOR:\s*" + re.escape(anchor) + r"\b")
    end = re.compile(r"ANCHOR_END:\s*" + re.escape(anchor) + r"\b")
    out, inside, found_end = [], False, False
    for line in text.splitlines():
        if not inside and start.search(line):
            inside = True
        elif inside and end.search(line):
            found_end = True
            break
        elif inside and not re.search(r"ANCHOR(_END)?:", line):
            out.append(line)
    if not inside or not found_end:
        return None
    return out


def check_includes():
    for page in pages():
        for m in INCLUDE.finditer(page.read_text()):
            spec = m.group(2)
            path, _, anchor = spec.partition(":")
            target = (page.parent / path).resolve()
            if not target.is_file():
                problem(rel(page), f"include of a missing file {path}")
                continue
            if anchor and not re.fullmatch(r"[0-9]+(:[0-9]*)?|:[0-9]+", anchor):
                region = anchor_region(target.read_text(), anchor)
                if region is None:
                    problem(rel(page), f"include of {path}: no ANCHOR/ANCHOR_END pair named '{anchor}'")
                elif not any(line.strip() for line in region):
                    problem(rel(page), f"include of {path}: anchor '{anchor}' is empty")


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for attr in ("href", "src"):
            if a.get(attr) and tag in ("a", "img", "object", "embed"):
                self.links.append(a[attr])


_parsed = {}


def parsed(path):
    if path not in _parsed:
        p = Links()
        p.feed(path.read_text(errors="replace"))
        _parsed[path] = p
    return _parsed[path]


def check_built_book():
    if not (BOOK / "index.html").is_file():
        problem(rel(BOOK), "no built book (run mdbook build first)")
        return
    rustdoc = BOOK / "rustdoc"
    for page in sorted(BOOK.rglob("*.html")):
        if rustdoc in page.parents:
            continue
        text = page.read_text(errors="replace")
        if "{{#" in text:
            problem(rel(page), "an mdBook directive was left unexpanded (failed include?)")
        if page.name in ("print.html", "404.html", "toc.html"):
            continue
        for link in parsed(page).links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("//"):
                continue  # external: http(s), mailto, data
            path, _, fragment = link.partition("#")
            path = path.split("?")[0]
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problem(rel(page), f"broken link {link}")
            elif fragment and target.suffix == ".html" and fragment not in parsed(target).ids:
                problem(rel(page), f"link {link}: no id '{fragment}' in {rel(target)}")


FENCE = re.compile(r"^(```|~~~)")
PSQL_OUTPUT = re.compile(r"^\s*-+(\+-+)+\s*$|^-{3,}$|^(ERROR|DETAIL|HINT|NOTICE):  |^\(\d+ rows?\)$|^\S*=[#>] ")


def fenced_blocks(text):
    block, lines = None, []
    for line in text.splitlines():
        if block is None and FENCE.match(line):
            block, lines = line, []
        elif block is not None and FENCE.match(line):
            yield block, lines
            block = None
        elif block is not None:
            lines.append(line)


def check_no_pasted_psql():
    for page in pages():
        for info, lines in fenced_blocks(page.read_text()):
            if any(INCLUDE.search(line) for line in lines):
                continue
            if any(PSQL_OUTPUT.search(line) for line in lines):
                problem(rel(page), f"a ```{info[3:]} block looks like pasted psql output: include it "
                        "from a pg_regress test (pg_test/expected/*.out) instead")


def trim(lines):
    """Lines without the blank ones at either end."""
    text = "\n".join(lines).strip("\n")
    return text.split("\n")


def check_rust_compiled():
    """Every page with a Rust block is compiled as a doc test of the client crate."""
    lib = (ROOT / "client/src/lib.rs").read_text()
    for page in pages() + [README]:
        if re.search(r"^```rust", page.read_text(), re.M):
            path = os.path.relpath(page, ROOT / "client/src")
            if f'#[doc = include_str!("{path}")]' not in lib:
                problem(rel(page), f"has Rust code that is not compiled: add "
                        f'#[cfg(doctest)] #[doc = include_str!("{path}")] to client/src/lib.rs')


def check_readme_session():
    expected = anchor_region((ROOT / "pg_test/expected/book_tutorial.out").read_text(), "readme")
    blocks = [lines for info, lines in fenced_blocks(README.read_text())
              if any(PSQL_OUTPUT.search(line) for line in lines)]
    if expected is None:
        problem("pg_test/expected/book_tutorial.out", "no 'readme' anchor")
    elif len(blocks) != 1:
        problem("README.md", f"expected one psql session, found {len(blocks)}")
    elif trim(blocks[0]) != trim(expected):
        problem("README.md", "the psql session differs from the 'readme' region of "
                "pg_test/expected/book_tutorial.out: copy that region into the README")


# ---------------------------------------------------------------------------------------------
# code: SQLSTATEs
# ---------------------------------------------------------------------------------------------
# Raised by PostgreSQL itself on the store's behalf (not by the store's code), and documented
# on the errors page: a malformed enum or UUID literal, a deadlock between writers, a missing
# privilege, a function an older installed version lacks, a key too long for its index, a
# write sent to a hot standby.
RAISED_BY_POSTGRESQL = {"22P02", "25006", "40P01", "42501", "42883", "54000"}
# Named by the book as what the store never raises.
NEVER_RAISED = {"XX000"}


def errcodes():
    pg_config = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
    inc = subprocess.run([pg_config, "--includedir-server"], check=True, capture_output=True,
                         text=True).stdout.strip()
    names = {}
    for m in re.finditer(r"#define (ERRCODE_\w+) MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\)",
                         Path(inc, "utils", "errcodes.h").read_text()):
        names[m.group(1)] = "".join(m.group(i) for i in range(2, 7))
    return names


def raised_by_code(names):
    codes = set()
    files = [p for p in (ROOT / "src").rglob("*.rs") if not p.name.endswith("tests.rs")]
    files += [p for p in (ROOT / "sql").rglob("*.sql") if "releases" not in p.parts]
    # The sharding router's own functions (shard/) raise the router's codes.
    files += sorted((ROOT / "shard").rglob("*.sql"))
    known = set(names.values())
    for f in files:
        # A code the store catches (catch_when) is not one it raises.
        text = "\n".join(line for line in f.read_text().splitlines() if "catch_when" not in line)
        for m in re.finditer(r"[\"']([0-9A-Z]{5})[\"']", text):
            if m.group(1) in known or m.group(1).startswith("ZA"):
                codes.add(m.group(1))
        for m in re.finditer(r"\b(ERRCODE_\w+)", text):
            if m.group(1) in names:
                codes.add(names[m.group(1)])
    codes.discard("00000")
    return codes


def documented_codes(text, known):
    found = set()
    for m in re.finditer(r"`([0-9A-Z]{5})`|SQLSTATE:? `?([0-9A-Z]{5})\b|\b(ZA[0-9]{3})\b", text):
        code = m.group(1) or m.group(2) or m.group(3)
        if code in known or code.startswith("ZA"):
            found.add(code)
    return found


def check_code():
    names = errcodes()
    known = set(names.values())
    raised = raised_by_code(names)
    for page in pages() + [README]:
        for code in sorted(documented_codes(page.read_text(), known)):
            if code not in raised | RAISED_BY_POSTGRESQL | NEVER_RAISED:
                problem(rel(page), f"SQLSTATE {code} is documented but nothing in src/ or sql/ raises it")
    on_errors_page = documented_codes(ERRORS_PAGE.read_text(), known)
    for code in sorted(raised - on_errors_page):
        problem(rel(ERRORS_PAGE), f"SQLSTATE {code} is raised by the code but not documented here")


# ---------------------------------------------------------------------------------------------
# api: names, named arguments and signatures against the installed catalog
# ---------------------------------------------------------------------------------------------
CATALOG_SQL = r"""
SELECT json_build_object(
  'functions', (SELECT json_agg(json_build_object('name', p.proname, 'argnames', p.proargnames,
                'argmodes', p.proargmodes, 'nargs', p.pronargs))
                  FROM pg_proc p WHERE p.pronamespace = 'angzarr'::regnamespace),
  'relations', (SELECT json_object_agg(c.relname, (SELECT json_agg(a.attname) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
                  FROM pg_class c WHERE c.relnamespace = 'angzarr'::regnamespace
                   AND c.relkind IN ('r', 'v', 'p', 'S', 'i', 'm')),
  'types', (SELECT json_agg(t.typname) FROM pg_type t WHERE t.typnamespace = 'angzarr'::regnamespace),
  'settings', (SELECT json_agg(name) FROM pg_settings WHERE name LIKE 'angzarr.%'))
"""

TYPES = (r"(?:text|uuid|bigint|integer|int|boolean|bytea|jsonb|json|timestamptz|name|interval|xid8|"
         r"angzarr\.\w+)(?:\[\])?")
DECL = re.compile(r"^(?:(OUT|IN|INOUT)\s+)?([a-z_][a-z0-9_]*)\s+" + TYPES + r"(?:\s+DEFAULT\s+.+)?$",
                  re.I | re.S)
MENTION = re.compile(r"\bangzarr\.([a-z_][a-z0-9_]*)(\.[a-z_][a-z0-9_]*)?")


def balanced(text, start):
    """The text inside the parenthesis that opens at text[start], or None."""
    depth, quote = 0, None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return None


def split_top(args):
    parts, depth, quote, cur = [], 0, None, ""
    for ch in args:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def names_by_mode(fn, modes):
    names = fn["argnames"] or []
    argmodes = fn["argmodes"] or ["i"] * len(names)
    return [n for n, m in zip(names, argmodes) if m in modes]


def check_api(psql):
    out = subprocess.run(psql + ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", "LOAD 'angzarr_store'",
                                 "-c", CATALOG_SQL], check=True, capture_output=True, text=True).stdout
    catalog = json.loads(out.strip().splitlines()[-1])
    functions = {}
    for f in catalog["functions"]:
        functions.setdefault(f["name"], []).append(f)
    relations = catalog["relations"] or {}
    types = set(catalog["types"] or [])
    settings = {s.split(".", 1)[1] for s in (catalog["settings"] or [])}
    # Placeholder settings (not registered, read with GetConfigOption) such as angzarr.notify.
    for f in (ROOT / "src").rglob("*.rs"):
        settings |= set(re.findall(r'c"angzarr\.([a-z_]+)"', f.read_text()))
    for page in pages() + [README]:
        text = page.read_text()
        for m in MENTION.finditer(text):
            name, sub = m.group(1), (m.group(2) or "")[1:]
            where = f"{rel(page)}:{text.count(chr(10), 0, m.start()) + 1}"
            after = text[m.end():]
            call = re.match(r"\s*\(", after)
            if name in functions:
                if call and not sub:
                    check_call(where, name, functions[name], text, m.end() + call.end() - 1)
            elif name in relations:
                if sub and sub not in relations[name]:
                    problem(where, f"angzarr.{name} has no column {sub}")
                if call and not sub:
                    inner = balanced(text, m.end() + call.end() - 1) or ""
                    for col in split_top(inner):
                        if re.fullmatch(r"[a-z_][a-z0-9_]*", col) and col not in relations[name]:
                            problem(where, f"angzarr.{name} has no column {col}")
            elif name not in types and name not in settings:
                problem(where, f"angzarr.{name} is no function, table, view, type or setting of the "
                        "installed extension")


def check_call(where, name, overloads, text, paren):
    inner = balanced(text, paren)
    if inner is None:
        return
    items = split_top(inner)
    decls = [DECL.match(item) for item in items]
    rest = text[paren + len(inner) + 2:]
    rt = re.match(r"\s*RETURNS\s+TABLE\s*\(", rest, re.I)
    # A signature: every item declares a name and a type, or no arguments and a RETURNS TABLE.
    if (items and all(decls)) or (not items and rt):
        ins = [d.group(2) for d in decls if (d.group(1) or "IN").upper() in ("IN", "INOUT")]
        outs = [d.group(2) for d in decls if (d.group(1) or "").upper() in ("OUT", "INOUT")]
        table = None
        if rt:
            cols = balanced(rest, rt.end() - 1) or ""
            table = [c.split()[0] for c in split_top(cols) if c.split()]
        for f in overloads:
            if names_by_mode(f, "ibv") != ins:
                continue
            if outs and names_by_mode(f, "ob") != outs:
                continue
            if table is not None and names_by_mode(f, "t") != table:
                continue
            return
        wanted = [names_by_mode(f, "ibv") + [f"OUT {n}" for n in names_by_mode(f, "ob")]
                  + ([f"TABLE {names_by_mode(f, 't')}"] if names_by_mode(f, "t") else [])
                  for f in overloads]
        problem(where, f"signature of angzarr.{name} ({', '.join(ins)}"
                f"{'; OUT ' + ', '.join(outs) if outs else ''}{'; TABLE ' + str(table) if table else ''})"
                f" matches no installed overload: {wanted}")
        return
    named = [m.group(1) for item in items for m in [re.match(r"^([a-z_][a-z0-9_]*)\s*=>", item)] if m]
    if named and not any(set(named) <= set(names_by_mode(f, "ibv")) for f in overloads):
        problem(where, f"angzarr.{name} called with argument names {named} that no installed "
                f"overload has: {[names_by_mode(f, 'ibv') for f in overloads]}")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "book":
        check_includes()
        check_built_book()
        check_no_pasted_psql()
        check_rust_compiled()
        check_readme_session()
    elif what == "code":
        check_code()
    elif what == "api" and len(sys.argv) > 2:
        check_api(sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr)
    print(f"docs_check {what}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
