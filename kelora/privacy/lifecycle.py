"""Wiring of the privacy lifecycle into a run: ``--rotation-map``, ``--escrow``/``reveal()`` and
``--scan-pii`` (COMPAT D21).

``Lifecycle.start(pipeline)`` runs after the scripts compiled and before any input is read, so
every refusal (a missing or equal previous secret, a short or wrong escrow key, ``reveal()``
without ``--escrow``) is an exit before anything is written.  Per call, the features wrap the
keyring's per-domain pseudonymizer (``ctx.pseudonym_wrappers``); per event, the PII scanner sits
where the output sink would write.  Under ``--parallel`` each worker hands its share back with
every batch (``take``) and the parent merges it (``merge``), like metrics.
"""
from __future__ import annotations

from kelora.builtins import registry
from kelora.errors import FatalError
from kelora.escape import escape_line
from kelora.status import ExitStatus


class Lifecycle:
    def __init__(self):
        self.rotation = None
        self.escrow = None
        self.scanner = None

    # ------------------------------------------------------------------ start
    @classmethod
    def start(cls, pipeline) -> "Lifecycle | None":
        c = pipeline.config
        calls = pipeline.called_functions
        readers = registry.with_effect(calls, "escrow")
        if readers and not c.escrow:
            raise FatalError(f"Pipeline error: {readers[0]}() is available only with --escrow FILE and "
                             "KELORA_ESCROW_KEY (or KELORA_ESCROW_KEY_FILE)", exit_code=1)
        if not (c.rotation_map or c.escrow or c.scan_pii):
            return None
        from kelora.privacy import keys

        self = cls()
        ctx = pipeline.ctx
        uses_pseudonym = registry.needs_key(calls)
        current = previous = None
        if c.rotation_map or c.escrow:
            current = keys.current_secret(ctx)
        if c.rotation_map:
            from kelora.keyring import Keyring, master_for
            from kelora.privacy.rotation import RotationMap

            previous, source = keys.previous_secret(ctx, current)
            self.rotation = RotationMap(Keyring(master_for(previous), source), c.rotation_map)
        elif c.escrow:
            previous = keys.previous_secret_if_set(ctx)  # (compared with the escrow key below)
        if c.escrow:
            from kelora.privacy.escrow import Escrow

            if current is None and uses_pseudonym:
                raise FatalError("--escrow needs a stable pseudonym secret (KELORA_SECRET or "
                                 "KELORA_SECRET_FILE); tokens of an ephemeral key cannot be "
                                 "revealed later", exit_code=2)
            key = keys.escrow_key(ctx, current, previous)
            self.escrow = Escrow(c.escrow, key, create=uses_pseudonym)
            del key
            ctx.escrow = self.escrow
        del current, previous
        if c.scan_pii:
            from kelora.privacy.pii_scan import Scanner

            self.scanner = Scanner(pipeline, c.pii_allow)
        wrappers = [f.wrap for f in (self.rotation, self.escrow, self.scanner) if f is not None]
        ctx.pseudonym_wrappers = tuple(wrappers)
        if ctx.keyring is not None:  # (created earlier in this process: wrap it now)
            ctx.keyring.wrappers = ctx.pseudonym_wrappers
            ctx.keyring.forget_domains()
        return self

    # ------------------------------------------------------------------ --parallel
    def take(self):
        """A worker's share since the last batch."""
        return (
            self.rotation.take() if self.rotation is not None else None,
            self.escrow.take() if self.escrow is not None else None,
            self.scanner.take() if self.scanner is not None else None,
        )

    def merge(self, part) -> None:
        if part is None:
            return
        rotation, escrow, scan = part
        if rotation is not None:
            self.rotation.merge(rotation)
        if escrow is not None:
            self.escrow.merge(escrow)
        if scan is not None:
            self.scanner.merge(scan)

    # ------------------------------------------------------------------ end of the run
    def finish(self, pipeline, commit: bool) -> None:
        """Store the escrow, write the rotation map (only for a completed run) and report."""
        reporter = pipeline.reporter
        quiet = pipeline.config.silent
        try:
            if self.escrow is not None:
                self.escrow.close(commit)
                pipeline.stats.reveals = self.escrow.reveals
                if not quiet:
                    reporter.write(
                        f"kelora: escrow {escape_line(self.escrow.path)}: {self.escrow.added} new "
                        f"row{'s' if self.escrow.added != 1 else ''}, "
                        f"{self.escrow.reveals} reveal{'s' if self.escrow.reveals != 1 else ''}")
            if self.rotation is not None and commit:
                self._finish_rotation(pipeline)
        finally:
            if self.rotation is not None:
                self.rotation.close()

    def _finish_rotation(self, pipeline) -> None:
        rot, reporter = self.rotation, pipeline.reporter
        counts, collisions = rot.check()
        if collisions:
            for text in collisions[:20]:
                reporter.write(f"kelora: rotation collision {text}")
            if len(collisions) > 20:
                reporter.write(f"kelora: ... and {len(collisions) - 20} more rotation collisions")
            reporter.write(f"kelora: rotation map '{escape_line(rot.path)}' not written: a map with collisions "
                           "cannot re-key history")
            pipeline.exit_override = ExitStatus.ERROR
            return
        try:
            rot.write()
        except OSError as exc:
            reporter.fatal(f"Failed to write rotation map '{escape_line(rot.path)}': {exc.strerror or exc}")
            pipeline.exit_override = ExitStatus.ERROR
            return
        if not pipeline.config.silent:
            total = rot.mappings
            # (domains come from the data: a newline in one must not break the summary line)
            per = ", ".join(f"{escape_line(d)}: {n}" for d, n in sorted(counts.items())) or "no pseudonym() calls"
            if rot.domains > len(counts):
                more = rot.domains - len(counts)
                per += f", and {more} more domain{'s' if more != 1 else ''}"
            reporter.write(f"kelora: rotation map {escape_line(rot.path)}: {total} mapping{'s' if total != 1 else ''} "
                           f"({per})")

    def blocks_export(self, pipeline) -> bool:
        """``--scan-pii -o FILE`` is a gate: with findings, FILE is not written (or replaced)."""
        c = pipeline.config
        if self.scanner is None or not c.output_file or not self.scanner.findings:
            return False
        pipeline.reporter.write(f"kelora: --scan-pii found personal data: '{escape_line(c.output_file)}' not written")
        return True

    def report_scan(self, pipeline) -> None:
        if self.scanner is not None:
            found = self.scanner.report(pipeline)
            if found and pipeline.exit_override is None:
                pipeline.exit_override = ExitStatus.ERROR
