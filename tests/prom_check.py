#!/usr/bin/python3
"""Reads Prometheus text exposition on stdin with prometheus_client's parser
(the reference implementation's) and prints each sample as
NAME{label="value",...} VALUE, labels sorted. Exits 1 when the text does not
parse, a family is declared twice, a counter's name does not end in _total
or a gauge's does."""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
try:
    families = list(text_string_to_metric_families(text))
except Exception as e:  # the parser raises ValueError and others
    print(f"does not parse: {e}\n{text}", file=sys.stderr)
    sys.exit(1)
bad = []
types = {}
# The parser renames counters itself, so the declared names are checked on
# the text: a counter is called NAME_total, a gauge is not.
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        if name in types:
            bad.append(f"{name} declared twice")
        types[name] = kind
        if kind == "counter" and not name.endswith("_total"):
            bad.append(f"counter {name} does not end in _total")
        if kind == "gauge" and name.endswith("_total"):
            bad.append(f"gauge {name} ends in _total")
for f in families:
    for s in f.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        value = int(s.value) if float(s.value).is_integer() else s.value
        print(f"{s.name}{{{labels}}} {value}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
