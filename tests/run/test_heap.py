"""kelora.run.heap: the blocks that take start-up's holes in the C heap (see its module doc;
the effect itself is measured in docs/benchmarks.md, not in a test)."""
import sys

from kelora.run import heap


def test_the_plugs_cover_the_sizes_the_c_library_serves():
    plugs = heap.plug_holes()
    sizes = sorted({len(p) + sys.getsizeof(b"") for p in plugs})  # (whole block: header + bytes)
    # CPython's own allocator serves requests up to 512 bytes: the first plug must be past it
    assert sizes[0] > 512
    assert len(plugs) == len(heap.PLUG_SIZES) * heap.PLUGS_PER_SIZE
    # a few hundred bytes of output per event, grown by orjson: the range reaches 2 KB
    assert max(len(p) for p in plugs) >= 2000


def test_the_generated_json_loop_runs_with_the_plugs(tmp_path, monkeypatch):
    import kelora
    from kelora.run import ingest

    made = []

    def counting():
        made.append(1)
        return heap.plug_holes()

    monkeypatch.setattr(ingest, "plug_holes", counting)
    src = tmp_path / "in.jsonl"
    src.write_text('{"a":1}\n{"a":2}\n')
    assert kelora.main(["-j", str(src), "-F", "json", "-o", str(tmp_path / "out.json")]) == 0
    assert made == [1]
    assert (tmp_path / "out.json").read_text() == '{"a":1}\n{"a":2}\n'
