"""Fixed buckets for durations (request to result, application to decision), and quantiles read from them.

The edges are a geometric series: 1 minute × 1.5^k for k = 0…26 (rounded to the second), then 30 days: 29
buckets. Bucket 0 holds less than 1 minute (a result stamped before its request by a carrier clock behind ours
included), bucket i holds [EDGES[i-1], EDGES[i]), the last one 30 days and more. Within a bucket a quantile is
interpolated geometrically (linearly in the first), so an approximate median or p90 lies in the same bucket as the
exact one: off by less than a factor 1.5, usually by far less.
"""

import math
from datetime import timedelta

MINUTE, DAY = 60, 86400
EDGES = [round(MINUTE * 1.5**k) for k in range(27)] + [30 * DAY]  # seconds
BUCKETS = len(EDGES) + 1


def bucket_bounds():
    """(index, lower seconds, upper seconds or None) of every bucket."""
    lows = [0, *EDGES]
    return [(i, lows[i], EDGES[i] if i < len(EDGES) else None) for i in range(BUCKETS)]


def bucket_of(seconds):
    for i, edge in enumerate(EDGES):
        if seconds < edge:
            return i
    return len(EDGES)


def quantile(counts, q):
    """The duration below which a share `q` of the counted values lie, as a timedelta; None when nothing counted."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, low, high in bucket_bounds():
        n = counts[index]
        if n and seen + n >= rank:
            share = (rank - seen) / n
            if high is None:  # 30 days and more: nothing to interpolate towards
                return timedelta(seconds=low)
            if low == 0:
                return timedelta(seconds=high * share)
            return timedelta(seconds=math.exp(math.log(low) + share * (math.log(high) - math.log(low))))
        seen += n
    return timedelta(seconds=EDGES[-1])
