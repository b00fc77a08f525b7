"""A globally one-to-one assignment (Hungarian method, exact, O(n²m)): each source row takes at most one column,
each column at most one row, maximising the total score; a row may take "no match" (score 0)."""

from __future__ import annotations

INF = float("inf")


def assign(scores: list[list[float]]) -> list[int | None]:
    """For each row, its column or ``None``. Scores <= 0 are never assigned (a row prefers no match)."""
    n = len(scores)
    if n == 0:
        return []
    m = len(scores[0])
    width = m + n  # one private "no match" column per row, score 0
    # minimise cost = -score; forbidden (<= 0) cells cost 0 like "no match", then dropped below
    cost = [[-(s if s > 0 else 0.0) for s in row] + [0.0] * n for row in scores]
    u = [0.0] * (n + 1)
    v = [0.0] * (width + 1)
    p = [0] * (width + 1)
    way = [0] * (width + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [INF] * (width + 1)
        used = [False] * (width + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = INF
            j1 = 0
            for j in range(1, width + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(width + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    out: list[int | None] = [None] * n
    for j in range(1, m + 1):
        if p[j] and scores[p[j] - 1][j - 1] > 0:
            out[p[j] - 1] = j - 1
    return out
