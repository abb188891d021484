"""Metrics output formats, pinned to reference §5.3."""
import orjson

from kelora.builtins import tracking as T
from kelora.metrics.store import MetricStore
from kelora.metrics.render import format_metric_float, render, render_json, render_text, render_tsv, rich_table

from .conftest import new_ctx


def sample():
    ctx = new_ctx()
    for s in (200, 404, 200, 500, 200):
        T.track_freq(ctx, "status", s)
    for _ in range(3):
        T.track_inc(ctx, "total")
    T.track_avg(ctx, "avg", 146.6142714694471)
    for u in ("alice", "bob", "carol"):
        T.track_unique(ctx, "users", u)
    return ctx.metrics


FULL = """\
avg          = 146.614
status       (3 values):
  value  count
  200        3
  404        1
  500        1
total        = 3
users        (3 unique):
  alice
  bob
  carol"""


def test_full():
    assert render_text(sample(), "full") == FULL
    assert render(sample(), "full") == FULL


def test_short_small_unique_is_an_array():
    out = render_text(sample(), "short")
    assert 'users        = ["alice", "bob", "carol"]' in out.splitlines()
    assert "status       (3 values):" in out


def test_tsv():
    assert render_tsv(sample()) == (
        "avg\t\t146.6142714694471\n"
        "status\t200\t3\nstatus\t404\t1\nstatus\t500\t1\n"
        "total\t\t3\n"
        "users\t\talice\nusers\t\tbob\nusers\t\tcarol"
    )


def test_json_pretty_sorted():
    out = render_json(sample())
    assert out == """{
  "avg": 146.6142714694471,
  "status": {
    "200": 3,
    "404": 1,
    "500": 1
  },
  "total": 3,
  "users": [
    "alice",
    "bob",
    "carol"
  ]
}"""
    assert not out.endswith("\n")


def test_json_writes_exponents_as_serde_json_does():
    """1e20, not orjson's 1e+20 (the event output already wrote serde_json's form); a text
    holding "1e+20" keeps it."""
    ctx = new_ctx()
    T.track_max(ctx, "big", 1.0e20)
    T.track_min(ctx, "small", -2.5e-30)
    T.track_freq(ctx, "text", "1e+20")
    out = render_json(ctx.metrics)
    assert '"big": 1e20,' in out and '"small": -2.5e-30,' in out and '"1e+20": 1' in out
    assert orjson.loads(out)["big"] == 1.0e20


def test_empty_store():
    s = MetricStore()
    assert render(s, "full") == "No metrics tracked"
    assert render(s, "short") == "No metrics tracked"
    assert render(s, "tsv") == ""
    assert render(s, "json") == "{}"


def test_scalars_and_sketches():
    ctx = new_ctx()
    T.track_sum(ctx, "bytes", 200.0)
    T.track_sum(ctx, "ratio", 0.5)
    T.track_percentiles(ctx, "lat", 12.5, [0.95])
    for i in range(1234):
        T.track_cardinality(ctx, "ips", f"10.0.{i // 256}.{i % 256}")
    text = render_text(ctx.metrics, "full").splitlines()
    est = ctx.metrics.finalize()["ips"]
    assert text == ["bytes        = 200", f"ips          ≈ {est}", "lat_p95      = 12.5", "ratio        = 0.5"]
    assert render_tsv(ctx.metrics).splitlines() == [
        "bytes\t\t200", f"ips\t\t{est}", "lat_p95\t\t12.5", "ratio\t\t0.5"
    ]
    assert orjson.loads(render_json(ctx.metrics)) == {"bytes": 200.0, "ips": est, "lat_p95": 12.5, "ratio": 0.5}
    assert '"bytes": 200.0' in render_json(ctx.metrics)


def test_short_truncates_long_tables_full_does_not():
    ctx = new_ctx()
    for i in range(12):
        for _ in range(i + 1):
            T.track_freq(ctx, "f", f"k{i:02d}")
        T.track_unique(ctx, "u", f"user{i}")
    short = render_text(ctx.metrics, "short").splitlines()
    assert short == [
        "f            (12 values):",
        "  value  count",
        "  k11       12",
        "  k10       11",
        "  k09       10",
        "  k08        9",
        "  k07        8",
        "  [+7 more. Use --metrics=full or --metrics-file for full list]",
        "u            (12 unique):",
        "  user0", "  user1", "  user2", "  user3", "  user4",
        "  [+7 more. Use --metrics=full or --metrics-file for full list]",
    ]
    full = render_text(ctx.metrics, "full").splitlines()
    assert len(full) == 1 + 1 + 12 + 1 + 12 and "more" not in "".join(full)


def test_ranked_tables():
    ctx = new_ctx()
    for x in ("/a", "/b", "/a", "/very/long/endpoint"):
        T.track_top(ctx, "hits", x)
    T.track_top_by(ctx, "slow", "/a", 950.123456)
    T.track_top_by(ctx, "slow", "/b", 12)
    assert render_text(ctx.metrics, "full") == """\
hits         (3 items):
  item                 count
  /a                       2
  /b                       1
  /very/long/endpoint      1
slow         (2 items):
  item    score
  /a    950.123
  /b         12"""
    assert render_tsv(ctx.metrics) == (
        "hits\t/a\t2\nhits\t/b\t1\nhits\t/very/long/endpoint\t1\nslow\t/a\t950.123456\nslow\t/b\t12"
    )
    assert orjson.loads(render_json(ctx.metrics))["hits"][0] == {"count": 2, "key": "/a"}
    assert '"count": 2,\n      "key": "/a"' in render_json(ctx.metrics)


def test_tsv_fields_have_no_tabs_or_newlines():
    ctx = new_ctx()
    T.track_freq(ctx, "f", "a\tb\nc")
    T.track_unique(ctx, "u", "x\ty")
    assert render_tsv(ctx.metrics) == "f\ta b c\t1\nu\t\tx y"


def test_format_metric_float():
    assert format_metric_float(146.6142714694471) == "146.614"
    assert format_metric_float(914.089985589136) == "914.09"
    assert format_metric_float(1000.0) == "1000"
    assert format_metric_float(0.0004123) == "0.0004123"
    assert format_metric_float(0.0) == "0"
    assert format_metric_float(float("inf")) == "inf"
    assert format_metric_float(-2.5) == "-2.5"


def test_rich_table_renders():
    from rich.console import Console

    console = Console(record=True, width=100, color_system=None)
    console.print(rich_table(sample(), "full"))
    text = console.export_text()
    assert "status" in text and "alice" in text and "146.614" in text
