# Two entry points for a fresh machine (Python 3.11+): `make demo` and `make test`.
# Both create .venv and install kelora into it; nothing else needs installing by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_SECRET ?= kelora-demo-secret-do-not-use-in-production
# step 2 of `make demo`, also the export its final --scan-pii gate checks: no identifier anywhere,
# free text (message) and IP addresses included (issue 11 item 8)
DEMO_EXPORT = -j examples/security_audit.jsonl \
  -e 'e.user_id = pseudonym(e.user_email, "users")' \
  -e 'e.session_id = pseudonym(e.session_token, "sessions")' \
  -e 'e.user_email = (); e.session_token = ()' \
  -e 'e.message = normalized(e.message)' -e 'e.ip = pseudonym(e.ip, "ips")' \
  -F json

.PHONY: install demo test test-fast fuzz bench bench-count docs docs-check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo '== Step 2: pseudonymize user e-mails, session tokens and IPs, scrub free text (KELORA_SECRET=$(DEMO_SECRET))'
	@KELORA_SECRET='$(DEMO_SECRET)' $(BIN)/kelora $(DEMO_EXPORT) --take 5
	@echo
	@echo '== Step 4: unique users, counted by hash and by pseudonym'
	@KELORA_SECRET='$(DEMO_SECRET)' $(BIN)/kelora -j examples/app.log \
	  -e 'e.user_hash = e.user_id.hash("xxh3")' \
	  -e 'e.user_anon = pseudonym(e.user_id, "users")' \
	  -e 'track_unique("hashes", e.user_hash)' \
	  -e 'track_unique("pseudonyms", e.user_anon)' \
	  --metrics
	@echo
	@echo '== Final check: the PII leak gate (--scan-pii) over the whole step-2 export, which must be clean'
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  KELORA_SECRET='$(DEMO_SECRET)' $(BIN)/kelora $(DEMO_EXPORT) \
	    -o "$$out/export.json" --no-diagnostics && \
	  $(BIN)/kelora -j "$$out/export.json" --scan-pii

test: $(STAMP)
	$(BIN)/python -m pytest

# Quick loop while developing: the in-process suites only (no subprocess-heavy CLI, reliability
# and wheel tests; `make test` runs everything).
test-fast: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/cli --ignore=tests/reliability --ignore=tests/test_wheel.py

# Performance: kelora vs the Python+orjson ceiling, jq, Miller -> docs/benchmarks.md
# (1M events, minutes; BENCH_SIZE=100k for a quick run).
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

# Instructions and L1 misses per event (valgrind's cachegrind), today against kelora before the
# second wave: the same figures on a busy machine as on an idle one (bench/count_bench.py)
bench-count: $(STAMP)
	$(BIN)/python bench/count_bench.py

# Long fuzz run of the input parsers, whole runs, the script parser and every string builtin
# (tests/reliability/test_fuzz.py); prints hypothesis statistics (examples run per test), each
# test's duration and, on failure, the falsifying example.  FUZZ_EXAMPLES per test (20000: 7.5 min
# at a load of 4 on the 2 shared cores, under 30 min at a load of 10).  A builtin call still running after 120 s fails with its example
# (a hang cannot stall the run), and so does a result over 1 GiB written out; the run caps its
# address space at 4 GiB (a memory bomb is a MemoryError, not the OOM killer); shrinking stops
# after hypothesis's 5 min; calls over 5 s are listed in FUZZ_SLOW_LOG.
FUZZ_EXAMPLES ?= 20000
FUZZ_SLOW_LOG ?= /tmp/kelora-fuzz-slow.log
fuzz: $(STAMP)
	KELORA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KELORA_FUZZ_SLOW_LOG=$(FUZZ_SLOW_LOG) $(BIN)/python -m pytest \
	  tests/reliability/test_fuzz.py -p no:cacheprovider --hypothesis-show-statistics --durations=0 \
	  -o addopts="" -q

docs: $(STAMP)
	$(BIN)/python -m kelora.cli.docs > docs/functions.md

docs-check: $(STAMP)
	$(BIN)/python -m pytest tests/test_builtin_docs.py

clean:
	rm -rf $(VENV) build dist *.egg-info
