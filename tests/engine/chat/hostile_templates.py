"""Chat templates written to cost gigabytes, run for hours, or break the sandbox.

Each is (name, template, pattern): loading it and rendering a short conversation must end in a
ChatTemplateError whose message matches `pattern`, each stage within seconds and a bounded amount of
memory (test_hostile_templates.py). The "fold-" ones hide the expression where Jinja's compiler would
evaluate it while loading.
"""

from __future__ import annotations

LIMIT = r"went over its limit of"
NESTED = r"nested too deeply to compile"
BIG = "{% set big = 'x' * 1000000 %}"

HOSTILE_TEMPLATES: list[tuple[str, str, str]] = [
    # Refused at load.
    ("nested-if", "{% if true %}" * 400 + "x" + "{% endif %}" * 400, NESTED),
    ("nested-parentheses", "{{ " + "(" * 300 + "1" + ")" * 300 + " }}", NESTED),
    ("nested-filters", "{{ x" + "|upper" * 3000 + " }}", NESTED),
    ("nested-loops", "{% for a in b %}" * 30 + "{% endfor %}" * 30, NESTED),
    ("oversized", "{{ x }}" * 10_000, r"70,000 characters long; the limit is 32,768"),
    ("costly-to-compile-at-the-size-limit", BIG + "{{ [big" + ", big" * 6000 + "] }}", LIMIT),
    ("int-literal-python-refuses", "{{ " + "9" * 5000 + " }}", r"does not compile"),
    # Constant folding: Jinja's compiler evaluates these while loading unless stopped.
    ("fold-center", "{{ 'a'|center(1000000000) }}", LIMIT + r" .*centered text"),
    ("fold-center-in-if", "{% if 'a'|center(1000000000) %}x{% endif %}", LIMIT),
    ("fold-center-in-set", "{% set x = 'a'|center(1000000000) %}{{ x|length }}", LIMIT),
    ("fold-macro-default", "{% macro f(x='a'|center(1000000000)) %}{{ x|length }}{% endmacro %}{{ f() }}", LIMIT),
    ("fold-loop-iterable", "{% for c in 'a'|center(1000000000) %}{% endfor %}", LIMIT),
    ("fold-filter-block", "{% filter center(1000000000) %}x{% endfilter %}", LIMIT),
    ("fold-indent", "{{ 'a\nb'|indent(1000000000, true) }}", LIMIT + r" .*indented text"),
    ("fold-format-width", "{{ '%1000000000s'|format('a') }}", LIMIT + r" .*'%' formatting"),
    ("fold-format-precision", "{{ '%.1000000000f'|format(1.5) }}", LIMIT),
    ("fold-format-star", "{{ '%*s'|format(1000000000, 'a') }}", LIMIT),
    ("fold-replace-empty", "{{ 'abcdefgh'|replace('', 'a'|center(200000)) }}", LIMIT + r" .*replace"),
    ("fold-join", "{{ range(100000)|join('a'|center(100000)) }}", LIMIT + r" .*join"),
    ("fold-wordwrap", "{{ ('a ' * 200000)|wordwrap(1, wrapstring='b'|center(1000)) }}", LIMIT + r" .*wrapped"),
    ("fold-batch-fill", "{{ [1]|batch(1000000000, 0)|list|length }}", LIMIT + r" .*batch"),
    ("fold-slice", "{{ [1]|slice(1000000000)|list|length }}", LIMIT + r" .*slices"),
    ("fold-round-ceil", "{{ 1.5|round(1000000000, 'ceil') }}", LIMIT + r" .*-bit integers"),
    ("fold-tojson-indent", "{{ [[[1]]]|tojson(indent=100000000) }}", LIMIT + r" .*JSON indent"),
    ("fold-pprint", "{{ range(100000)|list|pprint }}", LIMIT + r" .*pprint"),
    ("lipsum", "{{ lipsum(1000000) }}", LIMIT + r" .*lipsum"),
    ("messages-tojson-indent", "{{ messages|tojson(indent=100000000) }}", LIMIT + r" .*JSON indent"),
    ("messages-tojson-float-indent", "{{ messages|tojson(indent=1e8) }}", LIMIT + r" .*JSON indent"),
    # Work: loops, recursion, ranges.
    ("nested-range-loops", "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
     LIMIT + r" .*steps"),
    ("nested-loop-filter", "{% for a in range(100000) %}{% for b in range(100000) if b < 0 %}{% endfor %}"
     "{% endfor %}", LIMIT + r" .*steps"),
    ("range-huge", "{% for i in range(10**9) %}{% endfor %}", LIMIT + r" .*range\(\)"),
    ("range-huge-list", "{{ range(10**9)|list|length }}", LIMIT + r" .*range\(\)"),
    ("loop-over-long-strings", "{% for c in 'a'|center(1000000) %}{% for d in 'b'|center(1000000) %}"
     "{% endfor %}{% endfor %}", LIMIT + r" .*steps"),
    ("macro-exponential", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
     "{{ f(40) }}", LIMIT),
    ("macro-endless-recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", r"recursed or nested"),
    ("recursive-loop-wide", "{% for x in range(100) recursive %}{% if loop.depth < 6 %}{{ loop(range(100)) }}"
     "{% endif %}{% endfor %}", LIMIT),
    ("slow-steps-compare", BIG + "{% set other = 'x' * 999999 ~ 'y' %}{% for i in range(1000) %}"
     "{% for j in range(99) %}{% if big == other %}{% endif %}{% endfor %}{% endfor %}", LIMIT),
    ("slow-steps-slicing", BIG + "{% for i in range(100000) %}{% set t = big[1:] %}{% endfor %}", LIMIT),
    # Integers.
    ("power-tower", "{{ ((9999**999)**999)**999 }}", LIMIT + r" .*4,096-bit integers"),
    ("power-big-exponent", "{{ 2 ** 100000 }}", LIMIT + r" .*-bit integers"),
    ("squaring-loop", "{% set ns = namespace(x=3) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}"
     "{% endfor %}{{ ns.x }}", LIMIT + r" .*-bit integers"),
    ("product-of-big-literals", "{{ " + " * ".join(["9" * 4000] * 7) + " }}", LIMIT + r" .*-bit integers"),
    ("int-filter", "{{ ('9' * 4000)|int }}", LIMIT + r" .*-bit integers"),
    ("printf-huge-int", "{{ '%d' % (10 ** 4000) }}", LIMIT + r" .*-bit integers"),
    # Text and containers.
    ("repeat-string", "{{ 'a' * 1000000000 }}", LIMIT),
    ("repeat-list", "{{ [0] * 1000000000 }}", LIMIT),
    ("repeat-shared-string", BIG + "{{ [big] * 1000 }}", LIMIT),
    ("doubling-plus", "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
     "{% endfor %}", LIMIT),
    ("doubling-tilde", "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", LIMIT),
    ("doubling-list", "{% set ns = namespace(l=[0]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}"
     "{% endfor %}", LIMIT),
    ("tilde-many-terms", BIG + "{{ " + " ~ ".join(["big"] * 2000) + " }}", LIMIT + r" .*~"),
    ("shared-parts-literals", "{% set a = ['x' * 100000] %}" + "{% set a = [a, a] %}" * 40 + "{{ a == a }}",
     LIMIT + r" .*shared parts"),
    ("shared-parts-namespace", "{% set ns = namespace(x=['y' * 1000]) %}{% for i in range(60) %}"
     "{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x|tojson }}", LIMIT),
    ("shared-parts-dict-global", BIG + "{{ dict(a=big, b=big) }}", LIMIT),
    ("shared-parts-fromkeys", BIG + "{{ {}.fromkeys(range(100000), big)|length }}", LIMIT),
    ("self-referencing-namespace", "{% set ns = namespace() %}{% set ns.me = ns %}{{ [ns] * 1000000 }}", LIMIT),
    ("deep-data", "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}"
     "{{ ns.x|tojson }}", LIMIT + r" .*levels of containers"),
    ("output-flood", BIG + "{% for i in range(100000) %}{{ big }}{% endfor %}", LIMIT + r" .*rendered text"),
    ("output-flood-macro", BIG + "{% macro m() %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endmacro %}"
     "{{ m()|length }}", LIMIT),
    ("output-flood-set-block", BIG + "{% set t %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endset %}"
     "{{ t|length }}", LIMIT),
    ("output-flood-repr", "{% set l = ['x' * 1000] * 999 %}{% macro m() %}{% for i in range(100000) %}{{ l }}"
     "{% endfor %}{% endmacro %}{{ m()|length }}", LIMIT),
    ("output-flood-template-text", "{% macro m() %}{% for i in range(100000) %}" + "x" * 1000
     + "{% endfor %}{% endmacro %}{{ m()|length }}", LIMIT),
    ("lazy-map-join", "{{ range(100000)|map('center', 10000)|join }}", LIMIT),
    ("lazy-map-list", "{{ range(100000)|map('center', 10000)|list|length }}", LIMIT),
    ("lazy-map-str-join", "{{ ''.join(range(100000)|map('center', 10000)) }}", LIMIT),
    ("sum-of-lists", "{{ ([[0] * 10] * 10000)|sum(start=[]) }}", LIMIT + r" .*sums of numbers"),
    ("tojson-indent-flood", "{{ range(100000)|list|tojson(indent=10000) }}", LIMIT + r" .*JSON"),
    ("str-center", "{{ 'a'.center(1000000000) }}", LIMIT + r" .*padded text"),
    ("str-zfill", "{{ '1'.zfill(1000000000) }}", LIMIT + r" .*padded text"),
    ("str-expandtabs", "{{ ('\t' * 1000).expandtabs(1000000) }}", LIMIT + r" .*tabs"),
    ("str-replace-empty", "{{ ('a' * 100000).replace('', 'b' * 100) }}", LIMIT + r" .*replace"),
    ("str-translate", "{{ ('a' * 1000000).translate(''.maketrans({'a': 'b' * 1000})) }}", LIMIT + r" .*translated"),
    ("bytes-center", "{{ 'a'.encode().center(1000000000) }}", LIMIT + r" .*padded text"),
    ("str-format-width", "{{ '{:>1000000000}'.format('a') }}", LIMIT + r" .*str\.format"),
    ("str-format-nested-width", "{{ '{0:>{1}}'.format('a', 1000000000) }}", LIMIT + r" .*str\.format"),
    ("str-format-repeat", BIG + "{{ ('{0}' * 1000).format(big) }}", LIMIT + r" .*str\.format"),
    ("printf-width", "{{ '%1000000000d' % 1 }}", LIMIT + r" .*'%' formatting"),
    ("printf-mapping-repeat", BIG + "{{ ('%(a)s' * 1000) % {'a': big} }}", LIMIT + r" .*'%' formatting"),
    ("list-of-a-million-items", "{{ ('ab' * 499000)|list|sort|length }}", LIMIT + r" .*100,000 items"),
    ("urlize-long", "{{ ('a ' * 499000)|urlize|length }}", LIMIT + r" .*urlized"),
    ("wordwrap-long", "{{ ('a' * 1000000)|wordwrap(1) }}", LIMIT + r" .*wrapped"),
    ("raise-huge-message", "{{ raise_exception('x' * 1000000) }}", r"refused the conversation: x+\.\.\. \("),
]
