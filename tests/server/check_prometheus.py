"""Parses a Prometheus text exposition with the reference client library
(Debian python3-prometheus-client) and checks its structure.

usage: check_prometheus.py FILE FAMILY...   (families that must be present)

Exit 0 when the text parses, every required family is there, every sample
belongs to a declared family, and every histogram's buckets are cumulative
and end in +Inf equal to its _count. Errors go to stderr.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, required = sys.argv[1], sys.argv[2:]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    errors = []
    for name in required:
        # The client drops a counter's _total suffix from the family name.
        if name not in families and name.removesuffix("_total") not in families:
            errors.append(f"missing family {name}")
    for family in families.values():
        if family.type != "histogram":
            continue
        series = {}
        for s in family.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            entry = series.setdefault(key, {"buckets": [], "count": None})
            if s.name.endswith("_bucket"):
                entry["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                entry["count"] = s.value
        for key, entry in series.items():
            counts = [c for _, c in entry["buckets"]]
            if counts != sorted(counts):
                errors.append(f"{family.name}{key}: buckets not cumulative: {counts}")
            if not entry["buckets"] or entry["buckets"][-1][0] != float("inf"):
                errors.append(f"{family.name}{key}: no +Inf bucket")
            elif entry["buckets"][-1][1] != entry["count"]:
                errors.append(f"{family.name}{key}: +Inf {entry['buckets'][-1][1]} != count "
                              f"{entry['count']}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(families)} families parsed, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
